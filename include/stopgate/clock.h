/* include/stopgate/clock.h - time sources, all in milliseconds.
 *
 * Code whose behaviour depends on time takes a `const struct sg_clock *` so
 * that tests and backtests can drive a fake clock instead of sleeping.
 */
#ifndef SG_CLOCK_H
#define SG_CLOCK_H

#include <stdint.h>

struct sg_clock {
    int64_t (*now_ms)(void *ctx); /* wall-clock time, Unix milliseconds */
    void *ctx;
};

/* CLOCK_REALTIME in Unix milliseconds. */
int64_t sg_clock_wall_ms(void);
/* CLOCK_MONOTONIC in milliseconds (for measuring durations). */
int64_t sg_clock_mono_ms(void);
/* Monotonic nanoseconds, for benchmarks and timing logs. */
int64_t sg_clock_mono_ns(void);
/* c->now_ms(c->ctx), or the wall clock when c is NULL. */
int64_t sg_clock_now(const struct sg_clock *c);

#endif
