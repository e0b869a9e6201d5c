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

/* Atomic: threads allocate too (the evaluator's workers, read's printer).
 * Relaxed order: only the count matters. */
static _Atomic uint64_t alloc_count;
static _Atomic uint64_t fail_at;
static atomic_bool env_read;

static bool should_fail(void)
{
    uint64_t n, at;

    if (!atomic_load_explicit(&env_read, memory_order_acquire)) {
        const char *s = getenv("SG_FAIL_ALLOC_AT");
        if (s && *s) {
            char *end;
            unsigned long long v = strtoull(s, &end, 10);
            if (*end == '\0')
                atomic_store_explicit(&fail_at, v, memory_order_relaxed);
        }
        atomic_store_explicit(&env_read, true, memory_order_release);
    }
    n = atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) + 1;
    at = atomic_load_explicit(&fail_at, memory_order_relaxed);
    return at != 0 && n >= at;
}

uint64_t sg_alloc_fail_at(uint64_t n)
{
    uint64_t made = atomic_exchange_explicit(&alloc_count, 0, memory_order_relaxed);

    atomic_store_explicit(&env_read, true, memory_order_release);
    atomic_store_explicit(&fail_at, n, memory_order_relaxed);
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
