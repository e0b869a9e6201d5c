/* src/core/clock.c - wall and monotonic clocks in milliseconds. */
#include <time.h>

#include "stopgate/clock.h"

int64_t sg_clock_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sg_clock_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sg_clock_mono_ms(void)
{
    return sg_clock_mono_ns() / 1000000;
}

int64_t sg_clock_now(const struct sg_clock *c)
{
    if (c && c->now_ms)
        return c->now_ms(c->ctx);
    return sg_clock_wall_ms();
}
