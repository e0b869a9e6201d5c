/* src/rules/alert.c - the alert state machine of one alert instance.
 *
 * Prometheus 2.42's AlertingRule.Eval (rules/alerting.go) does, at each
 * evaluation time ts:
 *
 *   1. for every label set in the result: an existing alert that is still
 *      active only gets its value and annotations updated; otherwise (new,
 *      or an inactive one kept for retention) a new alert replaces it with
 *      State = pending and ActiveAt = ts;
 *   2. for every alert held:
 *      - absent from the result: a firing alert with keep_firing_for > 0
 *        records KeepFiringSince = ts (once) and keeps firing while
 *        ts - KeepFiringSince < keep_firing_for. A pending alert is
 *        deleted; so is a resolved one whose ResolvedAt is more than the
 *        retention (15m) ago. Unless kept firing, an active alert becomes
 *        inactive with ResolvedAt = ts, and is not output;
 *      - present: KeepFiringSince is cleared;
 *      - then (present or kept firing): a pending alert whose
 *        ts - ActiveAt >= for becomes firing (FiredAt = ts), and the alert
 *        is output (ALERTS, ALERTS_FOR_STATE).
 *
 * sg_alert_step is both loops for one alert; it is pure. Note what 2.42
 * does not do: a firing alert whose `for` grew on reload stays firing.
 */
#include "stopgate/rules.h"

#define RESOLVED_RETENTION_MS (15 * 60 * 1000)

const char *sg_alert_state_name(enum sg_alert_state s)
{
    switch (s) {
    case SG_ALERT_PENDING:
        return "pending";
    case SG_ALERT_FIRING:
        return "firing";
    default:
        return "inactive";
    }
}

enum sg_alert_step sg_alert_step(struct sg_alert *a, bool present, int64_t now_ms,
                                 const struct sg_alert_timing *t)
{
    int64_t retention = t->resolved_retention_ms > 0 ? t->resolved_retention_ms
                                                     : RESOLVED_RETENTION_MS;

    if (present) {
        if (a->state == SG_ALERT_INACTIVE) {
            /* a new alert, or one resolved earlier that is back: start over */
            a->state = SG_ALERT_PENDING;
            a->active_at_ms = now_ms;
            a->fired_at_ms = SG_TIME_UNSET;
            a->resolved_at_ms = SG_TIME_UNSET;
            a->keep_firing_since_ms = SG_TIME_UNSET;
        }
        a->keep_firing_since_ms = SG_TIME_UNSET;
    } else {
        bool keep_firing = false;
        bool del;

        if (a->state == SG_ALERT_FIRING && t->keep_firing_for_ms > 0) {
            if (a->keep_firing_since_ms == SG_TIME_UNSET)
                a->keep_firing_since_ms = now_ms;
            if (now_ms - a->keep_firing_since_ms < t->keep_firing_for_ms)
                keep_firing = true;
        }
        del = a->state == SG_ALERT_PENDING ||
              (a->resolved_at_ms != SG_TIME_UNSET && now_ms - a->resolved_at_ms > retention);
        if (a->state != SG_ALERT_INACTIVE && !keep_firing) {
            a->state = SG_ALERT_INACTIVE;
            a->resolved_at_ms = now_ms;
        }
        if (del)
            return SG_ALERT_STEP_DELETE;
        if (!keep_firing)
            return SG_ALERT_STEP_KEEP;
    }
    if (a->state == SG_ALERT_PENDING && now_ms - a->active_at_ms >= t->for_ms) {
        a->state = SG_ALERT_FIRING;
        a->fired_at_ms = now_ms;
    }
    return SG_ALERT_STEP_ACTIVE;
}
