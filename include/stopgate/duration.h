/* include/stopgate/duration.h - Prometheus durations and timestamps.
 *
 * Durations follow Prometheus's model.ParseDuration (prometheus/common as
 * vendored by 2.42): units y w d h m s ms, each at most once, largest first,
 * integers only; a bare "0" is allowed. Formatting follows
 * model.Duration.String ("1h30m", "0s"; y and w only when exact).
 * Timestamps on the command line are Unix seconds (fractional allowed,
 * rounded to the millisecond) or RFC 3339.
 */
#ifndef SG_DURATION_H
#define SG_DURATION_H

#include <stdint.h>

#include "stopgate/base.h"
#include "stopgate/err.h"

#define SG_DURATION_FMT_MAX 64
#define SG_RFC3339_FMT_MAX  40

/* SG_EPARSE ("not a valid duration string: \"5x\""), SG_ELIMIT (out of range). */
SG_NODISCARD int sg_duration_parse(struct sg_str s, int64_t *out_ms, struct sg_err *err);
/* model.Duration.String; writes at most n bytes including the NUL. */
void sg_duration_format(int64_t ms, char *buf, size_t n);

/* Unix seconds ("1700000000", "1700000000.123", rounded to ms as Prometheus's
 * FromFloatSeconds does) or RFC 3339 ("2026-11-29T08:00:00Z",
 * "2026-11-29T08:00:00.5+01:00"). SG_EPARSE naming the text otherwise. */
SG_NODISCARD int sg_time_parse(struct sg_str s, int64_t *out_ms, struct sg_err *err);
/* RFC 3339 in UTC with milliseconds: "2026-11-29T08:00:00.000Z". */
void sg_time_format_rfc3339(int64_t ms, char *buf, size_t n);

#endif
