/* include/stopgate/tmpl.h - Go text/template for alert labels and
 * annotations, as Prometheus 2.42 uses it.
 *
 * Parsing covers the whole Go 1.19 template syntax (actions, pipelines,
 * variables, if/else if/with/range/define/template/block/break/continue,
 * comments, trim markers, literals of every kind) and reports syntax
 * errors with Go's exact text ("template: NAME:LINE: ..."). Function names
 * are checked against Go's builtins plus the function map of Prometheus
 * 2.42's template package, so an unknown function is a parse error as in
 * promtool.
 *
 * Rendering (sg_tmpl_exec) implements the subset stopgate promises:
 * variables and fields of the alert data ($labels, $externalLabels,
 * $externalURL, $value, .Labels, .ExternalLabels, .ExternalURL, .Value),
 * pipelines, if/else/with, variable declaration and assignment, the
 * builtins and or not len index print printf println eq ne lt le gt ge, and
 * humanize humanize1024 humanizeDuration humanizePercentage
 * humanizeTimestamp title toUpper toLower reReplaceAll match stripPort
 * stripDomain parseDuration, with Go's output and Go's runtime error
 * messages. Any other construct stops the rendering with an error whose
 * text ends in "not supported by stopgate"; sg_tmpl_find_unsupported finds
 * such constructs ahead of time.
 */
#ifndef SG_TMPL_H
#define SG_TMPL_H

#include <stdint.h>

#include "stopgate/base.h"
#include "stopgate/err.h"
#include "stopgate/labels.h"

/* Text Prometheus puts in front of every alert template: it declares
 * $labels, $externalLabels, $externalURL and $value. Positions in Go's
 * messages count it. */
#define SG_TMPL_ALERT_DEFS                                                                         \
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"                                \
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}"

struct sg_tmpl; /* a parsed template; lives in the arena it was parsed into */

struct sg_tmpl_limits {
    uint32_t max_len;    /* bytes of template text; default 64 KiB */
    uint32_t max_depth;  /* nesting of actions and parentheses; default 100 */
    uint32_t max_nodes;  /* parse nodes; default 100,000 */
    size_t max_output;   /* bytes one execution may write; default 1 MiB */
    uint64_t max_steps;  /* evaluation steps of one execution; default 1,000,000 */
};

/* Parse `text` as a template named `name`.
 * arena:  the tree and its strings; nothing to free per template.
 * limits: NULL for the defaults; exceeding one is SG_ELIMIT.
 * err:    SG_EPARSE with Go's message ("template: NAME:1: function \"foo\"
 *         not defined"), err->off/len = the offending token's byte span in
 *         `text` (best effort); err->line = the template line.
 * Never aborts on any input. */
SG_NODISCARD int sg_tmpl_parse(struct sg_str text, const char *name, struct sg_arena *arena,
                               const struct sg_tmpl_limits *limits, struct sg_tmpl **out,
                               struct sg_err *err);

/* The first construct (in text order) that sg_tmpl_exec cannot render:
 * `what` receives a description such as "function \"query\"" or
 * "{{range}}" (truncated to what_len), *off its byte offset in the text.
 * Returns false when every construct is supported. */
bool sg_tmpl_find_unsupported(const struct sg_tmpl *t, char *what, size_t what_len,
                              uint32_t *off);

/* The data of an alert template (Prometheus's AlertTemplateData). */
struct sg_tmpl_data {
    const struct sg_labels *labels;          /* .Labels; NULL = empty */
    const struct sg_labels *external_labels; /* .ExternalLabels; NULL = empty */
    struct sg_str external_url;              /* .ExternalURL */
    double value;                            /* .Value */
};

/* Execute the template with `data`, appending to `out`.
 * err: SG_EEVAL with Go's message ("template: NAME:1:23: executing \"NAME\"
 *      at <humanize \"x\">: error calling humanize: ..."); SG_ELIMIT when
 *      out or the step budget is exhausted. Output written before an error
 *      stays in `out`. Unsupported constructs are SG_EEVAL errors whose
 *      text ends in "not supported by stopgate". */
SG_NODISCARD int sg_tmpl_exec(const struct sg_tmpl *t, const struct sg_tmpl_data *data,
                              struct sg_buf *out, struct sg_err *err);

/* Expand an alert label or annotation the way Prometheus 2.42 does: parse
 * SG_TMPL_ALERT_DEFS + text as "__alert_" + alertname and execute it.
 * On success `out` holds the result; on a parse or execution error `out`
 * holds "<error expanding template: ...>" with Prometheus's wording and the
 * call still returns SG_OK (the error is part of the result, as in
 * Prometheus). Only SG_ENOMEM / SG_ELIMIT on `out` itself are returned.
 * scratch: parse tree and temporaries; the caller resets it. */
SG_NODISCARD int sg_tmpl_expand_alert(struct sg_str text, struct sg_str alertname,
                                      const struct sg_tmpl_data *data, struct sg_arena *scratch,
                                      struct sg_buf *out, struct sg_err *err);

/* Parse an alert template as promtool checks it (defs + text, name
 * "__alert_" + alertname). SG_EPARSE with Go's message and err->off/len
 * relative to `text` (not counting the defs). *t (may be NULL) receives the
 * tree for sg_tmpl_find_unsupported / sg_tmpl_exec_alert. */
SG_NODISCARD int sg_tmpl_parse_alert(struct sg_str text, struct sg_str alertname,
                                     struct sg_arena *arena, struct sg_tmpl **t,
                                     struct sg_err *err);

/* Execute a tree from sg_tmpl_parse_alert the way sg_tmpl_expand_alert
 * does (errors become "<error expanding template: ...>" in out). */
SG_NODISCARD int sg_tmpl_exec_alert(const struct sg_tmpl *t, const struct sg_tmpl_data *data,
                                    struct sg_buf *out, struct sg_err *err);

/* Go's fmt formatting of a float64 for verb 'v'/'g'/'e'/'E'/'f'/'F'/'G'
 * with a precision (-1 = shortest), as fmt.Sprintf("%.*g", prec, v) prints
 * it ("%.4g" of 1234567 is "1.235e+06"; "%v" of 2e6 is "2e+06"); NaN prints
 * "NaN", infinities "+Inf" and "-Inf". Appends to out. */
SG_NODISCARD int sg_tmpl_format_float(double v, char verb, int prec, struct sg_buf *out);

/* Prometheus's humanize functions ("%.4g" and SI/IEC prefixes,
 * durations), appended to out. */
SG_NODISCARD int sg_tmpl_humanize(double v, struct sg_buf *out);
SG_NODISCARD int sg_tmpl_humanize1024(double v, struct sg_buf *out);
SG_NODISCARD int sg_tmpl_humanize_duration(double v, struct sg_buf *out);
SG_NODISCARD int sg_tmpl_humanize_percentage(double v, struct sg_buf *out);

#endif
