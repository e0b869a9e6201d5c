/* tests/unit/test_proc.c - child processes with real children: exit codes,
 * capped output, timeouts, SIGTERM-ignoring children, grandchildren that
 * hold the pipes, spawn failures, cancel, explicit environments. Every test
 * ends with uv_loop_close() == 0. (The children here are run through
 * /bin/sh -c for brevity; stopgate itself never runs a shell.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stopgate/clock.h"
#include "stopgate/proc.h"

/* A regular file without execute permission, for "not a program" cases. */
static const char *plain_file(void)
{
    static char path[64];

    if (!path[0]) {
        int fd;
        snprintf(path, sizeof(path), "/tmp/sg-test-proc-XXXXXX");
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(fchmod(fd, 0644), 0);
        close(fd);
    }
    return path;
}

struct outcome {
    int calls;
    bool has_err;
    int code;
    char msg[SG_ERR_MSG_MAX];
    struct sg_proc_result res; /* copied; buffers stolen */
    char *out, *err;
    size_t out_len, err_len;
};

static void on_done(struct sg_proc_result *res, const struct sg_err *err, void *arg)
{
    struct outcome *o = arg;

    o->calls++;
    o->res = *res;
    o->has_err = err != NULL;
    o->code = err ? err->code : SG_OK;
    snprintf(o->msg, sizeof(o->msg), "%s", err ? err->msg : "");
    o->out = sg_buf_steal(&res->out, &o->out_len);
    o->err = sg_buf_steal(&res->err, &o->err_len);
}

static void outcome_cleanup(struct outcome *o)
{
    sg_free(o->out);
    sg_free(o->err);
}

/* Run `script` with /bin/sh -c and wait for completion. */
static void run_sh(const char *script, struct sg_proc_opts *extra, struct outcome *o)
{
    uv_loop_t loop;
    const char *argv[] = {"sh", "-c", script, NULL};
    struct sg_proc_opts opts;
    struct sg_err err;

    memset(o, 0, sizeof(*o));
    if (extra)
        opts = *extra;
    else
        memset(&opts, 0, sizeof(opts));
    opts.file = "/bin/sh";
    opts.argv = argv;
    assert_int_equal(uv_loop_init(&loop), 0);
    sg_err_clear(&err);
    assert_int_equal(sg_proc_run(&loop, &opts, on_done, o, NULL, &err), SG_OK);
    assert_int_equal(o->calls, 0); /* never from inside the call */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(o->calls, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void exit_zero_captures_both_streams(void **state)
{
    struct outcome o;

    (void)state;
    run_sh("echo hello; echo oops >&2", NULL, &o);
    assert_false(o.has_err);
    assert_true(o.res.spawned);
    assert_true(o.res.pid > 0);
    assert_int_equal(o.res.exit_status, 0);
    assert_int_equal(o.res.term_signal, 0);
    assert_string_equal(o.out, "hello\n");
    assert_string_equal(o.err, "oops\n");
    assert_false(o.res.out_truncated);
    outcome_cleanup(&o);
}

static void exit_three_is_an_error_with_status(void **state)
{
    struct outcome o;

    (void)state;
    run_sh("echo partial; exit 3", NULL, &o);
    assert_true(o.has_err);
    assert_int_equal(o.code, SG_ECHILD);
    assert_int_equal(o.res.exit_status, 3);
    assert_string_equal(o.msg, "sh: exited with status 3");
    assert_string_equal(o.out, "partial\n");
    outcome_cleanup(&o);
}

static void missing_executable_completes_through_the_callback(void **state)
{
    uv_loop_t loop;
    const char *argv[] = {"nope", NULL};
    struct sg_proc_opts opts = {.file = "/nonexistent/bin/nope", .argv = argv};
    struct outcome o;

    (void)state;
    memset(&o, 0, sizeof(o));
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(sg_proc_run(&loop, &opts, on_done, &o, NULL, NULL), SG_OK);
    assert_int_equal(o.calls, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.code, SG_ECHILD);
    assert_false(o.res.spawned);
    assert_int_equal(o.res.exit_status, -1);
    assert_string_equal(o.msg, "spawn /nonexistent/bin/nope: no such file or directory");
    assert_int_equal(uv_loop_close(&loop), 0);
    outcome_cleanup(&o);

    /* not executable */
    memset(&o, 0, sizeof(o));
    opts.file = plain_file();
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(sg_proc_run(&loop, &opts, on_done, &o, NULL, NULL), SG_OK);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(o.code, SG_ECHILD);
    assert_false(o.res.spawned);
    assert_int_equal(uv_loop_close(&loop), 0);
    outcome_cleanup(&o);
}

static void output_beyond_the_cap_is_dropped_and_flagged(void **state)
{
    struct sg_proc_opts opts = {.max_output = 1000};
    struct outcome o;

    (void)state;
    /* 300 KB on stdout, 5 KB on stderr: the child must not block on a full pipe */
    run_sh("head -c 300000 /dev/zero | tr '\\0' a; head -c 5000 /dev/zero | tr '\\0' b >&2; "
           "exit 0",
           &opts, &o);
    assert_false(o.has_err);
    assert_int_equal(o.out_len, 1000);
    assert_int_equal(o.err_len, 1000);
    assert_true(o.res.out_truncated);
    assert_true(o.res.err_truncated);
    assert_int_equal(o.out[999], 'a');
    outcome_cleanup(&o);
}

static void timeout_sends_sigterm(void **state)
{
    struct sg_proc_opts opts = {.timeout_ms = 100, .kill_grace_ms = 5000};
    struct outcome o;
    int64_t t0 = sg_clock_mono_ms();

    (void)state;
    run_sh("exec sleep 10", &opts, &o);
    assert_int_equal(o.code, SG_ETIMEDOUT);
    assert_true(o.res.timed_out);
    assert_false(o.res.killed);
    assert_int_equal(o.res.term_signal, 15);
    assert_true(sg_clock_mono_ms() - t0 < 3000);
    assert_string_equal(o.msg, "sh: timed out after 100 ms");
    outcome_cleanup(&o);
}

static void child_ignoring_sigterm_gets_sigkill(void **state)
{
    struct sg_proc_opts opts = {.timeout_ms = 100, .kill_grace_ms = 200};
    struct outcome o;
    int64_t t0 = sg_clock_mono_ms();

    (void)state;
    /* the shell ignores TERM and waits; the busy loop keeps it from exiting */
    run_sh("trap '' TERM; echo ready; while :; do :; done", &opts, &o);
    assert_int_equal(o.code, SG_ETIMEDOUT);
    assert_true(o.res.timed_out);
    assert_true(o.res.killed);
    assert_int_equal(o.res.term_signal, 9);
    assert_string_equal(o.out, "ready\n");
    assert_true(sg_clock_mono_ms() - t0 < 3000);
    assert_string_equal(o.msg, "sh: timed out after 100 ms (killed)");
    outcome_cleanup(&o);
}

static void grandchild_holding_the_pipe_is_not_waited_for(void **state)
{
    struct sg_proc_opts opts = {.drain_ms = 200};
    struct outcome o;
    int64_t t0 = sg_clock_mono_ms();

    (void)state;
    run_sh("sleep 3 & echo started", &opts, &o);
    assert_false(o.has_err);
    assert_int_equal(o.res.exit_status, 0);
    assert_string_equal(o.out, "started\n");
    assert_true(sg_clock_mono_ms() - t0 < 2000);
    outcome_cleanup(&o);
}

static void environment_is_explicit(void **state)
{
    const char *env[] = {"ONLY=this", NULL};
    struct sg_proc_opts opts = {.env = env};
    struct outcome o;

    (void)state;
    setenv("SG_TEST_LEAK", "leaked", 1);
    run_sh("echo \"$ONLY-${SG_TEST_LEAK:-none}-${HOME:-nohome}\"", &opts, &o);
    assert_string_equal(o.out, "this-none-nohome\n");
    outcome_cleanup(&o);

    /* no env at all: still nothing inherited */
    run_sh("echo \"${SG_TEST_LEAK:-none}\"", NULL, &o);
    assert_string_equal(o.out, "none\n");
    outcome_cleanup(&o);
}

static void cwd_is_applied(void **state)
{
    struct sg_proc_opts opts = {.cwd = "/"};
    struct outcome o;

    (void)state;
    run_sh("pwd", &opts, &o);
    assert_string_equal(o.out, "/\n");
    outcome_cleanup(&o);
}

static void argv_is_passed_verbatim(void **state)
{
    uv_loop_t loop;
    /* no shell: quotes, globs and $ reach the child unchanged */
    const char *argv[] = {"printf", "%s|", "a b", "*", "$HOME", "'q'", NULL};
    struct sg_proc_opts opts = {.argv = argv};
    struct outcome o;
    char *printf_path = NULL;

    (void)state;
    memset(&o, 0, sizeof(o));
    assert_int_equal(sg_proc_find_executable("printf", "/usr/bin:/bin", &printf_path, NULL), SG_OK);
    opts.file = printf_path;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(sg_proc_run(&loop, &opts, on_done, &o, NULL, NULL), SG_OK);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_string_equal(o.out, "a b|*|$HOME|'q'|");
    assert_int_equal(uv_loop_close(&loop), 0);
    outcome_cleanup(&o);
    sg_free(printf_path);
}

static void cancel_ends_in_one_callback(void **state)
{
    uv_loop_t loop;
    const char *argv[] = {"sh", "-c", "exec sleep 10", NULL};
    struct sg_proc_opts opts = {.file = "/bin/sh", .argv = argv, .kill_grace_ms = 500};
    struct sg_proc *p = NULL;
    struct outcome o;

    (void)state;
    memset(&o, 0, sizeof(o));
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(sg_proc_run(&loop, &opts, on_done, &o, &p, NULL), SG_OK);
    assert_non_null(p);
    sg_proc_cancel(p);
    sg_proc_cancel(p); /* twice is fine */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.code, SG_ECANCELED);
    assert_true(o.res.canceled);
    assert_int_equal(o.res.term_signal, 15);
    assert_int_equal(uv_loop_close(&loop), 0);
    outcome_cleanup(&o);
}

static void many_children_at_once(void **state)
{
    enum { N = 16 };
    uv_loop_t loop;
    struct outcome o[N];
    char scripts[N][32];

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    for (int i = 0; i < N; i++) {
        const char *argv[] = {"sh", "-c", scripts[i], NULL};
        struct sg_proc_opts opts = {.file = "/bin/sh", .argv = argv, .timeout_ms = 10000};
        snprintf(scripts[i], sizeof(scripts[i]), "echo %d; exit %d", i, i % 4);
        memset(&o[i], 0, sizeof(o[i]));
        assert_int_equal(sg_proc_run(&loop, &opts, on_done, &o[i], NULL, NULL), SG_OK);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < N; i++) {
        char want[16];
        snprintf(want, sizeof(want), "%d\n", i);
        assert_int_equal(o[i].calls, 1);
        assert_int_equal(o[i].res.exit_status, i % 4);
        assert_string_equal(o[i].out, want);
        outcome_cleanup(&o[i]);
    }
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void bad_options_fail_without_callback(void **state)
{
    uv_loop_t loop;
    const char *argv[] = {NULL};
    struct sg_proc_opts opts = {.file = "/bin/sh", .argv = argv};
    struct outcome o;
    struct sg_err err;

    (void)state;
    memset(&o, 0, sizeof(o));
    sg_err_clear(&err);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(sg_proc_run(&loop, &opts, on_done, &o, NULL, &err), SG_EINVAL);
    opts.argv = NULL;
    assert_int_equal(sg_proc_run(&loop, &opts, on_done, &o, NULL, NULL), SG_EINVAL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(o.calls, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void out_of_memory_before_start(void **state)
{
    uv_loop_t loop;
    const char *argv[] = {"sh", "-c", "exit 0", NULL};
    struct sg_proc_opts opts = {.file = "/bin/sh", .argv = argv};

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    for (uint64_t n = 1; n < 64; n++) {
        struct outcome o;
        int rc;
        memset(&o, 0, sizeof(o));
        sg_alloc_fail_at(n);
        rc = sg_proc_run(&loop, &opts, on_done, &o, NULL, NULL);
        sg_alloc_fail_at(0);
        uv_run(&loop, UV_RUN_DEFAULT);
        if (rc == SG_OK) {
            assert_int_equal(o.calls, 1);
            outcome_cleanup(&o);
            break;
        }
        assert_int_equal(rc, SG_ENOMEM);
        assert_int_equal(o.calls, 0);
    }
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void find_executable(void **state)
{
    char *p = NULL;
    struct sg_err err;

    (void)state;
    assert_int_equal(sg_proc_find_executable("sh", "/nonexistent:/bin:/usr/bin", &p, NULL), SG_OK);
    assert_string_equal(p, "/bin/sh");
    sg_free(p);
    assert_int_equal(sg_proc_find_executable("/bin/sh", NULL, &p, NULL), SG_OK);
    assert_string_equal(p, "/bin/sh");
    sg_free(p);
    sg_err_clear(&err);
    assert_int_equal(sg_proc_find_executable("no-such-program-x", "/bin:/usr/bin", &p, &err),
                     SG_ENOTFOUND);
    assert_string_equal(err.msg, "no-such-program-x: executable file not found in PATH");
    /* a directory or a non-executable file is not a program */
    assert_int_equal(sg_proc_find_executable("/etc", NULL, &p, NULL), SG_ENOTFOUND);
    assert_int_equal(sg_proc_find_executable(plain_file(), NULL, &p, NULL), SG_ENOTFOUND);
    assert_int_equal(sg_proc_find_executable("", NULL, &p, NULL), SG_EINVAL);
}

static void env_from_an_allow_list(void **state)
{
    struct sg_arena a;
    const char *const names[] = {"SG_T_A", "SG_T_B", "SG_T_MISSING"};
    const char *const extra[] = {"SG_T_A=override", "KUBECONFIG=/k"};
    const char *const bad[] = {"NOEQUALS"};
    const char *const *env;

    (void)state;
    setenv("SG_T_A", "a", 1);
    setenv("SG_T_B", "b=c", 1);
    unsetenv("SG_T_MISSING");
    sg_arena_init(&a, 1 << 16);
    assert_int_equal(sg_proc_env_build(names, 3, extra, 2, &a, &env, NULL), SG_OK);
    assert_string_equal(env[0], "SG_T_B=b=c");
    assert_string_equal(env[1], "SG_T_A=override");
    assert_string_equal(env[2], "KUBECONFIG=/k");
    assert_null(env[3]);
    assert_int_equal(sg_proc_env_build(names, 3, bad, 1, &a, &env, NULL), SG_EINVAL);
    assert_int_equal(sg_proc_env_build(NULL, 0, NULL, 0, &a, &env, NULL), SG_OK);
    assert_null(env[0]);
    sg_arena_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exit_zero_captures_both_streams),
        cmocka_unit_test(exit_three_is_an_error_with_status),
        cmocka_unit_test(missing_executable_completes_through_the_callback),
        cmocka_unit_test(output_beyond_the_cap_is_dropped_and_flagged),
        cmocka_unit_test(timeout_sends_sigterm),
        cmocka_unit_test(child_ignoring_sigterm_gets_sigkill),
        cmocka_unit_test(grandchild_holding_the_pipe_is_not_waited_for),
        cmocka_unit_test(environment_is_explicit),
        cmocka_unit_test(cwd_is_applied),
        cmocka_unit_test(argv_is_passed_verbatim),
        cmocka_unit_test(cancel_ends_in_one_callback),
        cmocka_unit_test(many_children_at_once),
        cmocka_unit_test(bad_options_fail_without_callback),
        cmocka_unit_test(out_of_memory_before_start),
        cmocka_unit_test(find_executable),
        cmocka_unit_test(env_from_an_allow_list),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    unlink(plain_file());
    return rc;
}
