/* tests/unit/test_action.c - the actuator interface through the gate-only
 * actuator: results for pause, rollback and resume (dry run or not), the
 * contract of action.h (the callback runs exactly once, later, from the
 * loop; never when starting failed), busy/cancel_all, out of memory, and
 * sg_actuator_free. Every test ends with uv_loop_close() == 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/action.h"

struct outcome {
    int calls;
    bool has_err;
    char result[32];
    char detail[256];
    bool has_argv;
    bool has_exit_status;
    bool has_output;
};

static void on_done(const struct sg_action_result *res, const struct sg_err *err, void *arg)
{
    struct outcome *o = arg;

    o->calls++;
    o->has_err = err != NULL;
    assert_non_null(res);
    snprintf(o->result, sizeof(o->result), "%s", res->result ? res->result : "");
    snprintf(o->detail, sizeof(o->detail), "%s", res->detail ? res->detail : "");
    o->has_argv = res->argv != NULL;
    o->has_exit_status = res->has_exit_status;
    o->has_output = res->output != NULL;
}

static const struct sg_release_config release = {0};

static struct sg_action_req req_of(enum sg_action_kind kind, bool dry_run)
{
    struct sg_action_req req = {0};

    req.kind = kind;
    req.release = &release;
    req.revision = 7;
    req.key = "caracal/7/pause";
    req.reason = "error ratio above 5%";
    req.dry_run = dry_run;
    return req;
}

static void new_actuator(uv_loop_t *loop, struct sg_actuator *a)
{
    struct sg_err err;

    sg_err_clear(&err);
    assert_int_equal(uv_loop_init(loop), 0);
    assert_int_equal(sg_actuator_gate_only_new(loop, a, &err), SG_OK);
    assert_int_equal(err.code, SG_OK);
}

static void finish(uv_loop_t *loop, struct sg_actuator *a)
{
    uv_run(loop, UV_RUN_DEFAULT);
    assert_false(a->ops->busy(a->impl));
    sg_actuator_free(a);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void gate_only_ops_complete(void **state)
{
    uv_loop_t loop;
    struct sg_actuator a;

    (void)state;
    new_actuator(&loop, &a);
    assert_non_null(a.ops);
    assert_non_null(a.impl);
    assert_string_equal(a.ops->name, "gate_only");
    assert_non_null(a.ops->run);
    assert_non_null(a.ops->resume);
    assert_non_null(a.ops->cancel_all);
    assert_non_null(a.ops->busy);
    assert_non_null(a.ops->free);
    assert_false(a.ops->busy(a.impl));
    finish(&loop, &a);
}

/* run: result "gate_only" ("dry_run" in a dry run) for pause and
 * rollback; no command, no exit status, no output, no error; the callback
 * only once the loop runs, and busy() until then. */
static void gate_only_run_results(void **state)
{
    static const struct {
        enum sg_action_kind kind;
        bool dry_run;
        const char *result;
    } rows[] = {
        {SG_ACTION_PAUSE, false, "gate_only"},
        {SG_ACTION_PAUSE, true, "dry_run"},
        {SG_ACTION_ROLLBACK, false, "gate_only"},
        {SG_ACTION_ROLLBACK, true, "dry_run"},
    };

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(rows); i++) {
        uv_loop_t loop;
        struct sg_actuator a;
        struct outcome o = {0};
        struct sg_action_req req = req_of(rows[i].kind, rows[i].dry_run);
        struct sg_err err;

        new_actuator(&loop, &a);
        sg_err_clear(&err);
        assert_int_equal(a.ops->run(a.impl, &req, on_done, &o, &err), SG_OK);
        assert_int_equal(err.code, SG_OK);
        assert_int_equal(o.calls, 0); /* never from inside the call */
        assert_true(a.ops->busy(a.impl));
        uv_run(&loop, UV_RUN_DEFAULT);
        assert_int_equal(o.calls, 1);
        assert_false(o.has_err);
        assert_string_equal(o.result, rows[i].result);
        assert_true(strlen(o.detail) > 0);
        assert_null(strchr(o.detail, '\n')); /* one line */
        assert_false(o.has_argv);
        assert_false(o.has_exit_status);
        assert_false(o.has_output);
        finish(&loop, &a);
        assert_int_equal(o.calls, 1);
    }
}

static void gate_only_resume_results(void **state)
{
    (void)state;
    for (int dry = 0; dry <= 1; dry++) {
        uv_loop_t loop;
        struct sg_actuator a;
        struct outcome o = {0};
        struct sg_err err;

        new_actuator(&loop, &a);
        sg_err_clear(&err);
        assert_int_equal(a.ops->resume(a.impl, &release, dry != 0, on_done, &o, &err), SG_OK);
        assert_int_equal(o.calls, 0);
        assert_true(a.ops->busy(a.impl));
        uv_run(&loop, UV_RUN_DEFAULT);
        assert_int_equal(o.calls, 1);
        assert_false(o.has_err);
        assert_string_equal(o.result, dry ? "dry_run" : "gate_only");
        finish(&loop, &a);
    }
}

/* Several jobs at once: each callback gets its own arg, once; busy() holds
 * until the last one has run. */
static void gate_only_several_pending(void **state)
{
    uv_loop_t loop;
    struct sg_actuator a;
    struct outcome o[4] = {{0}};
    struct sg_action_req pause = req_of(SG_ACTION_PAUSE, false);
    struct sg_action_req rollback = req_of(SG_ACTION_ROLLBACK, true);
    struct sg_err err;

    (void)state;
    new_actuator(&loop, &a);
    sg_err_clear(&err);
    assert_int_equal(a.ops->run(a.impl, &pause, on_done, &o[0], &err), SG_OK);
    assert_int_equal(a.ops->run(a.impl, &rollback, on_done, &o[1], &err), SG_OK);
    assert_int_equal(a.ops->resume(a.impl, &release, false, on_done, &o[2], &err), SG_OK);
    assert_int_equal(a.ops->resume(a.impl, &release, true, on_done, &o[3], &err), SG_OK);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(o[i].calls, 0);
    assert_true(a.ops->busy(a.impl));
    uv_run(&loop, UV_RUN_DEFAULT);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(o[i].calls, 1);
        assert_false(o[i].has_err);
    }
    assert_string_equal(o[0].result, "gate_only");
    assert_string_equal(o[1].result, "dry_run");
    assert_string_equal(o[2].result, "gate_only");
    assert_string_equal(o[3].result, "dry_run");
    finish(&loop, &a);
}

/* cancel_all: every pending callback still runs (exactly once) and the
 * actuator can then be freed with the loop closing cleanly. */
static void gate_only_cancel_all(void **state)
{
    uv_loop_t loop;
    struct sg_actuator a;
    struct outcome o[2] = {{0}};
    struct sg_action_req req = req_of(SG_ACTION_PAUSE, false);
    struct sg_err err;

    (void)state;
    new_actuator(&loop, &a);
    a.ops->cancel_all(a.impl); /* nothing pending: harmless */
    sg_err_clear(&err);
    assert_int_equal(a.ops->run(a.impl, &req, on_done, &o[0], &err), SG_OK);
    assert_int_equal(a.ops->resume(a.impl, &release, false, on_done, &o[1], &err), SG_OK);
    a.ops->cancel_all(a.impl);
    assert_int_equal(o[0].calls, 0); /* not from inside cancel_all either */
    assert_int_equal(o[1].calls, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(o[0].calls, 1);
    assert_int_equal(o[1].calls, 1);
    finish(&loop, &a);
}

/* Out of memory: creating fails with SG_ENOMEM and a message; a run that
 * cannot start returns SG_ENOMEM and its callback never runs. */
static void gate_only_out_of_memory(void **state)
{
    uv_loop_t loop;
    struct sg_actuator a = {0};
    struct outcome o = {0};
    struct sg_action_req req = req_of(SG_ACTION_PAUSE, false);
    struct sg_err err;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    sg_err_clear(&err);
    sg_alloc_fail_at(1);
    assert_int_equal(sg_actuator_gate_only_new(&loop, &a, &err), SG_ENOMEM);
    sg_alloc_fail_at(0);
    assert_int_equal(err.code, SG_ENOMEM);
    assert_string_equal(err.msg, "action: out of memory");
    assert_null(a.ops);
    assert_null(a.impl);
    assert_int_equal(uv_loop_close(&loop), 0);

    new_actuator(&loop, &a);
    for (int which = 0; which < 2; which++) {
        sg_err_clear(&err);
        sg_alloc_fail_at(1);
        if (which == 0)
            assert_int_equal(a.ops->run(a.impl, &req, on_done, &o, &err), SG_ENOMEM);
        else
            assert_int_equal(a.ops->resume(a.impl, &release, false, on_done, &o, &err), SG_ENOMEM);
        sg_alloc_fail_at(0);
        assert_int_equal(err.code, SG_ENOMEM);
        assert_string_equal(err.msg, "action: out of memory");
        assert_false(a.ops->busy(a.impl));
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(o.calls, 0);

    /* and it still works afterwards */
    sg_err_clear(&err);
    assert_int_equal(a.ops->run(a.impl, &req, on_done, &o, &err), SG_OK);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(o.calls, 1);
    assert_string_equal(o.result, "gate_only");
    finish(&loop, &a);
}

/* A NULL err is allowed (err.h): the code is still returned. */
static void gate_only_null_err(void **state)
{
    uv_loop_t loop;
    struct sg_actuator a = {0};

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    sg_alloc_fail_at(1);
    assert_int_equal(sg_actuator_gate_only_new(&loop, &a, NULL), SG_ENOMEM);
    sg_alloc_fail_at(0);
    assert_int_equal(sg_actuator_gate_only_new(&loop, &a, NULL), SG_OK);
    finish(&loop, &a);
}

/* sg_actuator_free: NULL and a zeroed actuator are no-ops; freeing zeroes
 * the actuator, so a second free is harmless. */
static void actuator_free(void **state)
{
    uv_loop_t loop;
    struct sg_actuator a = {0};

    (void)state;
    sg_actuator_free(NULL);
    sg_actuator_free(&a);
    assert_null(a.ops);
    new_actuator(&loop, &a);
    sg_actuator_free(&a);
    assert_null(a.ops);
    assert_null(a.impl);
    sg_actuator_free(&a);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gate_only_ops_complete),
        cmocka_unit_test(gate_only_run_results),
        cmocka_unit_test(gate_only_resume_results),
        cmocka_unit_test(gate_only_several_pending),
        cmocka_unit_test(gate_only_cancel_all),
        cmocka_unit_test(gate_only_out_of_memory),
        cmocka_unit_test(gate_only_null_err),
        cmocka_unit_test(actuator_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
