/* src/core/alloc.c - allocation wrappers with a fault-injection hook.
 *
 * Every allocation in stopgate goes through these functions so that tests
 * can make the Nth one fail (curl's torture idea) and prove that each
 * out-of-memory path frees what it took and reports SG_ENOMEM.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "stopgate/base.h"

/* mode: 0 before SG_FAIL_ALLOC_AT was read, 1 off (the fast path: one
 * plain load), 2 armed (every allocation counted). Atomic: threads
 * allocate too (the evaluator's workers, read's printer). */
enum { MODE_UNREAD = 0, MODE_OFF, MODE_ARMED };
static atomic_int mode;
static _Atomic uint64_t alloc_count;
static _Atomic uint64_t fail_at;

static bool should_fail(void)
{
    int m = atomic_load_explicit(&mode, memory_order_acquire);
    uint64_t n, at;

    if (m == MODE_OFF)
        return false;
    if (m == MODE_UNREAD) {
        const char *s = getenv("SG_FAIL_ALLOC_AT");
        unsigned long long v = 0;
        if (s && *s) {
            char *end;
            v = strtoull(s, &end, 10);
            if (*end != '\0')
                v = 0;
        }
        atomic_store_explicit(&fail_at, v, memory_order_relaxed);
        atomic_store_explicit(&mode, v ? MODE_ARMED : MODE_OFF, memory_order_release);
        if (!v)
            return false;
    }
    n = atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) + 1;
    at = atomic_load_explicit(&fail_at, memory_order_relaxed);
    return at != 0 && n >= at;
}

uint64_t sg_alloc_fail_at(uint64_t n)
{
    uint64_t made = atomic_exchange_explicit(&alloc_count, 0, memory_order_relaxed);

    atomic_store_explicit(&fail_at, n, memory_order_relaxed);
    atomic_store_explicit(&mode, n ? MODE_ARMED : MODE_OFF, memory_order_release);
    return made;
}

void *sg_malloc(size_t size)
{
    if (should_fail())
        return NULL;
    return malloc(size ? size : 1);
}

void *sg_calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    if (n == 0 || size == 0)
        return calloc(1, 1);
    return calloc(n, size);
}

void *sg_realloc(void *p, size_t size)
{
    if (should_fail())
        return NULL;
    return realloc(p, size ? size : 1);
}

void *sg_reallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return sg_realloc(p, n * size);
}

void sg_free(void *p)
{
    free(p);
}

char *sg_strndup(const char *s, size_t n)
{
    char *p = sg_malloc(n + 1);

    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *sg_strdup(const char *s)
{
    return sg_strndup(s, strlen(s));
}

void *sg_memdup(const void *p, size_t n)
{
    void *q = sg_malloc(n);

    if (q && n)
        memcpy(q, p, n);
    return q;
}
