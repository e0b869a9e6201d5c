/* tests/unit/test_rules_alert.c - the alert state machine (sg_alert_step).
 *
 * Each row is a scenario: a `for`, a `keep_firing_for`, and a list of
 * evaluations (time in seconds, whether the label set is present); after
 * each step the expected state and step result. The expectations follow
 * AlertingRule.Eval of Prometheus 2.42 (rules/alerting.go).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/rules.h"

#define P SG_ALERT_PENDING
#define F SG_ALERT_FIRING
#define I SG_ALERT_INACTIVE
#define ACT SG_ALERT_STEP_ACTIVE
#define KEEP SG_ALERT_STEP_KEEP
#define DEL SG_ALERT_STEP_DELETE

struct step {
    int64_t t_s;
    bool present;
    enum sg_alert_state state;
    enum sg_alert_step result;
    int64_t active_at_s; /* -1: unset */
};

struct scenario {
    const char *name;
    int64_t for_s, keep_s;
    struct step steps[12];
    size_t n;
};

static const struct scenario scenarios[] = {
    {"for 0 fires at once", 0, 0, {{0, true, F, ACT, 0}, {60, true, F, ACT, 0}}, 2},
    {"pending then firing after for",
     120,
     0,
     {{0, true, P, ACT, 0}, {60, true, P, ACT, 0}, {120, true, F, ACT, 0}, {180, true, F, ACT, 0}},
     4},
    {"pending alert that goes away is deleted", 300, 0, {{0, true, P, ACT, 0}, {60, false, I, DEL, 0}}, 2},
    {"firing alert resolves and is kept for 15m, then deleted",
     0,
     0,
     {{0, true, F, ACT, 0},
      {60, false, I, KEEP, 0},
      {960, false, I, KEEP, 0},
      {961, false, I, DEL, 0}},
     4},
    {"resolved alert that comes back starts anew",
     60,
     0,
     {{0, true, P, ACT, 0},
      {60, true, F, ACT, 0},
      {120, false, I, KEEP, 0},
      {180, true, P, ACT, 180},
      {240, true, F, ACT, 180}},
     5},
    {"keep_firing_for keeps a firing alert firing",
     0,
     120,
     {{0, true, F, ACT, 0},
      {60, false, F, ACT, 0},
      {120, false, F, ACT, 0},
      {180, false, I, KEEP, 0},
      {240, true, F, ACT, 240}},
     5},
    {"keep_firing_for restarts when the alert comes back",
     0,
     120,
     {{0, true, F, ACT, 0},
      {60, false, F, ACT, 0},
      {120, true, F, ACT, 0},
      {180, false, F, ACT, 0},
      {240, false, F, ACT, 0},
      {300, false, I, KEEP, 0}},
     6},
    {"keep_firing_for does not hold a pending alert",
     300,
     600,
     {{0, true, P, ACT, 0}, {60, false, I, DEL, 0}},
     2},
    {"for equal to the gap fires exactly then",
     60,
     0,
     {{0, true, P, ACT, 0}, {59, true, P, ACT, 0}, {60, true, F, ACT, 0}},
     3},
};

static void scenarios_follow_prometheus(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        const struct scenario *sc = &scenarios[i];
        struct sg_alert a;
        struct sg_alert_timing t = {sc->for_s * 1000, sc->keep_s * 1000, 0};

        memset(&a, 0, sizeof(a));
        a.state = SG_ALERT_INACTIVE;
        a.active_at_ms = a.fired_at_ms = a.resolved_at_ms = a.keep_firing_since_ms = SG_TIME_UNSET;
        for (size_t k = 0; k < sc->n; k++) {
            const struct step *s = &sc->steps[k];
            enum sg_alert_step r = sg_alert_step(&a, s->present, s->t_s * 1000, &t);
            if (r != s->result || a.state != s->state ||
                a.active_at_ms != (s->active_at_s < 0 ? SG_TIME_UNSET : s->active_at_s * 1000))
                fail_msg("%s, step %zu (t=%llds): want %s/%d active_at %lld, got %s/%d active_at "
                         "%lld",
                         sc->name, k, (long long)s->t_s, sg_alert_state_name(s->state), s->result,
                         (long long)s->active_at_s, sg_alert_state_name(a.state), r,
                         (long long)a.active_at_ms);
        }
    }
}

static void fired_and_resolved_times(void **state)
{
    struct sg_alert a;
    struct sg_alert_timing t = {60000, 0, 0};

    (void)state;
    memset(&a, 0, sizeof(a));
    a.active_at_ms = a.fired_at_ms = a.resolved_at_ms = a.keep_firing_since_ms = SG_TIME_UNSET;
    assert_int_equal(sg_alert_step(&a, true, 1000, &t), SG_ALERT_STEP_ACTIVE);
    assert_int_equal(a.fired_at_ms, SG_TIME_UNSET);
    assert_int_equal(sg_alert_step(&a, true, 61000, &t), SG_ALERT_STEP_ACTIVE);
    assert_int_equal(a.fired_at_ms, 61000);
    assert_int_equal(sg_alert_step(&a, false, 121000, &t), SG_ALERT_STEP_KEEP);
    assert_int_equal(a.resolved_at_ms, 121000);
    assert_string_equal(sg_alert_state_name(a.state), "inactive");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scenarios_follow_prometheus),
        cmocka_unit_test(fired_and_resolved_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
