/* src/core/arena.c - bump allocator with a byte cap and release hooks.
 *
 * Blocks are chained newest first. An allocation larger than a quarter of
 * the block size gets a block of its own, so big arrays do not waste the
 * rest of a shared block. `used` counts every block's full size; going over
 * max_bytes makes the allocation fail like running out of memory, which is
 * how an evaluation or a parsed file is capped.
 */
#include <stdio.h>
#include <string.h>

#include "stopgate/base.h"
#include "stopgate/err.h"

#define ARENA_ALIGN         16
#define ARENA_MIN_BLOCK     (16 * 1024)
#define ARENA_MAX_BLOCK     (4 * 1024 * 1024)

struct sg_arena_block {
    struct sg_arena_block *next;
    size_t size; /* usable bytes in data */
    size_t pos;
    size_t last; /* offset of the most recent allocation */
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct sg_arena_hook {
    struct sg_arena_hook *next;
    void (*fn)(void *);
    void *ptr;
};

void sg_arena_init(struct sg_arena *a, size_t max_bytes)
{
    a->head = NULL;
    a->hooks = NULL;
    a->used = 0;
    a->max_bytes = max_bytes;
    a->block_size = ARENA_MIN_BLOCK;
}

static size_t align_up(size_t n)
{
    return (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
}

static struct sg_arena_block *new_block(struct sg_arena *a, size_t size)
{
    struct sg_arena_block *b;
    size_t total = sizeof(*b) + size;

    if (size > SIZE_MAX - sizeof(*b))
        return NULL;
    if (a->max_bytes && (total > a->max_bytes || a->used > a->max_bytes - total))
        return NULL;
    b = sg_malloc(total);
    if (!b)
        return NULL;
    b->size = size;
    b->pos = 0;
    b->last = 0;
    a->used += total;
    return b;
}

void *sg_arena_alloc_raw(struct sg_arena *a, size_t size)
{
    struct sg_arena_block *b = a->head;
    size_t n;

    if (size > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    n = align_up(size ? size : 1);
    if (b && b->size - b->pos >= n) {
        void *p = b->data + b->pos;
        b->last = b->pos;
        b->pos += n;
        return p;
    }
    if (n > a->block_size / 4) {
        /* Own block, linked behind the current one so the current block
         * keeps serving small allocations. */
        struct sg_arena_block *big = new_block(a, n);
        if (!big)
            return NULL;
        big->pos = n;
        if (b) {
            big->next = b->next;
            b->next = big;
        } else {
            big->next = NULL;
            a->head = big;
        }
        return big->data;
    }
    b = new_block(a, a->block_size);
    if (!b)
        return NULL;
    if (a->block_size < ARENA_MAX_BLOCK)
        a->block_size *= 2;
    b->next = a->head;
    a->head = b;
    b->pos = n;
    return b->data;
}

void *sg_arena_alloc(struct sg_arena *a, size_t size)
{
    void *p = sg_arena_alloc_raw(a, size);

    if (p)
        memset(p, 0, size);
    return p;
}

void *sg_arena_alloc_array(struct sg_arena *a, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return sg_arena_alloc(a, n * size);
}

void *sg_arena_grow(struct sg_arena *a, void *p, size_t old, size_t size)
{
    struct sg_arena_block *b = a->head;
    void *q;

    if (size <= old)
        return p;
    if (p && b && p == b->data + b->last && b->pos == b->last + align_up(old ? old : 1)) {
        size_t n = align_up(size);
        if (b->size - b->last >= n) {
            b->pos = b->last + n;
            return p;
        }
    }
    q = sg_arena_alloc_raw(a, size);
    if (q && old)
        memcpy(q, p, old);
    return q;
}

char *sg_arena_strndup(struct sg_arena *a, const char *s, size_t n)
{
    char *p;

    if (n == SIZE_MAX)
        return NULL;
    p = sg_arena_alloc_raw(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *sg_arena_strdup(struct sg_arena *a, const char *s)
{
    return sg_arena_strndup(a, s, strlen(s));
}

void *sg_arena_memdup(struct sg_arena *a, const void *p, size_t n)
{
    void *q = sg_arena_alloc_raw(a, n);

    if (q && n)
        memcpy(q, p, n);
    return q;
}

int sg_arena_str(struct sg_arena *a, struct sg_str s, struct sg_str *out)
{
    char *p = sg_arena_strndup(a, s.ptr, s.len);

    if (!p)
        return SG_ENOMEM;
    out->ptr = p;
    out->len = s.len;
    return SG_OK;
}

char *sg_arena_printf(struct sg_arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    p = sg_arena_alloc_raw(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int sg_arena_on_release(struct sg_arena *a, void (*fn)(void *), void *ptr)
{
    struct sg_arena_hook *h = sg_arena_alloc(a, sizeof(*h));

    if (!h)
        return SG_ENOMEM;
    h->fn = fn;
    h->ptr = ptr;
    h->next = a->hooks;
    a->hooks = h;
    return SG_OK;
}

static void run_hooks(struct sg_arena *a)
{
    struct sg_arena_hook *h = a->hooks;

    a->hooks = NULL;
    for (; h; h = h->next)
        h->fn(h->ptr);
}

void sg_arena_reset(struct sg_arena *a)
{
    struct sg_arena_block *b, *keep = NULL;

    run_hooks(a);
    /* keep the oldest block of the standard size (the first one made) */
    b = a->head;
    while (b) {
        struct sg_arena_block *next = b->next;
        if (!next && b->size == ARENA_MIN_BLOCK)
            keep = b;
        else
            sg_free(b);
        b = next;
    }
    a->head = keep;
    a->used = 0;
    a->block_size = ARENA_MIN_BLOCK;
    if (keep) {
        keep->pos = 0;
        keep->last = 0;
        keep->next = NULL;
        a->used = sizeof(*keep) + keep->size;
        a->block_size *= 2;
    }
}

void sg_arena_cleanup(struct sg_arena *a)
{
    struct sg_arena_block *b;

    run_hooks(a);
    b = a->head;
    while (b) {
        struct sg_arena_block *next = b->next;
        sg_free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
    a->block_size = ARENA_MIN_BLOCK;
}
