#!/usr/bin/env bash
# `stopgate run` end to end: a real Prometheus 2.42 scrapes a test exporter
# every second; the stand-in helm reports revisions; stopgate evaluates
# rule groups over remote read each second and acts.
#   - a new revision starts a wave; a rule trips after its `for`, the gate
#     closes (gate exits 1, HTTP 423), the audit log has the trip and the
#     rollback, the alert resolves, /metrics follows every step;
#   - kill -9 while an alert is pending: its `for` goes on from where it
#     was; kill -9 while halted: still halted, nothing journaled twice;
#   - a release whose wave lapsed only notifies; an alert already firing
#     when a wave starts closes the gate and never rolls back;
#   - an exporter that stops exporting a stop rule's series: on_no_data;
#   - Prometheus killed during a wave: on_query_errors halts the release.
. "$(dirname "$0")/../lib/lib.sh"
FAKE=$SG_SRC/tests/integration
export SG_FAKE_KUBE_DIR=$SG_TEST_TMP/kube
mkdir -p "$SG_FAKE_KUBE_DIR"
"$FAKE/fakekube" release caracal caracal --chart caracal --version 1.3.0 >/dev/null
"$FAKE/fakekube" release late late --chart late --version 1.0.0 >/dev/null

# ---- the exporter and Prometheus ----------------------------------------------------------
python3 "$FAKE/exporter.py" "$SG_TEST_TMP/exporter.port" \
  'caracal_audit_dlq_depth{queue="audit"}=0' 'caracal_replay_backlog_age_seconds=0' \
  'caracal_gateway_ready=1' 'late_gateway_ready=1' >"$SG_TEST_TMP/exporter.log" 2>&1 &
SG_PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$SG_TEST_TMP/exporter.port" ] && break; sleep 0.1; done
EXP=http://127.0.0.1:$(cat "$SG_TEST_TMP/exporter.port")
set_metric() { # set_metric "SERIES VALUE" ...
  printf '%s\n' "$@" | curl -s -o /dev/null -XPOST --data-binary @- "$EXP/set"
}
cat >"$SG_TEST_TMP/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: caracal
    static_configs: [{targets: ['${EXP#http://}']}]
YAML
sg_prom_start "$SG_TEST_TMP/prom" "$SG_TEST_TMP/prometheus.yml" || { not_ok "prometheus starts"; sg_done; exit 1; }
for _ in $(seq 1 100); do
  curl -s "$PROM_URL/api/v1/query?query=caracal_gateway_ready" | grep -q '"value"' && break
  sleep 0.1
done

# ---- stopgate -------------------------------------------------------------------------------
PORT=$(sg_free_port)
URL=http://127.0.0.1:$PORT
cat >"$SG_TEST_TMP/caracal.yaml" <<'YAML'
groups:
  - name: caracal-stop
    interval: 1s
    rules:
      - record: caracal:audit_dlq_depth:max
        expr: max(caracal_audit_dlq_depth)
      - alert: AuditDLQGrowing
        expr: caracal:audit_dlq_depth:max > 5
        for: 2s
        labels: {stop: rollback}
        annotations: {summary: "DLQ depth {{ $value }}"}
      - alert: ReplayBacklogAging
        expr: caracal_replay_backlog_age_seconds > 60
        for: 8s
        labels: {stop: pause}
      - alert: GatewayNotReady
        expr: caracal_gateway_ready == 0
        labels: {stop: pause}
YAML
cat >"$SG_TEST_TMP/late.yaml" <<'YAML'
groups:
  - name: late-stop
    interval: 1s
    rules:
      - alert: LateGatewayNotReady
        expr: late_gateway_ready == 0
        labels: {stop: rollback}
YAML
CFG=$SG_TEST_TMP/sg.yaml
cat >"$CFG" <<YAML
remote_read:
  url: $PROM_URL/api/v1/read
  timeout: 2s
  retries: {max: 0}
state_dir: $SG_TEST_TMP/state
evaluation_interval: 1s
lookback_delta: 5s
web: {listen_address: '127.0.0.1:$PORT'}
tools: {helm: '$FAKE/helm', env: [PATH, SG_FAKE_KUBE_DIR]}
releases:
  - name: caracal
    namespace: caracal
    rule_files: [caracal.yaml]
    wave_window: 5m
    revision_poll_interval: 1s
    on_query_errors: {after: 3, do: pause}
    on_no_data: {after: 3, do: pause}
    rollback: {require_schema_proof: false}
  - name: late
    namespace: late
    rule_files: [late.yaml]
    wave_window: 2s
    revision_poll_interval: 1h
    on_query_errors: {after: 0, do: notify}
    on_no_data: {after: 0, do: notify}
YAML

start_sg() {
  "$STOPGATE" run --config.file="$CFG" >>"$SG_TEST_TMP/run.log" 2>&1 &
  SG_PID=$!
  SG_PIDS+=("$SG_PID")
  sg_wait_http "$URL/-/ready" 20
}
audit() { # audit PYTHON_EXPR over the audit lines `a`
  sg_audit "$SG_TEST_TMP/state/audit.jsonl" "$1"
}
metric() { # metric LINE_PREFIX: the value of the first matching line, or "none"
  curl -s "$URL/metrics" | awk -v p="$1" 'index($0, p) == 1 { print $NF; found=1; exit } END { if (!found) print "none" }'
}
metric_is() { [ "$(metric "$1")" == "$2" ]; }
audit_has() { [ "$(audit "$1")" == "True" ]; }
gate() { "$STOPGATE" gate "${1:-caracal}" --web.url="$URL" >/dev/null 2>&1; echo $?; }

start_sg || { not_ok "stopgate starts" "$(tail -20 "$SG_TEST_TMP/run.log")"; sg_done; exit 1; }
ok "stopgate starts; ready after the first evaluation of every group"
check "rules evaluate every second" sg_wait_for 5 sh -c "[ \$(curl -s '$URL/metrics' | awk '/^stopgate_rule_evaluations_total/ {print \$2}') -ge 10 ]"
expect_eq "remote reads succeed" "$(metric 'stopgate_remote_read_requests_total{result="success"}' | awk '{print ($1 > 0)}')" 1
expect_eq "/api/v1/rules in Prometheus's shape" "$(curl -s "$URL/api/v1/rules" | python3 -c '
import json,sys; d=json.load(sys.stdin)["data"]["groups"]
print(sorted((g["name"], g["release"], [(r["type"], r["name"], r["health"]) for r in g["rules"]][0]) for g in d))')" \
  "[('caracal-stop', 'caracal', ('recording', 'caracal:audit_dlq_depth:max', 'ok')), ('late-stop', 'late', ('alerting', 'LateGatewayNotReady', 'ok'))]"
expect_eq "/api/v1/rules: every evaluated rule has its own evaluationTime and lastEvaluation" "$(curl -s "$URL/api/v1/rules" | python3 -c '
import json,sys; d=json.load(sys.stdin)["data"]["groups"]
print(all(r["evaluationTime"] > 0 and r["lastEvaluation"] > "2" and g["evaluationTime"] >= r["evaluationTime"] for g in d for r in g["rules"]))')" True
check "first revisions seen without a wave" sg_wait_for 5 sh -c "grep -c 'release revision' '$SG_TEST_TMP/run.log' | grep -q 2"
expect_eq "no wave yet" "$(metric 'stopgate_wave_active{release="caracal"}')" 0

# ---- a wave, a trip after `for`, the gate, the audit, resolution --------------------------------
"$FAKE/fakekube" release caracal caracal --chart caracal --version 1.4.0 >/dev/null
check "helm revision 2 starts a wave" sg_wait_for 5 metric_is 'stopgate_wave_active{release="caracal"}' 1
set_metric 'caracal_audit_dlq_depth{queue="audit"} 10'
check "the alert is pending first" sg_wait_for 5 metric_is 'stopgate_alerts{alertname="AuditDLQGrowing",release="caracal",state="pending"}' 1
expect_eq "pending: the gate is still open" "$(gate)" 0
check "after its for, the gate closes: stopgate gate exits 1" sg_wait_for 8 sh -c "[ \$('$STOPGATE' gate caracal --web.url='$URL' >/dev/null 2>&1; echo \$?) -eq 1 ]"
expect_eq "HTTP 423 with the reason" "$(curl -s -w ' %{http_code}' "$URL/api/v1/gate/caracal" | sed -E 's/.*"reason":"([A-Za-z]+) fired at.* ([0-9]+)$/\1 \2/')" "AuditDLQGrowing 423"
expect_eq "firing in /metrics" "$(metric 'stopgate_alerts{alertname="AuditDLQGrowing",release="caracal",state="firing"}')" 1
expect_eq "halted in /metrics" "$(metric 'stopgate_release_halted{release="caracal"}')" 1
expect_eq "the trip is journaled with query, value and revision" \
  "$(audit '[(x["alertname"], x["query"], float(x["value"]), x["revision"], x["state"]) for x in a if x["event"]=="trip" and x["release"]=="caracal"]')" \
  "[('AuditDLQGrowing', 'caracal:audit_dlq_depth:max > 5', 10.0, 2, 'firing')]"
expect_eq "it tripped no earlier than its for after becoming active" \
  "$(audit '[__import__("datetime").datetime.fromisoformat(x["ts"][:-1]).timestamp() - __import__("datetime").datetime.fromisoformat(x["active_at"][:-1]).timestamp() >= 2 for x in a if x["event"]=="trip"]')" "[True]"
expect_eq "one rollback action, journaled before its result" \
  "$(audit '[(x["event"], x.get("key")) for x in a if x.get("action")=="rollback" and x["event"] in ("action","action_result")]')" \
  "[('action', 'caracal/r2/rollback'), ('action_result', 'caracal/r2/rollback')]"
check "actions_total counts it" metric_is 'stopgate_actions_total{action="rollback",release="caracal",result="gate_only"}' 1
check "notifications are counted" sg_wait_for 2 sh -c "curl -s '$URL/metrics' | grep -q '^stopgate_notifications_total{notifier=\"log\",result=\"success\"}'"
set_metric 'caracal_audit_dlq_depth{queue="audit"} 0'
check "the alert resolves" sg_wait_for 5 audit_has 'any(x["event"]=="resolve" and x.get("alertname")=="AuditDLQGrowing" for x in a)'
expect_eq "resolved: no longer in stopgate_alerts" "$(metric 'stopgate_alerts{alertname="AuditDLQGrowing"')" none
expect_eq "resolved: the gate stays closed until a person resumes" "$(gate)" 1

# ---- kill -9 while pending: `for` goes on; kill -9 while halted: nothing twice --------------------
set_metric 'caracal_replay_backlog_age_seconds 100'
check "ReplayBacklogAging pending" sg_wait_for 5 metric_is 'stopgate_alerts{alertname="ReplayBacklogAging",release="caracal",state="pending"}' 1
active=$(curl -s "$URL/api/v1/status" | python3 -c 'import json,sys; print([p["activeAt"] for r in json.load(sys.stdin)["releases"] for p in r["pending"] if p["alertname"]=="ReplayBacklogAging"][0])')
sleep 1
kill -9 "$SG_PID"
wait "$SG_PID" 2>/dev/null
start_sg
ok "restarted after kill -9 while pending"
check "it trips" sg_wait_for 12 audit_has 'any(x["event"]=="trip" and x.get("alertname")=="ReplayBacklogAging" for x in a)'
ts() { python3 -c 'import datetime,sys; print(round(datetime.datetime.fromisoformat(sys.argv[1].rstrip("Z")).timestamp()*1000))' "$1"; }
expect_eq "its for went on from the first ActiveAt" \
  "$(ts "$(audit '[x["active_at"] for x in a if x["event"]=="trip" and x.get("alertname")=="ReplayBacklogAging"][0]')")" "$(ts "$active")"
expect_eq "the pause ran once" "$(audit 'len([x for x in a if x["event"]=="action" and x["action"]=="pause"])')" 1
kill -9 "$SG_PID"
wait "$SG_PID" 2>/dev/null
start_sg
expect_eq "after kill -9 while halted: still halted" "$(gate)" 1
sleep 3
expect_eq "no action journaled twice (one action line per key)" \
  "$(audit 'len([x["key"] for x in a if x["event"]=="action"]) == len(set(x["key"] for x in a if x["event"]=="action"))')" True
expect_eq "nothing tripped again" "$(audit 'len([x for x in a if x["event"]=="trip"])')" 2
"$STOPGATE" resume caracal --web.url="$URL" >/dev/null
expect_eq "resume: open" "$(gate)" 0
set_metric 'caracal_replay_backlog_age_seconds 0'
check "ReplayBacklogAging resolves" sg_wait_for 5 audit_has 'any(x["event"]=="resolve" and x.get("alertname")=="ReplayBacklogAging" for x in a)'

# ---- a lapsed wave only notifies; firing before a wave: halt, never roll back ---------------------
curl -s -o /dev/null -XPOST "$URL/api/v1/waves/late"
check "the late wave lapses" sg_wait_for 5 metric_is 'stopgate_wave_active{release="late"}' 0
set_metric 'late_gateway_ready 0'
check "outside the wave the alert trips" sg_wait_for 5 audit_has 'any(x["event"]=="trip" and x["release"]=="late" for x in a)'
expect_eq "outside the wave: notified, gate open, no action" \
  "$(gate late) $(audit '[x["event"] for x in a if x["release"]=="late" and x["event"] in ("trip","notify","action")]')" \
  "0 ['trip', 'notify']"
curl -s -o /dev/null -XPOST "$URL/api/v1/waves/late"
expect_eq "a wave starting while it fires closes the gate" "$(gate late)" 1
expect_eq "halted without a rollback" \
  "$(audit '[x["action"] for x in a if x["release"]=="late" and x["event"]=="action"]')" "['halt']"

# ---- an exporter that stops exporting: on_no_data ----------------------------------------------------
set_metric 'caracal_gateway_ready absent'
check "no data for a stop rule halts the release" sg_wait_for 15 sh -c "[ \$('$STOPGATE' gate caracal --web.url='$URL' >/dev/null 2>&1; echo \$?) -eq 1 ]"
expect_eq "the audit log says why" \
  "$(audit '[(x["condition"], "GatewayNotReady" in x["reason"]) for x in a if x["event"]=="error"]')" "[('no_data', True)]"
expect_eq "and runs on_no_data's pause" "$(audit 'len([x for x in a if x["event"]=="action" and x["action"]=="pause" and "/no_data/" in x["key"]])')" 1
set_metric 'caracal_gateway_ready 1'
"$STOPGATE" resume caracal --web.url="$URL" >/dev/null

# ---- Prometheus killed during the wave: on_query_errors -------------------------------------------------
kill "$PROM_PID"
check "after 3 failed evaluations the release is halted" sg_wait_for 15 sh -c "[ \$('$STOPGATE' gate caracal --web.url='$URL' >/dev/null 2>&1; echo \$?) -eq 1 ]"
expect_eq "the audit log says why" \
  "$(audit '[x["reason"].startswith("3 consecutive evaluations failed") for x in a if x["event"]=="error" and x["condition"]=="query_errors"]')" "[True]"
expect_eq "failed reads are counted" "$(metric 'stopgate_remote_read_requests_total{result="failure"}' | awk '{print ($1 >= 3)}')" 1
expect_eq "failed rule evaluations are counted" "$(metric 'stopgate_rule_evaluation_failures_total' | awk '{print ($1 >= 3)}')" 1
expect_eq "the rules show the error" "$(curl -s "$URL/api/v1/rules" | grep -c '"health":"err"')" 1

kill -TERM "$SG_PID"
wait "$SG_PID"
expect_eq "SIGTERM: exit 0" "$?" 0
sg_done
