/* src/tmpl/tmpl_int.h - private declarations shared by the files of the
 * template module: the parse tree (Go's text/template/parse node set), the
 * run-time values of the executor, and Go's fmt formatting.
 *
 * Nothing outside src/tmpl/ includes this file.
 */
#ifndef SG_TMPL_INT_H
#define SG_TMPL_INT_H

#include <stdint.h>

#include "stopgate/base.h"
#include "stopgate/err.h"
#include "stopgate/labels.h"
#include "stopgate/tmpl.h"

/* ---- parse tree ------------------------------------------------------------------ */

enum tn_kind {
    TN_TEXT = 1,
    TN_ACTION,
    TN_BOOL,
    TN_CHAIN,
    TN_COMMAND,
    TN_DOT,
    TN_ELSE, /* transient: never in a finished tree */
    TN_END,  /* transient */
    TN_FIELD,
    TN_IDENT,
    TN_IF,
    TN_LIST,
    TN_NIL,
    TN_NUMBER,
    TN_PIPE,
    TN_RANGE,
    TN_STRING,
    TN_TEMPLATE,
    TN_VARIABLE,
    TN_WITH,
    TN_COMMENT,
    TN_BREAK,
    TN_CONTINUE,
};

struct tn;

struct tn_list {
    struct tn **v;
    uint32_t n, cap;
};

struct tn {
    enum tn_kind kind;
    uint32_t pos;  /* byte offset in the template text */
    uint32_t line; /* pipes and actions: line of the first token */
    /* TN_TEXT: text; TN_STRING: quoted (original) and text (unquoted);
     * TN_NUMBER: text; TN_IDENT: text is the name; TN_TEMPLATE: text is the
     * name (unquoted) */
    struct sg_str text;
    struct sg_str quoted;
    /* TN_FIELD / TN_VARIABLE: identifiers (variables keep their '$');
     * TN_CHAIN: the fields after `node` */
    struct sg_str *idents;
    uint32_t nidents;
    /* TN_LIST: items; TN_COMMAND: args; TN_PIPE: cmds (each a TN_COMMAND) */
    struct tn_list list;
    /* TN_PIPE: declared variables (TN_VARIABLE) */
    struct tn_list decl;
    bool is_assign;
    /* TN_ACTION, TN_IF/RANGE/WITH, TN_TEMPLATE: the pipeline (TN_TEMPLATE:
     * may be NULL); TN_CHAIN: the term */
    struct tn *pipe;
    struct tn *body;      /* TN_IF/RANGE/WITH: the list */
    struct tn *else_body; /* TN_IF/RANGE/WITH: the else list or NULL */
    /* TN_BOOL */
    bool b;
    /* TN_NUMBER */
    bool is_int, is_uint, is_float, is_complex;
    int64_t i64;
    uint64_t u64;
    double f64;
    double c_re, c_im;
};

/* One named tree of a template set ({{define}} and {{block}} add more). */
struct tmpl_tree {
    struct sg_str name;
    struct tn *root; /* TN_LIST */
};

struct sg_tmpl {
    const char *name;     /* the top-level template's name */
    struct sg_str text;   /* the whole input, copied into the arena */
    struct tmpl_tree *trees;
    uint32_t ntrees, cap;
    struct tn *root;      /* the top-level tree */
    struct sg_tmpl_limits lim;
};

/* Node text as Go's Node.String() prints it, appended to out. */
int sg_tmpl__node_string(const struct tn *n, struct sg_buf *out);

/* ---- function table ----------------------------------------------------------------- */

enum tf_param {
    TP_NONE = 0,
    TP_STRING, /* string */
    TP_IFACE,  /* interface{} */
    TP_VALUE,  /* reflect.Value (Go's comparison and logic builtins) */
};

enum tf_id {
    TF_AND = 1, TF_OR, TF_NOT, TF_LEN, TF_INDEX, TF_PRINT, TF_PRINTF, TF_PRINTLN, TF_EQ, TF_NE,
    TF_LT, TF_LE, TF_GT, TF_GE, TF_HTML, TF_URLQUERY, TF_JS, TF_CALL, TF_SLICE,
    TF_HUMANIZE, TF_HUMANIZE1024, TF_HUMANIZE_DURATION, TF_HUMANIZE_PERCENTAGE,
    TF_HUMANIZE_TIMESTAMP, TF_TITLE, TF_TO_UPPER, TF_TO_LOWER, TF_RE_REPLACE_ALL, TF_MATCH,
    TF_STRIP_PORT, TF_STRIP_DOMAIN, TF_PARSE_DURATION,
    /* known to the parser, not rendered */
    TF_QUERY, TF_FIRST, TF_LABEL, TF_VALUE, TF_STRVALUE, TF_ARGS, TF_SAFE_HTML, TF_GRAPH_LINK,
    TF_TABLE_LINK, TF_SORT_BY_LABEL, TF_TO_TIME, TF_PATH_PREFIX, TF_EXTERNAL_URL,
};

struct tf_def {
    const char *name;
    enum tf_id id;
    bool builtin;      /* Go's builtins (and/or short-circuit there) */
    bool supported;    /* rendered by stopgate */
    uint8_t nin;       /* number of declared parameters */
    bool variadic;     /* the last parameter is ...T */
    enum tf_param in[3];
};

/* The function of that name, or NULL. */
const struct tf_def *sg_tmpl__func_find(struct sg_str name);

/* ---- run-time values ------------------------------------------------------------------ */

enum tv_kind {
    TV_INVALID = 0, /* Go's zero reflect.Value: prints "<no value>" */
    TV_NIL,         /* a nil interface{} */
    TV_BOOL,
    TV_INT,         /* int */
    TV_UINT8,       /* uint8 (indexing a string) */
    TV_FLOAT,       /* float64 */
    TV_COMPLEX,     /* complex128 */
    TV_STRING,
    TV_MAP,         /* map[string]string */
    TV_DATA,        /* the alert data struct */
};

struct tv {
    enum tv_kind k;
    bool b;
    int64_t i;
    double f, im;
    struct sg_str s;
    const struct sg_labels *m;
};

/* Go's type name of a value ("float64", "map[string]string", ...). */
const char *sg_tmpl__type_name(const struct tv *v);

/* The alert data an execution sees (.Labels etc.). */
struct tmpl_data {
    struct sg_labels labels, external_labels;
    struct sg_str external_url;
    double value;
};

/* fmt.Sprint (spaces between operands when neither is a string),
 * fmt.Sprintln and fmt.Sprintf over template values. */
int sg_tmpl__sprint(const struct tv *args, size_t n, const struct tmpl_data *d, bool ln,
                    struct sg_buf *out);
int sg_tmpl__sprintf(struct sg_str format, const struct tv *args, size_t n,
                     const struct tmpl_data *d, struct sg_buf *out);
/* %v of one value. */
int sg_tmpl__print_value(const struct tv *v, const struct tmpl_data *d, struct sg_buf *out);

/* strconv.Quote (ascii_only: QuoteToASCII). */
int sg_tmpl__quote(struct sg_str s, bool ascii_only, struct sg_buf *out);
/* strconv.CanBackquote: s can be written as a `raw` literal (valid UTF-8,
 * no control but tab, no backquote, no BOM). */
bool sg_tmpl__can_backquote(struct sg_str s);

/* strconv.FormatFloat(v, fmt, prec, 64) appended to out ('e','E','f','g','G',
 * 'x','X','b'); NaN "NaN", infinities "+Inf"/"-Inf". */
int sg_tmpl__format_float(double v, char fmt, int prec, struct sg_buf *out);

/* strconv.ParseFloat(s, 64) with Go's underscore rule: SG_OK, SG_EPARSE
 * (invalid syntax), SG_ELIMIT (out of range; *out is then ±Inf or 0). */
int sg_tmpl__parse_float(struct sg_str s, double *out);

/* Prometheus's template functions (funcs.c). A string result is appended
 * to out; a float64 result (parseDuration) is *fv with *is_float set.
 * SG_EEVAL with the function's Go error text in err; SG_ELIMIT/SG_ENOMEM
 * when out cannot take the result. match writes "1" or "0". */
int sg_tmpl__prom_func(enum tf_id id, const struct tv *argv, size_t n, struct sg_buf *out,
                       double *fv, bool *is_float, char *err, size_t errn);

/* reReplaceAll and match (regex.c). */
int sg_tmpl__regex_func(enum tf_id id, const struct tv *argv, struct sg_buf *out, char *err,
                        size_t errn);

#endif
