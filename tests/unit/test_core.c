/* tests/unit/test_core.c - err, buffers, arenas, strings, durations,
 * timestamps, files and log redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stopgate/base.h"
#include "stopgate/duration.h"
#include "stopgate/err.h"
#include "stopgate/fs.h"
#include "stopgate/log.h"

static void err_first_failure_sticks(void **state)
{
    struct sg_err err;

    (void)state;
    sg_err_clear(&err);
    assert_int_equal(sg_err_set(&err, SG_EPARSE, "first %d", 1), SG_EPARSE);
    assert_int_equal(sg_err_set(&err, SG_EIO, "second"), SG_EIO);
    assert_int_equal(err.code, SG_EPARSE);
    assert_string_equal(err.msg, "first 1");
    sg_err_prefix(&err, "loading %s: ", "x.yaml");
    assert_string_equal(err.msg, "loading x.yaml: first 1");
    assert_string_equal(sg_err_name(SG_ELIMIT), "SG_ELIMIT");
    assert_string_equal(sg_strerror(SG_ENOMEM), "out of memory");
    assert_int_equal(sg_err_set(NULL, SG_EIO, "ignored"), SG_EIO);
}

static void err_position_is_line_and_column(void **state)
{
    struct sg_err err;
    const char *src = "abc\ndef\n  ghi";

    (void)state;
    sg_err_clear(&err);
    sg_err_set_at(&err, SG_EPARSE, "f.yaml", sg_str_c(src), 10, 3, "bad %s", "thing");
    assert_int_equal(err.line, 3);
    assert_int_equal(err.col, 3);
    assert_string_equal(err.msg, "f.yaml:3:3: bad thing");
}

static void buf_grows_and_caps(void **state)
{
    struct sg_buf b;

    (void)state;
    sg_buf_init(&b, 10);
    assert_string_equal(sg_buf_cstr(&b), "");
    assert_int_equal(sg_buf_puts(&b, "hello"), SG_OK);
    assert_int_equal(sg_buf_appendf(&b, "%d", 1234), SG_OK);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(sg_buf_puts(&b, "xy"), SG_ELIMIT);
    assert_string_equal(b.data, "hello1234"); /* kept */
    assert_int_equal(sg_buf_appendf(&b, "%s", "zz"), SG_ELIMIT);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(sg_buf_putc(&b, '!'), SG_OK);
    assert_int_equal(b.len, 10);
    sg_buf_truncate(&b, 5);
    assert_string_equal(b.data, "hello");
    sg_buf_cleanup(&b);
}

static void buf_appendf_long(void **state)
{
    struct sg_buf b;
    char big[5000];

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sg_buf_init(&b, 1 << 20);
    assert_int_equal(sg_buf_appendf(&b, "<%s>", big), SG_OK);
    assert_int_equal(b.len, sizeof(big) + 1);
    assert_int_equal(b.data[0], '<');
    assert_int_equal(b.data[b.len - 1], '>');
    sg_buf_cleanup(&b);
}

static int released;
static void on_release(void *p)
{
    released += *(int *)p;
}

static void arena_allocates_caps_and_releases(void **state)
{
    struct sg_arena a;
    static int one = 1, ten = 10;
    char *s;
    void *big;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    s = sg_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    for (int i = 0; i < 1000; i++) {
        int *p = sg_arena_alloc(&a, sizeof(int) * 3);
        assert_non_null(p);
        assert_int_equal(((uintptr_t)p) % 16, 0);
        assert_int_equal(p[0] + p[1] + p[2], 0);
    }
    big = sg_arena_alloc(&a, 100000);
    assert_non_null(big);
    assert_null(sg_arena_alloc(&a, 2 << 20)); /* over the cap */
    assert_int_equal(sg_arena_on_release(&a, on_release, &one), SG_OK);
    assert_int_equal(sg_arena_on_release(&a, on_release, &ten), SG_OK);
    released = 0;
    sg_arena_reset(&a);
    assert_int_equal(released, 11);
    assert_non_null(sg_arena_alloc(&a, 64));
    assert_string_equal(sg_arena_printf(&a, "%s-%d", "x", 7), "x-7");
    sg_arena_cleanup(&a);
}

static void arena_grow_in_place_and_copy(void **state)
{
    struct sg_arena a;
    int *p, *q;

    (void)state;
    sg_arena_init(&a, 0);
    p = sg_arena_alloc(&a, 4 * sizeof(int));
    for (int i = 0; i < 4; i++)
        p[i] = i;
    q = sg_arena_grow(&a, p, 4 * sizeof(int), 8 * sizeof(int));
    assert_ptr_equal(p, q); /* last allocation grows in place */
    (void)sg_arena_alloc(&a, 8);
    q = sg_arena_grow(&a, p, 8 * sizeof(int), 4000 * sizeof(int));
    assert_non_null(q);
    for (int i = 0; i < 4; i++)
        assert_int_equal(q[i], i);
    sg_arena_cleanup(&a);
}

static void alloc_fault_hook(void **state)
{
    void *p;

    (void)state;
    sg_alloc_fail_at(2);
    p = sg_malloc(10);
    assert_non_null(p);
    assert_null(sg_malloc(10));
    sg_alloc_fail_at(0);
    sg_free(p);
}

static void duration_parse_table(void **state)
{
    static const struct {
        const char *in;
        int rc;
        int64_t ms;
    } rows[] = {
        {"0", SG_OK, 0},
        {"5m", SG_OK, 300000},
        {"1h30m", SG_OK, 5400000},
        {"54s321ms", SG_OK, 54321},
        {"1y", SG_OK, 365LL * 86400000},
        {"2w3d", SG_OK, 17LL * 86400000},
        {"10ms", SG_OK, 10},
        {"0s", SG_OK, 0},
        {"", SG_EPARSE, 0},
        {"1.5h", SG_EPARSE, 0},
        {"5", SG_EPARSE, 0},
        {"m", SG_EPARSE, 0},
        {"30m1h", SG_EPARSE, 0},
        {"1h1h", SG_EPARSE, 0},
        {"-5m", SG_EPARSE, 0},
        {"5M", SG_EPARSE, 0},
        {"1ms1s", SG_EPARSE, 0},
        {"999999999999y", SG_ELIMIT, 0},
    };

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(rows); i++) {
        int64_t ms = -1;
        struct sg_err err;
        int rc;
        sg_err_clear(&err);
        rc = sg_duration_parse(sg_str_c(rows[i].in), &ms, &err);
        if (rc != rows[i].rc)
            fail_msg("row %zu \"%s\": rc %d, want %d (%s)", i, rows[i].in, rc, rows[i].rc,
                     err.msg);
        if (rc == SG_OK && ms != rows[i].ms)
            fail_msg("row %zu \"%s\": %lld ms, want %lld", i, rows[i].in, (long long)ms,
                     (long long)rows[i].ms);
    }
}

static void duration_format_table(void **state)
{
    static const struct {
        int64_t ms;
        const char *out;
    } rows[] = {
        {0, "0s"},
        {300000, "5m"},
        {5400000, "1h30m"},
        {54321, "54s321ms"},
        {86400000, "1d"},
        {7 * 86400000LL, "1w"},
        {8 * 86400000LL, "8d"},
        {365 * 86400000LL, "1y"},
        {90 * 86400000LL, "90d"},
    };

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(rows); i++) {
        char buf[SG_DURATION_FMT_MAX];
        sg_duration_format(rows[i].ms, buf, sizeof(buf));
        if (strcmp(buf, rows[i].out) != 0)
            fail_msg("row %zu: %s, want %s", i, buf, rows[i].out);
    }
}

static void time_parse_table(void **state)
{
    static const struct {
        const char *in;
        int rc;
        int64_t ms;
    } rows[] = {
        {"1700000000", SG_OK, 1700000000000LL},
        {"1700000000.123", SG_OK, 1700000000123LL},
        {"1700000000.1235", SG_OK, 1700000000124LL},
        {"0", SG_OK, 0},
        {"2023-11-14T22:13:20Z", SG_OK, 1700000000000LL},
        {"2023-11-14T22:13:20.5Z", SG_OK, 1700000000500LL},
        {"2023-11-14T23:13:20+01:00", SG_OK, 1700000000000LL},
        {"2024-02-29T00:00:00Z", SG_OK, 1709164800000LL},
        {"2023-02-29T00:00:00Z", SG_EPARSE, 0},
        {"2023-11-14 22:13:20Z", SG_EPARSE, 0},
        {"yesterday", SG_EPARSE, 0},
        {"", SG_EPARSE, 0},
        {"NaN", SG_EPARSE, 0},
        {"0x10", SG_EPARSE, 0},
    };

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(rows); i++) {
        int64_t ms = -1;
        int rc = sg_time_parse(sg_str_c(rows[i].in), &ms, NULL);
        if (rc != rows[i].rc)
            fail_msg("row %zu \"%s\": rc %d, want %d", i, rows[i].in, rc, rows[i].rc);
        if (rc == SG_OK && ms != rows[i].ms)
            fail_msg("row %zu \"%s\": %lld, want %lld", i, rows[i].in, (long long)ms,
                     (long long)rows[i].ms);
    }
}

static void time_format_rfc3339(void **state)
{
    char buf[SG_RFC3339_FMT_MAX];

    (void)state;
    sg_time_format_rfc3339(1700000000123LL, buf, sizeof(buf));
    assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
    sg_time_format_rfc3339(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
}

static void fs_atomic_write_read_and_lock(void **state)
{
    char dir[] = "/tmp/sgtest.XXXXXX";
    char path[256];
    struct sg_buf b;
    struct sg_err err;
    int fd1 = -1, fd2 = -1;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.json", dir);
    assert_int_equal(sg_fs_write_atomic(path, "{\"a\":1}", 7, 0600, NULL), SG_OK);
    sg_buf_init(&b, 100);
    assert_int_equal(sg_fs_read_all(path, 100, &b, NULL), SG_OK);
    assert_string_equal(b.data, "{\"a\":1}");
    sg_buf_reset(&b);
    sg_err_clear(&err);
    assert_int_equal(sg_fs_read_all(path, 3, &b, &err), SG_ELIMIT);
    sg_err_clear(&err);
    assert_int_equal(sg_fs_read_all("/nonexistent/x", 3, &b, &err), SG_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x"));
    sg_buf_cleanup(&b);
    assert_int_equal(sg_fs_lock_dir(dir, &fd1, NULL), SG_OK);
    sg_err_clear(&err);
    assert_int_equal(sg_fs_lock_dir(dir, &fd2, &err), SG_ESTATE);
    assert_non_null(strstr(err.msg, "locked"));
    sg_fs_unlock(fd1);
    assert_int_equal(sg_fs_lock_dir(dir, &fd2, NULL), SG_OK);
    sg_fs_unlock(fd2);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock", dir);
    unlink(path);
    rmdir(dir);
}

static void fs_resolve_relative(void **state)
{
    char *p;

    (void)state;
    p = sg_fs_resolve("/etc/stopgate/config.yaml", "rules/a.yaml");
    assert_string_equal(p, "/etc/stopgate/rules/a.yaml");
    sg_free(p);
    p = sg_fs_resolve("/etc/stopgate/config.yaml", "/abs.yaml");
    assert_string_equal(p, "/abs.yaml");
    sg_free(p);
    p = sg_fs_resolve("config.yaml", "rules/a.yaml");
    assert_string_equal(p, "rules/a.yaml");
    sg_free(p);
}

static void log_redacts_urls(void **state)
{
    char out[256];

    (void)state;
    sg_log_redact_url("https://user:secret@mimir:443/prometheus/api/v1/read?token=abc", false,
                      out, sizeof(out));
    assert_string_equal(out, "https://xxxxx@mimir:443/prometheus/api/v1/read?xxxxx");
    sg_log_redact_url("https://hooks.slack.com/services/T000/B000/XXXX", true, out, sizeof(out));
    assert_string_equal(out, "https://hooks.slack.com/xxxxx");
    sg_log_redact_url("not a url", false, out, sizeof(out));
    assert_string_equal(out, "<invalid url>");
}

static void log_writes_logfmt_and_json(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    f = open_memstream(&text, &len);
    assert_non_null(f);
    sg_log_setup(SG_LOG_INFO, SG_LOG_LOGFMT, f);
    sg_log(SG_LOG_DEBUG, "hidden", NULL);
    sg_log(SG_LOG_INFO, "wave started", "release", "caracal", "note", "a b", NULL);
    sg_log_setup(SG_LOG_INFO, SG_LOG_JSON, f);
    sg_log(SG_LOG_WARN, "x", "k", "v\"q", NULL);
    sg_log_setup(SG_LOG_INFO, SG_LOG_LOGFMT, NULL);
    fclose(f);
    assert_null(strstr(text, "hidden"));
    assert_non_null(strstr(text, "level=info msg=\"wave started\" release=caracal note=\"a b\"\n"));
    assert_non_null(strstr(text, "\"level\":\"warn\",\"msg\":\"x\",\"k\":\"v\\\"q\"}\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(err_first_failure_sticks),
        cmocka_unit_test(err_position_is_line_and_column),
        cmocka_unit_test(buf_grows_and_caps),
        cmocka_unit_test(buf_appendf_long),
        cmocka_unit_test(arena_allocates_caps_and_releases),
        cmocka_unit_test(arena_grow_in_place_and_copy),
        cmocka_unit_test(alloc_fault_hook),
        cmocka_unit_test(duration_parse_table),
        cmocka_unit_test(duration_format_table),
        cmocka_unit_test(time_parse_table),
        cmocka_unit_test(time_format_rfc3339),
        cmocka_unit_test(fs_atomic_write_read_and_lock),
        cmocka_unit_test(fs_resolve_relative),
        cmocka_unit_test(log_redacts_urls),
        cmocka_unit_test(log_writes_logfmt_and_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
