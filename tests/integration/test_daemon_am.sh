#!/usr/bin/env bash
# Alertmanager as a source: a real Alertmanager 0.25 whose webhook receiver
# points at stopgate. An alert posted to Alertmanager (/api/v2/alerts) for
# the release reaches stopgate during a wave and trips its route; one that
# carries stopgate_origin does not; a resolved alert resolves.
. "$(dirname "$0")/../lib/lib.sh"

PORT=$(sg_free_port)
URL=http://127.0.0.1:$PORT
CFG=$SG_TEST_TMP/sg.yaml
cat >"$CFG" <<YAML
remote_read: {url: 'http://127.0.0.1:1/api/v1/read'}
state_dir: $SG_TEST_TMP/state
web: {listen_address: '127.0.0.1:$PORT'}
tools: {helm: /nonexistent/helm}
releases:
  - name: caracal
    namespace: caracal
    wave_window: 5m
    alert_match: {namespace: caracal}
    routes:
      - {match: {severity: page}, do: rollback}
      - do: notify
YAML
"$STOPGATE" run --config.file="$CFG" --log.level=debug >"$SG_TEST_TMP/run.log" 2>&1 &
SG_PID=$!
SG_PIDS+=("$SG_PID")
sg_wait_http "$URL/-/ready" 20 || { not_ok "stopgate starts" "$(cat "$SG_TEST_TMP/run.log")"; sg_done; exit 1; }
sg_am_start "$URL/api/v1/alertmanager" || { not_ok "alertmanager starts"; sg_done; exit 1; }
ok "stopgate and Alertmanager 0.25 run"

audit() {
  sg_audit "$SG_TEST_TMP/state/audit.jsonl" "$1"
}
audit_has() { [ "$(audit "$1")" == "True" ]; }
gate() { "$STOPGATE" gate caracal --web.url="$URL" >/dev/null 2>&1; echo $?; }
am_post() { # am_post LABELS_JSON [ENDS_AT]
  local ends=""
  [ -n "${2:-}" ] && ends=",\"endsAt\":\"$2\""
  curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Content-Type: application/json' \
    "$AM_URL/api/v2/alerts" -d "[{\"labels\":$1,\"annotations\":{\"summary\":\"s\"}$ends}]"
}

curl -s -o /dev/null -XPOST "$URL/api/v1/waves/caracal" -d '{"revision":3}'
expect_eq "an alert with stopgate_origin is accepted by Alertmanager" \
  "$(am_post '{"alertname":"Echo","namespace":"caracal","severity":"page","stopgate_origin":"stopgate"}')" 200
expect_eq "an alert for another namespace is accepted by Alertmanager" \
  "$(am_post '{"alertname":"Elsewhere","namespace":"other","severity":"page"}')" 200
check "stopgate receives both webhooks and ignores them" sg_wait_for 10 \
  sh -c "[ \$(grep -c 'msg=\"Alertmanager webhook\".*taken=0 ignored=1' '$SG_TEST_TMP/run.log') -eq 2 ]"
expect_eq "neither acts: the gate stays open" "$(gate)" 0
expect_eq "neither is journaled" "$(audit 'len([x for x in a if x["event"]=="trip"])')" 0

am_post '{"alertname":"AuditDLQGrowing","namespace":"caracal","severity":"page"}' >/dev/null
check "the alert reaches stopgate and closes the gate" sg_wait_for 10 sh -c "[ \$('$STOPGATE' gate caracal --web.url='$URL' >/dev/null 2>&1; echo \$?) -eq 1 ]"
expect_eq "it trips the rollback route" \
  "$(audit '[(x["event"], x["alertname"], x.get("source")) for x in a if x["event"] in ("trip","action")]')" \
  "[('trip', 'AuditDLQGrowing', 'alertmanager'), ('action', 'AuditDLQGrowing', 'alertmanager')]"
expect_eq "the action is the rollback" "$(audit '[x["action"] for x in a if x["event"]=="action"]')" "['rollback']"
expect_eq "its labels are the alert's" \
  "$(audit '[x["labels"] for x in a if x["event"]=="trip"]')" \
  "[{'alertname': 'AuditDLQGrowing', 'namespace': 'caracal', 'severity': 'page'}]"
curl -s "$URL/metrics" | grep -q '^stopgate_alerts{alertname="AuditDLQGrowing",release="caracal",state="firing"} 1$'
expect_eq "firing in /metrics" "$?" 0

# resolved: endsAt in the past; Alertmanager sends the resolved notification
am_post '{"alertname":"AuditDLQGrowing","namespace":"caracal","severity":"page"}' \
  "$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
check "a resolved alert resolves" sg_wait_for 15 audit_has 'any(x["event"]=="resolve" for x in a)'
curl -s "$URL/metrics" | grep -q '^stopgate_alerts{'
expect_eq "no alert left in /metrics" "$?" 1

# helm is missing (tools.helm names no file): said once, not again at each reload
kill -HUP "$SG_PID"
check "SIGHUP reloads" sg_wait_for 5 sh -c "[ \$(grep -c 'configuration reloaded' '$SG_TEST_TMP/run.log') -eq 1 ]"
kill -HUP "$SG_PID"
check "SIGHUP reloads again" sg_wait_for 5 sh -c "[ \$(grep -c 'configuration reloaded' '$SG_TEST_TMP/run.log') -eq 2 ]"
expect_eq "'helm not found' is logged once over two reloads" "$(grep -c 'helm not found' "$SG_TEST_TMP/run.log")" 1

kill -TERM "$SG_PID"
wait "$SG_PID"
expect_eq "SIGTERM: exit 0" "$?" 0
sg_done
