/* tests/fuzz/fuzz_state_journal.c - journal replay on arbitrary bytes.
 *
 * The bytes are a journal file (audit.jsonl / outbox.jsonl) as a crash or
 * damage may leave it. They are replayed in chunks whose sizes come from
 * the input itself (a streaming reader must not care where reads end).
 * Checks: no crash or leak; on success, the valid prefix plus the cut tail
 * is the whole input, and replaying just the valid prefix gives the same
 * lines with nothing to cut; the result does not depend on the chunking.
 */
#include <stdint.h>
#include <string.h>

#include "state/state_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct count {
    size_t lines;
    size_t adds;
};

/* What the outbox replay looks at, without its side effects. */
static int on_line(void *ctx, json_t *obj, size_t line_no, struct sg_err *err)
{
    struct count *c = ctx;
    const char *op = json_string_value(json_object_get(obj, "op"));

    (void)line_no;
    (void)err;
    c->lines++;
    if (op && strcmp(op, "add") == 0 && json_is_integer(json_object_get(obj, "id")))
        c->adds++;
    return SG_OK;
}

static int replay(const uint8_t *data, size_t size, size_t chunk, struct count *c, uint64_t *good,
                  uint64_t *cut)
{
    struct sg_journal_replay r;
    size_t off = 0;
    int rc = SG_OK;

    memset(c, 0, sizeof(*c));
    sg_journal_replay_init(&r, "fuzz.jsonl", on_line, c);
    while (off < size && rc == SG_OK) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = sg_journal_replay_feed(&r, (const char *)data + off, n, NULL);
        off += n;
    }
    if (rc == SG_OK)
        rc = sg_journal_replay_finish(&r, cut, NULL);
    *good = r.good;
    sg_journal_replay_cleanup(&r);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct count a, b, c;
    uint64_t good_a, cut_a, good_b, cut_b, good_c, cut_c;
    size_t chunk;
    int rc_a, rc_b;

    if (size < 1 || size > 65536)
        return 0;
    chunk = (size_t)data[0] % 17 + 1;
    data++;
    size--;
    rc_a = replay(data, size, size ? size : 1, &a, &good_a, &cut_a);
    rc_b = replay(data, size, chunk, &b, &good_b, &cut_b);
    if (rc_a != rc_b)
        __builtin_trap();
    if (rc_a != SG_OK)
        return 0;
    if (good_a != good_b || cut_a != cut_b || a.lines != b.lines || a.adds != b.adds)
        __builtin_trap();
    if (good_a + cut_a != size)
        __builtin_trap();
    if (replay(data, (size_t)good_a, chunk, &c, &good_c, &cut_c) != SG_OK || cut_c != 0 ||
        good_c != good_a || c.lines != a.lines)
        __builtin_trap();
    return 0;
}
