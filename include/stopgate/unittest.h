/* include/stopgate/unittest.h - promtool 2.42's `test rules`: the unit-test
 * file format and its execution model.
 *
 * A test file is YAML decoded the way promtool 2.42 decodes it (yaml.v2
 * UnmarshalStrict into promtool's structs): unknown keys, duplicate keys
 * and type mismatches are errors, scalars resolve as YAML 1.1 does
 * (`.inf`, `0x10`, `010`, `1_000`, `yes` is a bool, a quoted number is a
 * string), durations are Prometheus durations. Input series use the
 * expanding notation of 2.42's series descriptions (`1+2x3`, `_x4`,
 * `stale`).
 *
 * Running a file follows promtool's model exactly: input samples are
 * loaded lazily, tick by tick, from 0 to the largest eval_time of the
 * group in evaluation_interval steps; rule groups are evaluated at every
 * tick; alert checks happen at their tick; expression checks run last as
 * instant queries. Output (stdout and stderr) is promtool's text, except
 * that problems with the file itself name FILE:LINE:COL where promtool
 * prints only a line or nothing.
 */
#ifndef SG_UNITTEST_H
#define SG_UNITTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stopgate/base.h"
#include "stopgate/err.h"
#include "stopgate/labels.h"
#include "stopgate/yaml.h"

/* ---- limits ---------------------------------------------------------------------- */

struct sg_ut_limits {
    size_t max_file_bytes;    /* size of one test file; default 16 MiB */
    size_t max_samples;       /* expanded input values of one test group; default 10,000,000 */
    uint64_t max_ticks;       /* evaluation ticks of one test group; default 10,000,000 */
    size_t max_store_bytes;   /* memory of one group's series store; default 1 GiB */
    size_t max_query_samples; /* the engine's samples-per-query limit; default 10000 (promtool) */
};

/* ---- the file model --------------------------------------------------------------- */

struct sg_ut_input_series {
    struct sg_str series, values;
    const struct sg_yaml_node *series_node, *values_node; /* NULL when the key was absent */
};

struct sg_ut_exp_sample {
    struct sg_str labels; /* series notation, parsed when the test runs (as promtool does) */
    double value;
};

struct sg_ut_expr_test {
    struct sg_str expr;
    int64_t eval_time_ms;
    struct sg_ut_exp_sample *exp;
    size_t nexp;
    const struct sg_yaml_node *node;
};

struct sg_ut_exp_alert {
    struct sg_labels labels;      /* exp_labels as given (alertname is added when checking) */
    struct sg_labels annotations; /* exp_annotations; empty when omitted */
};

struct sg_ut_alert_test {
    int64_t eval_time_ms;
    struct sg_str alertname;
    struct sg_ut_exp_alert *exp;
    size_t nexp;
    const struct sg_yaml_node *node;
};

struct sg_ut_group {
    struct sg_str name;
    int64_t interval_ms; /* 0 when omitted: every input sample sits at t=0, as in 2.42 */
    struct sg_ut_input_series *series;
    size_t nseries;
    struct sg_ut_alert_test *alerts;
    size_t nalerts;
    struct sg_ut_expr_test *exprs;
    size_t nexprs;
    struct sg_labels external_labels;
    struct sg_str external_url;
    const struct sg_yaml_node *node;
};

struct sg_ut_file {
    struct sg_str *rule_files;
    size_t nrule_files;
    int64_t eval_interval_ms; /* 0 when omitted (the runner then uses 1m) */
    struct sg_str *group_eval_order;
    size_t norder;
    struct sg_ut_group *tests;
    size_t ntests;
};

/* Decode a test file from YAML text as promtool 2.42 does.
 * text:  the file content; read during the call only (strings are copied).
 * name:  the file name used in messages.
 * arena: the result and every string, label set and YAML node it points to.
 * out:   set on success.
 * msg:   on failure, when non-NULL, receives the complete report in
 *        promtool's shape ("yaml: unmarshal errors:\n  FILE:L:C: field x
 *        not found in type main.testGroup\n  ..."), without a final newline.
 * err:   on failure, the first problem: SG_EPARSE (YAML syntax, type or key
 *        errors, bad durations) with its position, SG_ELIMIT, SG_ENOMEM.
 * Never aborts on any input. */
SG_NODISCARD int sg_ut_file_parse(struct sg_str text, const char *name, struct sg_arena *arena,
                                  const struct sg_ut_limits *limits, struct sg_ut_file **out,
                                  struct sg_buf *msg, struct sg_err *err);

/* ---- series descriptions ------------------------------------------------------------ */

/* One value of an expanded series: a number, a stale marker (StaleNaN bits)
 * or an omitted slot `_`. */
struct sg_ut_value {
    double v;
    bool omitted;
};

/* Parse the value sequence of a series description line (the part after
 * the metric): `1 2 _x3 5+1.5x4 stale`, with 2.42's lexer and grammar
 * (numbers by strconv.ParseInt(s, 0, 64) then ParseFloat, no hex; Inf and
 * NaN in any case; `a+bxN` by repeated float addition; `stalexN` is an
 * error). `line` is the whole trimmed line and `off` where the metric ended
 * (for error columns).
 * vals:       array of the values, allocated in `arena`.
 * max_values: cap on the expanded count (SG_ELIMIT beyond it).
 * err:        SG_EPARSE with err->off at the offending byte of `line` and
 *             promtool's text after "parse error: " as the message (no
 *             position prefix), e.g. `bad number syntax: "1"`.
 * Never aborts on any input. */
SG_NODISCARD int sg_ut_values_parse(struct sg_str line, size_t off, struct sg_arena *arena,
                                    size_t max_values, struct sg_ut_value **vals, size_t *n,
                                    struct sg_err *err);

/* Parse a whole series description line `name{a="b"} 1 2 3`: the metric
 * with sg_promql_parse_metric, then the values as above. Labels are
 * sorted; empty label values are kept (the store drops them, as the TSDB
 * does). Errors as for sg_ut_values_parse, err->off in `line`. */
SG_NODISCARD int sg_ut_series_parse(struct sg_str line, struct sg_arena *arena, size_t max_values,
                                    struct sg_labels *labels, struct sg_ut_value **vals, size_t *n,
                                    struct sg_err *err);

/* ---- running ---------------------------------------------------------------------- */

struct sg_ut_opts {
    const struct sg_ut_limits *limits; /* NULL: defaults */
};

/* Run one test file as `promtool test rules FILE` 2.42 does and print
 * promtool's report: "Unit Testing:  FILE", then "  SUCCESS" on `out`, or
 * "  FAILED:" and every failure on `errout` (with an empty line on `out`
 * after each), then an empty line on `out`. Warnings ("  WARNING: no file
 * match pattern ...") go to errout. Both streams are flushed after every
 * write so that their interleaving matches promtool's.
 * Returns true when every test of the file passed. */
bool sg_ut_run_file(const char *path, const struct sg_ut_opts *opts, FILE *out, FILE *errout);

/* Go's path/filepath.Glob on this system's files: `*`, `?`, `[a-z]`,
 * `[^a]`, `\` escapes; matches sorted by byte order; a pattern without
 * meta characters matches when the file exists. `matches` is an array of
 * paths in `arena`. SG_EPARSE "syntax error in pattern" for a malformed
 * pattern. */
SG_NODISCARD int sg_ut_glob(const char *pattern, struct sg_arena *arena, char ***matches, size_t *n,
                            struct sg_err *err);

/* Go's filepath.Match(pattern, name): 1 match, 0 no match, SG_EPARSE for
 * a malformed pattern. */
int sg_ut_glob_match(struct sg_str pattern, struct sg_str name);

#endif
