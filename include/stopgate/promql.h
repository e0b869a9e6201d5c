/* include/stopgate/promql.h - PromQL: parse, check, print, plan, evaluate.
 *
 * The pipeline (Prometheus 2.42 semantics unless a compat profile says
 * otherwise):
 *
 *   text --sg_promql_parse--> AST (typed and checked, in an arena)
 *        --sg_promql_plan-->  selections: every selector with the exact
 *                             [mint, maxt] window it reads (lookback, range,
 *                             offset, @ and subqueries applied) and the
 *                             remote-read hints
 *   caller fetches one series set per selection (remote read: one
 *   ReadRequest for all of them; tests: sg_store_select)
 *        --sg_promql_eval_*--> a value (scalar, string, vector, matrix)
 *
 * The engine does no I/O. Everything it allocates lives in the arena the
 * caller passes; a whole evaluation is freed with sg_arena_reset.
 */
#ifndef SG_PROMQL_H
#define SG_PROMQL_H

#include <stdint.h>

#include "stopgate/base.h"
#include "stopgate/err.h"
#include "stopgate/labels.h"
#include "stopgate/store.h"

/* ---- compatibility profiles ----------------------------------------------------
 * Every version-dependent behaviour is a flag here; a version is a named row
 * of flags ("2.42" is the default and the parity target). A flag exists
 * only once the evaluator implements it; 3.0's changes without one are
 * listed in docs/promql.md. */
struct sg_promql_compat {
    const char *name;             /* "2.42" */
    bool range_left_open;         /* 3.0: range selectors are (T-r, T] instead of [T-r, T] */
    bool lookback_left_open;      /* 3.0: a sample exactly at T-lookback is not visible */
    bool subquery_left_open;      /* 3.0: first subquery step is > T-r instead of >= */
    bool rate_threshold_first;    /* 2.51: extrapolation checks the threshold before the zero clamp */
    bool regex_dot_all;           /* 3.0: regex `.` matches newline, ^(?s:re)$ */
    bool kahan_sum_aggr;          /* 2.50?: Kahan compensation in sum/avg aggregation */
    bool json_float_exponent;     /* 3.x: HTTP JSON uses 'e' outside [1e-6, 1e21) */
};

/* The profile for "2.42", "2.51", "3.0", ...; NULL when unknown. */
const struct sg_promql_compat *sg_promql_compat_find(const char *version);
/* The default profile (2.42). */
const struct sg_promql_compat *sg_promql_compat_default(void);
/* "2.42, 2.51, 3.0" for help and error messages. */
const char *sg_promql_compat_list(void);

/* ---- AST ---------------------------------------------------------------------- */

enum sg_vtype {
    SG_VT_NONE = 0,
    SG_VT_SCALAR,
    SG_VT_VECTOR, /* instant vector */
    SG_VT_MATRIX, /* range vector */
    SG_VT_STRING,
};

enum sg_node_kind {
    SG_N_NUMBER = 1,  /* u.number */
    SG_N_STRING,      /* u.string */
    SG_N_SELECTOR,    /* u.sel: instant vector selector; also the inner part of a range */
    SG_N_RANGE,       /* u.sel with range_ms > 0: matrix selector */
    SG_N_SUBQUERY,    /* u.subq */
    SG_N_CALL,        /* u.call */
    SG_N_AGGR,        /* u.aggr */
    SG_N_BINARY,      /* u.bin */
    SG_N_UNARY,       /* u.unary (only '-' and '+' on non-literals) */
    SG_N_PAREN,       /* u.paren */
};

enum sg_binop {
    SG_OP_ADD = 1, SG_OP_SUB, SG_OP_MUL, SG_OP_DIV, SG_OP_MOD, SG_OP_POW, SG_OP_ATAN2,
    SG_OP_EQL, SG_OP_NEQ, SG_OP_GTR, SG_OP_LSS, SG_OP_GTE, SG_OP_LTE,
    SG_OP_AND, SG_OP_OR, SG_OP_UNLESS,
};

enum sg_aggop {
    SG_AGG_SUM = 1, SG_AGG_AVG, SG_AGG_COUNT, SG_AGG_MIN, SG_AGG_MAX, SG_AGG_GROUP,
    SG_AGG_STDDEV, SG_AGG_STDVAR, SG_AGG_TOPK, SG_AGG_BOTTOMK, SG_AGG_COUNT_VALUES,
    SG_AGG_QUANTILE,
};

/* `@` modifier */
enum sg_at_kind { SG_AT_NONE = 0, SG_AT_TIME, SG_AT_START, SG_AT_END };

/* Vector matching of a binary operation between two vectors. */
enum sg_card { SG_CARD_ONE_TO_ONE = 0, SG_CARD_MANY_TO_ONE, SG_CARD_ONE_TO_MANY,
               SG_CARD_MANY_TO_MANY };

struct sg_vector_matching {
    enum sg_card card;
    bool on;                       /* on(...) given (else ignoring, possibly empty) */
    struct sg_str *labels;         /* on/ignoring labels */
    size_t nlabels;
    struct sg_str *include;        /* group_left/group_right extra labels */
    size_t ninclude;
};

struct sg_func; /* function table entry, see sg_promql_func_find */

struct sg_node {
    enum sg_node_kind kind;
    enum sg_vtype type;  /* result type, set by the checker */
    uint32_t off, len;   /* byte span in the source text */
    union {
        double number;
        struct sg_str string; /* unquoted */
        struct {
            struct sg_str name;          /* metric name or empty */
            struct sg_matcher *matchers; /* all matchers, including __name__= from the name */
            size_t nmatchers;
            int64_t range_ms;            /* SG_N_RANGE only */
            int64_t offset_ms;           /* may be negative */
            enum sg_at_kind at;
            int64_t at_ms;               /* SG_AT_TIME */
            uint32_t sel_index;          /* index into the plan's selections */
        } sel;
        struct {
            struct sg_node *expr;
            int64_t range_ms;
            int64_t step_ms;             /* 0: default (the engine's subquery step) */
            int64_t offset_ms;
            enum sg_at_kind at;
            int64_t at_ms;
        } subq;
        struct {
            const struct sg_func *func;
            struct sg_node **args;
            size_t nargs;
        } call;
        struct {
            enum sg_aggop op;
            struct sg_node *expr;
            struct sg_node *param;       /* topk/bottomk/quantile/count_values; else NULL */
            struct sg_str *grouping;
            size_t ngrouping;
            bool without;
            bool has_grouping;           /* by/without written (even if empty) */
        } aggr;
        struct {
            enum sg_binop op;
            struct sg_node *lhs, *rhs;
            bool return_bool;
            struct sg_vector_matching *matching; /* NULL unless both sides are vectors */
        } bin;
        struct {
            char op; /* '-' or '+' */
            struct sg_node *expr;
        } unary;
        struct {
            struct sg_node *expr;
        } paren;
    } u;
};

/* The functions of Prometheus 2.42 (sg_func.id). */
enum sg_func_id {
    SG_FN_ABS = 1,
    SG_FN_ABSENT,
    SG_FN_ABSENT_OVER_TIME,
    SG_FN_ACOS,
    SG_FN_ACOSH,
    SG_FN_ASIN,
    SG_FN_ASINH,
    SG_FN_ATAN,
    SG_FN_ATANH,
    SG_FN_AVG_OVER_TIME,
    SG_FN_CEIL,
    SG_FN_CHANGES,
    SG_FN_CLAMP,
    SG_FN_CLAMP_MAX,
    SG_FN_CLAMP_MIN,
    SG_FN_COS,
    SG_FN_COSH,
    SG_FN_COUNT_OVER_TIME,
    SG_FN_DAY_OF_MONTH,
    SG_FN_DAY_OF_WEEK,
    SG_FN_DAY_OF_YEAR,
    SG_FN_DAYS_IN_MONTH,
    SG_FN_DEG,
    SG_FN_DELTA,
    SG_FN_DERIV,
    SG_FN_EXP,
    SG_FN_FLOOR,
    SG_FN_HISTOGRAM_COUNT,
    SG_FN_HISTOGRAM_FRACTION,
    SG_FN_HISTOGRAM_QUANTILE,
    SG_FN_HISTOGRAM_SUM,
    SG_FN_HOLT_WINTERS,
    SG_FN_HOUR,
    SG_FN_IDELTA,
    SG_FN_INCREASE,
    SG_FN_IRATE,
    SG_FN_LABEL_JOIN,
    SG_FN_LABEL_REPLACE,
    SG_FN_LAST_OVER_TIME,
    SG_FN_LN,
    SG_FN_LOG10,
    SG_FN_LOG2,
    SG_FN_MAX_OVER_TIME,
    SG_FN_MIN_OVER_TIME,
    SG_FN_MINUTE,
    SG_FN_MONTH,
    SG_FN_PI,
    SG_FN_PREDICT_LINEAR,
    SG_FN_PRESENT_OVER_TIME,
    SG_FN_QUANTILE_OVER_TIME,
    SG_FN_RAD,
    SG_FN_RATE,
    SG_FN_RESETS,
    SG_FN_ROUND,
    SG_FN_SCALAR,
    SG_FN_SGN,
    SG_FN_SIN,
    SG_FN_SINH,
    SG_FN_SORT,
    SG_FN_SORT_DESC,
    SG_FN_SQRT,
    SG_FN_STDDEV_OVER_TIME,
    SG_FN_STDVAR_OVER_TIME,
    SG_FN_SUM_OVER_TIME,
    SG_FN_TAN,
    SG_FN_TANH,
    SG_FN_TIME,
    SG_FN_TIMESTAMP,
    SG_FN_VECTOR,
    SG_FN_YEAR,
    SG_FN__COUNT
};

/* One row of the function table, as Prometheus's parser.Function:
 * arg_types[0..nargs) are the declared argument types. With variadic == 0
 * exactly nargs arguments are taken; otherwise the last declared argument
 * is optional and repeatable: at least nargs-1 arguments, at most
 * nargs-1+variadic (variadic > 0) or unbounded (variadic < 0), the extra
 * ones having the type of the last declared one. */
struct sg_func {
    const char *name;
    enum sg_vtype arg_types[6];
    int nargs;       /* declared argument types */
    int variadic;    /* 0: exact; >0: that many optional args; -1: unbounded */
    enum sg_vtype ret;
    int id;          /* enum sg_func_id */
};
/* NULL when the name is not a function of the profile. */
const struct sg_func *sg_promql_func_find(struct sg_str name);

/* ---- parse -------------------------------------------------------------------- */

struct sg_promql_limits {
    uint32_t max_depth;      /* tree height; default 1000 */
    uint32_t max_len;        /* bytes of input; default 1 MiB */
};

struct sg_promql_parse_opts {
    const struct sg_promql_compat *compat; /* NULL: default */
    const struct sg_promql_limits *limits; /* NULL: defaults */
};

/* Parse and check an expression.
 * src:      the text, need not be NUL-terminated; read during the call only.
 * src_name: shown in errors ("<expr>", "rules/db.yaml"); may be NULL.
 * arena:    every node, string, matcher and compiled regex of the result.
 * out:      the root on success.
 * err:      SG_EPARSE (syntax, including the checks Prometheus's grammar
 *           makes while parsing), SG_ETYPE (the type and matching checks it
 *           makes after parsing) or SG_ELIMIT, as
 *           "NAME:LINE:COL: parse error: MESSAGE" with err->line/col/off set
 *           to where Prometheus 2.42 reports it (1-based, columns in bytes)
 *           and its wording ("unexpected end of input", "vector selector
 *           must contain at least one non-empty matcher"). Only the first
 *           error is reported, as Prometheus does.
 * Never aborts on any input. */
SG_NODISCARD int sg_promql_parse(struct sg_str src, const char *src_name, struct sg_arena *arena,
                                 const struct sg_promql_parse_opts *opts, struct sg_node **out,
                                 struct sg_err *err);

/* Parse a series description `name{a="b"}` or `{__name__="x", a="b"}`
 * (Prometheus's ParseMetric, used by promtool test files). The labels are
 * sorted and allocated in the arena. */
SG_NODISCARD int sg_promql_parse_metric(struct sg_str src, const char *src_name,
                                        struct sg_arena *arena, struct sg_labels *out,
                                        struct sg_err *err);

/* Parse a selector `name{a="b", c=~"d"}` into matchers (for `stopgate read`).
 * Same checks as in an expression. */
SG_NODISCARD int sg_promql_parse_selector(struct sg_str src, const char *src_name,
                                          struct sg_arena *arena,
                                          const struct sg_promql_parse_opts *opts,
                                          struct sg_matcher **out, size_t *n, struct sg_err *err);

/* Print in Prometheus's canonical form (node.String() of 2.42):
 * `sum by (job) (rate(x[5m]))`. Printing then parsing gives the same AST. */
SG_NODISCARD int sg_promql_print(const struct sg_node *n, struct sg_buf *out);

/* Call fn on every selector node (SG_N_SELECTOR and SG_N_RANGE) in
 * evaluation order; stops when fn returns non-zero and returns that. */
int sg_promql_walk_selectors(const struct sg_node *n, int (*fn)(const struct sg_node *sel,
                                                                 void *arg),
                             void *arg);

/* ---- engine options --------------------------------------------------------------- */

struct sg_promql_opts {
    const struct sg_promql_compat *compat; /* NULL: default */
    int64_t lookback_ms;       /* 0: 5m */
    int64_t subquery_step_ms;  /* default step of `[r:]`; 0: 1m */
    size_t max_samples;        /* samples held at once; 0: 50,000,000 (Prometheus's default) */
};

/* ---- plan ------------------------------------------------------------------------- */

/* One selector as the storage must serve it. */
struct sg_promql_selection {
    const struct sg_node *node;  /* the SG_N_SELECTOR or SG_N_RANGE node */
    const struct sg_matcher *matchers;
    size_t nmatchers;
    int64_t mint_ms, maxt_ms;    /* inclusive window covering every evaluation step */
    /* remote-read hints (advisory), as Prometheus fills SelectHints */
    int64_t hint_start_ms, hint_end_ms, hint_step_ms, hint_range_ms;
    const char *hint_func;       /* enclosing function or aggregation name, or NULL */
    const struct sg_str *hint_grouping;
    size_t hint_ngrouping;
    bool hint_by;
};

/* Compute the selections of an expression for an instant evaluation at
 * start_ms (start == end, step 0) or a range evaluation. The array is
 * allocated in `arena`; selection i belongs to the node with sel_index i.
 * Selections are in evaluation order; identical selectors are not merged. */
SG_NODISCARD int sg_promql_plan(const struct sg_node *expr, int64_t start_ms, int64_t end_ms,
                                int64_t step_ms, const struct sg_promql_opts *opts,
                                struct sg_arena *arena, struct sg_promql_selection **out,
                                size_t *n, struct sg_err *err);

/* ---- values ----------------------------------------------------------------------- */

struct sg_vsample {      /* one element of an instant vector */
    struct sg_labels labels;
    int64_t t;
    double v;
};

struct sg_value {
    enum sg_vtype type;
    int64_t t;                  /* scalar/string: evaluation time */
    double scalar;              /* SG_VT_SCALAR */
    struct sg_str string;       /* SG_VT_STRING */
    struct sg_vsample *vec;     /* SG_VT_VECTOR */
    struct sg_series *matrix;   /* SG_VT_MATRIX (range queries; instant query of a range selector) */
    size_t count;               /* elements of vec or matrix */
};

/* ---- evaluate ----------------------------------------------------------------------- */

/* Evaluate at time t_ms. `sets[i]` holds the series of selection i of the
 * plan made for the same expression (nsets must equal its count); a set
 * need not hold more than the selection's window, and the sets are read
 * during the call only.
 * Result: a vector (timestamps t_ms), scalar, string or, for a range
 * selector or subquery at the top, a matrix. Points and the arrays live in
 * `arena`; label sets may point into the input sets' strings, so keep those
 * alive while the result is used (copy with sg_labels_copy otherwise).
 * Errors: SG_EEVAL with Prometheus's text ("many-to-many matching not
 * allowed: ...", "query processing would load too many samples into memory
 * in query execution", "vector cannot contain metrics with the same
 * labelset"), SG_ELIMIT (subquery steps), SG_EINVAL (nsets), SG_ENOMEM. */
SG_NODISCARD int sg_promql_eval_instant(const struct sg_node *expr, int64_t t_ms,
                                        const struct sg_promql_opts *opts,
                                        const struct sg_series_set *sets, size_t nsets,
                                        struct sg_arena *arena, struct sg_value *out,
                                        struct sg_err *err);

/* Range evaluation from start to end (inclusive) every step; the result is
 * a matrix sorted by label set (scalars become a series with no labels), as
 * /api/v1/query_range. Node by node over all steps, as Prometheus's
 * rangeEval. The expression must be a scalar or an instant vector
 * (SG_ETYPE otherwise); ownership as for sg_promql_eval_instant. */
SG_NODISCARD int sg_promql_eval_range(const struct sg_node *expr, int64_t start_ms, int64_t end_ms,
                                      int64_t step_ms, const struct sg_promql_opts *opts,
                                      const struct sg_series_set *sets, size_t nsets,
                                      struct sg_arena *arena, struct sg_value *out,
                                      struct sg_err *err);

/* ---- output ----------------------------------------------------------------------- */

/* The `data` object of Prometheus 2.42's /api/v1/query or query_range on
 * one line: {"resultType":"vector","result":[...]}. Vector and matrix
 * values as 2.42's jsonutil writes them: Go's 'f' form, 'e' when the value
 * is not 0 and |v| < 1e-6 or >= 1e21 ("1e-07"); scalar values always 'f'
 * ("0.0000001"), or like vectors when compat->json_float_exponent is set.
 * Vector/matrix timestamps as seconds with three decimals when the ms are
 * not 0; scalar/string timestamps as the shortest decimal. Labels escaped
 * as Go's encoding/json does (\u003c for <). Matrices sorted by label set. */
SG_NODISCARD int sg_promql_format_json(const struct sg_value *v,
                                       const struct sg_promql_compat *compat, struct sg_buf *out);

/* promtool's human form (client_golang's model values): vectors as
 * `up{instance="a", job="b"} => 1 @[1700000000]` one per line; matrices as
 * `metric =>` followed by `value @[ts]` lines, sorted by label set; scalars
 * as `scalar: 1 @[1700000000]`; strings as the bare text. Ends with a
 * newline (an empty vector prints an empty line). */
SG_NODISCARD int sg_promql_format_text(const struct sg_value *v, struct sg_buf *out);

#endif
