/* include/stopgate/num.h - numbers as Go (and therefore Prometheus) prints
 * and parses them.
 *
 * sg_num_format(v, fmt, ...) is strconv.FormatFloat(v, fmt, -1, 64): the
 * shortest decimal digits that read back as exactly v, laid out as
 *   'f'  never an exponent      1e-7 -> "0.0000001", 1e21 -> "1000000000000000000000"
 *   'e'  d.ddde±XX              1e-7 -> "1e-07", 1.5e21 -> "1.5e+21"
 *   'E'  d.dddE±XX              promtool's test output: 1 -> "1E+00"
 *   'g'  'e' when the decimal exponent is < -4 or >= 6 (Go's rule for the
 *        shortest form, which fmt's %v and text/template use), else 'f':
 *        200000 -> "200000", 2000000 -> "2e+06", 0.00001 -> "1e-05"
 * NaN prints "NaN", infinities "+Inf" and "-Inf", negative zero "-0".
 */
#ifndef SG_NUM_H
#define SG_NUM_H

#include <stddef.h>
#include <stdint.h>

#include "stopgate/base.h"

/* Enough for any 'f' rendering of a double (about 330 bytes) plus NUL. */
#define SG_NUM_FMT_MAX 400

/* strconv.FormatFloat(v, fmt, -1, 64); fmt is 'f', 'e', 'E' or 'g'.
 * Writes a NUL-terminated string into buf (n >= SG_NUM_FMT_MAX is always
 * enough) and returns its length. */
size_t sg_num_format(double v, char fmt, char *buf, size_t n);

/* The shortest round-trip decimal digits of |v| (finite, non-zero):
 * digits "d1d2...dk" (no leading or trailing zeros) and the decimal point
 * position dp, so that |v| = 0.d1d2...dk * 10^dp. Returns k. */
int sg_num_shortest(double v, char digits[32], int *dp);
/* The same digits computed slowly through the C library's correctly
 * rounded printf and strtod; the reference the tests compare with. */
int sg_num_shortest_ref(double v, char digits[32], int *dp);

/* strconv.ParseFloat(s, 64): decimal with optional sign, fraction and
 * exponent, hexadecimal with a 'p' exponent, "inf"/"infinity"/"nan" in any
 * case (a sign is allowed before inf only), underscores only after a base
 * prefix. SG_EPARSE for invalid syntax, SG_ELIMIT when out of range (the
 * value is then ±Inf or 0, as Go returns it). */
int sg_num_parse(struct sg_str s, double *out);

/* strconv.ParseInt(s, 0, 64): optional sign, base prefix 0x/0o/0b or a
 * leading 0 for octal, underscores between digits when a prefix is present.
 * SG_EPARSE for invalid syntax, SG_ELIMIT when out of range. */
int sg_num_parse_int(struct sg_str s, int64_t *out);

/* Go's underscoreOK, the rule of ParseFloat and ParseInt with base 0:
 * underscores only after a base prefix (0x, 0o, 0b), each between digits
 * or right after the prefix; a sign in front is allowed. */
bool sg_num_underscores_ok(struct sg_str s);

#endif
