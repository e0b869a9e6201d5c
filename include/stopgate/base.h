/* include/stopgate/base.h - the few types every module uses.
 *
 * - sg_str:   a (ptr, len) view that does not own its bytes;
 * - sg_buf:   a bounded growable byte buffer (curl's dynbuf with a max);
 * - sg_arena: a bump allocator with a hard byte cap and release hooks;
 * - sg_malloc & co: allocation wrappers with a test hook that makes the Nth
 *   allocation fail (SG_FAIL_ALLOC_AT=N in the environment of test builds).
 */
#ifndef SG_BASE_H
#define SG_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SG_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define SG_NODISCARD         __attribute__((warn_unused_result))
#define SG_UNUSED            __attribute__((unused))
#define SG_ARRAY_LEN(a)      (sizeof(a) / sizeof((a)[0]))

/* ---- allocation ---------------------------------------------------------- */

/* malloc/calloc/realloc/free wrappers. They return NULL on failure like the
 * libc functions (and also when the fault hook says so). sg_free(NULL) is a
 * no-op. sg_reallocarray and sg_mallocarray check n*size for overflow. */
void *sg_malloc(size_t size);
void *sg_calloc(size_t n, size_t size);
void *sg_realloc(void *p, size_t size);
void *sg_reallocarray(void *p, size_t n, size_t size);
void sg_free(void *p);
/* Copies; the caller frees with sg_free. NULL on out of memory. */
char *sg_strdup(const char *s);
char *sg_strndup(const char *s, size_t n);
void *sg_memdup(const void *p, size_t n);

/* Test hook: make allocation number `n` (1-based, counted from this call)
 * and every later one fail; 0 turns it off. Returns the number of
 * allocations counted since the last call (they are counted only while it
 * is on). Also read once from the environment variable SG_FAIL_ALLOC_AT. */
uint64_t sg_alloc_fail_at(uint64_t n);

/* ---- string views -------------------------------------------------------- */

struct sg_str {
    const char *ptr;
    size_t len;
};

static inline struct sg_str sg_str_make(const char *p, size_t n)
{
    struct sg_str s = {p, n};
    return s;
}

/* View of a NUL-terminated string (NULL gives the empty view). */
struct sg_str sg_str_c(const char *s);
bool sg_str_eq(struct sg_str a, struct sg_str b);
bool sg_str_eq_c(struct sg_str a, const char *c);
/* Byte-wise compare like memcmp, shorter first on a common prefix. */
int sg_str_cmp(struct sg_str a, struct sg_str b);
bool sg_str_has_prefix(struct sg_str s, const char *prefix);
/* Value of the hex digit c (0-9, a-f, A-F), -1 for anything else. */
int sg_hex_digit(uint32_t c);

/* ---- bounded buffer ------------------------------------------------------ */

struct sg_buf {
    char *data; /* NUL-terminated when non-NULL */
    size_t len, cap, max;
};

/* Cannot fail; allocates nothing until the first append. max is the largest
 * len the buffer may reach. */
void sg_buf_init(struct sg_buf *b, size_t max);
/* SG_OK, SG_ENOMEM or SG_ELIMIT. On failure the content so far is kept. */
SG_NODISCARD int sg_buf_append(struct sg_buf *b, const void *p, size_t n);
SG_NODISCARD int sg_buf_append_str(struct sg_buf *b, struct sg_str s);
SG_NODISCARD int sg_buf_putc(struct sg_buf *b, char c);
SG_NODISCARD int sg_buf_puts(struct sg_buf *b, const char *s);
SG_NODISCARD int sg_buf_appendf(struct sg_buf *b, const char *fmt, ...) SG_PRINTF(2, 3);
SG_NODISCARD int sg_buf_vappendf(struct sg_buf *b, const char *fmt, va_list ap) SG_PRINTF(2, 0);
/* Make room for n more bytes (len + n <= max). */
SG_NODISCARD int sg_buf_reserve(struct sg_buf *b, size_t n);
/* Empties the buffer, keeps the allocation. */
void sg_buf_reset(struct sg_buf *b);
/* Drops bytes from len on (len <= b->len). */
void sg_buf_truncate(struct sg_buf *b, size_t len);
/* A view of the content (valid until the next change). */
struct sg_str sg_buf_view(const struct sg_buf *b);
/* The content as a NUL-terminated string ("" when empty); valid until the
 * next change. */
const char *sg_buf_cstr(const struct sg_buf *b);
/* Hands the allocation to the caller (free with sg_free; NULL when empty);
 * the buffer is empty afterwards. */
char *sg_buf_steal(struct sg_buf *b, size_t *len);
void sg_buf_cleanup(struct sg_buf *b);

/* ---- arena --------------------------------------------------------------- */

struct sg_arena_block;
struct sg_arena_hook;

struct sg_arena {
    struct sg_arena_block *head; /* current block; older ones follow */
    struct sg_arena_hook *hooks;
    size_t used;      /* bytes handed out plus block overhead */
    size_t max_bytes; /* cap on `used`; 0 means no cap */
    size_t block_size;
};

/* Cannot fail; allocates nothing until the first allocation. */
void sg_arena_init(struct sg_arena *a, size_t max_bytes);
/* Zeroed memory aligned for any type; NULL when out of memory or over the
 * cap. Lives until sg_arena_reset/cleanup. */
void *sg_arena_alloc(struct sg_arena *a, size_t size);
/* Same for n elements, with an overflow check. */
void *sg_arena_alloc_array(struct sg_arena *a, size_t n, size_t size);
/* Not zeroed; for buffers about to be overwritten. */
void *sg_arena_alloc_raw(struct sg_arena *a, size_t size);
/* Grows the most recent allocation `p` of `old` bytes to `size` bytes when it
 * is the last one in its block, else allocates and copies. */
void *sg_arena_grow(struct sg_arena *a, void *p, size_t old, size_t size);
/* NUL-terminated copies. */
char *sg_arena_strndup(struct sg_arena *a, const char *s, size_t n);
char *sg_arena_strdup(struct sg_arena *a, const char *s);
void *sg_arena_memdup(struct sg_arena *a, const void *p, size_t n);
/* A copy of s in the arena as a view (ptr is NUL-terminated). */
SG_NODISCARD int sg_arena_str(struct sg_arena *a, struct sg_str s, struct sg_str *out);
char *sg_arena_printf(struct sg_arena *a, const char *fmt, ...) SG_PRINTF(2, 3);
/* Run fn(ptr) when the arena is reset or cleaned up (last registered runs
 * first). SG_ENOMEM if the hook cannot be recorded; fn is then NOT called. */
SG_NODISCARD int sg_arena_on_release(struct sg_arena *a, void (*fn)(void *), void *ptr);
/* Runs the release hooks and frees all blocks but the first. */
void sg_arena_reset(struct sg_arena *a);
void sg_arena_cleanup(struct sg_arena *a);

#endif
