/* src/rules/unittest_int.h - helpers shared by the unittest_*.c files of the
 * promtool test runner. Private to src/rules/. */
#ifndef SG_UNITTEST_INT_H
#define SG_UNITTEST_INT_H

#include <stdint.h>

#include "stopgate/base.h"
#include "stopgate/err.h"

/* Go's %q of a string (strconv.Quote), of at most max_runes runes when
 * max_runes > 0 (fmt's %.Nq). Appends to out. */
SG_NODISCARD int sg_ut__quote(struct sg_str s, size_t max_runes, struct sg_buf *out);

/* Go's %q of a rune (strconv.QuoteRune). Appends to out. */
SG_NODISCARD int sg_ut__quote_rune(uint32_t r, struct sg_buf *out);

/* Decode one UTF-8 rune at s[i] (i < n) as Go does: invalid input gives
 * U+FFFD with width 1. */
uint32_t sg_ut__rune(const char *s, size_t n, size_t i, size_t *width);

/* Where the metric part of a series description line ends, found as 2.42's
 * lexer does in series-description mode. *end is the offset of the first
 * byte after the metric; *empty is set when the line has no metric at all
 * (it then starts with something else, and the error is in *err). Returns
 * SG_OK, or SG_EPARSE with err->off and promtool's message (without any
 * position prefix) when the line cannot start a series description. */
SG_NODISCARD int sg_ut__metric_end(struct sg_str line, size_t *end, struct sg_err *err);

/* Another module's message without its "NAME:LINE:COL: " prefix. */
const char *sg_ut__strip_position(const struct sg_err *e);

#endif
