#!/usr/bin/env bash
# `stopgate run` without rules: the state-dir lock, the listen-address
# guard, waves from the stand-in helm's revisions and from POST, the gate
# and resume commands with their exit codes, bearer auth, the Alertmanager
# webhook, reload (good and bad config), skipped native histogram chunks
# counted in /metrics, SIGTERM. Rule evaluation against
# a real Prometheus is test_daemon_rules.sh.
. "$(dirname "$0")/../lib/lib.sh"
FAKE=$SG_SRC/tests/integration
export SG_FAKE_KUBE_DIR=$SG_TEST_TMP/kube
mkdir -p "$SG_FAKE_KUBE_DIR"
"$FAKE/fakekube" release caracal caracal --chart caracal --version 1.3.0 >/dev/null

PORT=$(sg_free_port)
URL=http://127.0.0.1:$PORT
TOKEN=$SG_TEST_TMP/token
echo s3cret >"$TOKEN"
CFG=$SG_TEST_TMP/sg.yaml
write_config() { # write_config EXTRA_RELEASE_YAML
  cat >"$CFG" <<YAML
remote_read: {url: 'http://127.0.0.1:1/api/v1/read'}
state_dir: $SG_TEST_TMP/state
web: {listen_address: '127.0.0.1:$PORT', token_file: '$TOKEN'}
tools: {helm: '$FAKE/helm', env: [PATH, SG_FAKE_KUBE_DIR]}
releases:
  - name: caracal
    namespace: caracal
    wave_window: 30s
    revision_poll_interval: 1s
    alert_match: {namespace: caracal}
  - name: short
    namespace: short
    wave_window: 2s
    revision_poll_interval: 1h
$1
YAML
}
write_config ""

start_sg() {
  "$STOPGATE" run --config.file="$CFG" "$@" >>"$SG_TEST_TMP/run.log" 2>&1 &
  SG_PID=$!
  SG_PIDS+=("$SG_PID")
  sg_wait_http "$URL/-/ready" 20
}
stop_sg() {
  kill -TERM "$SG_PID"
  wait "$SG_PID"
}
audit() { # audit PYTHON_EXPR over the list of audit lines `a`
  sg_audit "$SG_TEST_TMP/state/audit.jsonl" "$1"
}
gate() { "$STOPGATE" gate caracal --web.url="$URL" "$@"; }

# refusals at start
sed -i "s|, token_file: '$TOKEN'||" "$CFG"
out=$("$STOPGATE" run --config.file="$CFG" --web.listen-address=0.0.0.0:$PORT 2>&1 >/dev/null)
expect_eq "non-loopback address without a token file is refused" \
  "$?:$(printf '%s' "$out" | grep -c 'without web.token_file')" "1:1"
write_config ""
out=$("$STOPGATE" run 2>&1)
expect_eq "run without --config.file is a usage error" "$?" 2

start_sg || not_ok "daemon starts" "$(tail -20 "$SG_TEST_TMP/run.log")"
ok "daemon starts and is ready"
out=$("$STOPGATE" run --config.file="$CFG" --web.listen-address=127.0.0.1:0 2>&1)
expect_eq "a second instance on the same state dir exits 1" \
  "$?:$(printf '%s' "$out" | grep -c 'lock')" "1:1"

# the first revision seen is not a wave
sg_wait_for 5 grep -q 'release revision' "$SG_TEST_TMP/run.log"
expect_eq "first revision recorded, no wave" "$(curl -s "$URL/api/v1/status" |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["releases"][0]; print(r["revision"], r["wave"])')" "1 None"
gate >/dev/null
expect_eq "gate open: exit 0" "$?" 0
gate --web.url=http://127.0.0.1:1 2>/dev/null
expect_eq "daemon unreachable: exit 2" "$?" 2
"$STOPGATE" gate nope --web.url="$URL" 2>/dev/null
expect_eq "unknown release: exit 2" "$?" 2
"$STOPGATE" gate 2>/dev/null
expect_eq "gate without a release: exit 2" "$?" 2

# a new helm revision starts a wave
"$FAKE/fakekube" release caracal caracal --chart caracal --version 1.4.0 >/dev/null
check "a new revision starts a wave" sg_wait_for 5 sh -c "curl -s '$URL/api/v1/status' | grep -q '\"revision\":2,\"started\"'"
expect_eq "wave_start journaled with the revision" "$(audit '[(x["event"], x.get("revision")) for x in a if x["event"].startswith("wave") and x["release"]=="caracal"]')" "[('wave_start', 2)]"
curl -s "$URL/metrics" | grep -q '^stopgate_wave_active{release="caracal"} 1$'
expect_eq "stopgate_wave_active is 1 in a wave" "$?" 0

# POST needs the token
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$URL/api/v1/waves/caracal")
expect_eq "POST without the token: 401" "$code" 401
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Authorization: Bearer wrong' "$URL/api/v1/waves/caracal")
expect_eq "POST with a wrong token: 401" "$code" 401
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Authorization: Bearer s3cret' \
  -d '{"revision":2}' "$URL/api/v1/waves/caracal")
expect_eq "POST /api/v1/waves/R: 202" "$code" 202

# an Alertmanager alert for the release during the wave: the gate closes
am() { # am STATUS ALERTNAME EXTRA_LABELS STARTS
  curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Authorization: Bearer s3cret' "$URL/api/v1/alertmanager" \
    -d "{\"version\":\"4\",\"status\":\"$1\",\"receiver\":\"stopgate\",\"groupKey\":\"{}\",\"truncatedAlerts\":0,
\"groupLabels\":{},\"commonLabels\":{},\"commonAnnotations\":{},\"externalURL\":\"\",\"alerts\":[{\"status\":\"$1\",
\"labels\":{\"alertname\":\"$2\",\"namespace\":\"caracal\"$3},\"annotations\":{},\"startsAt\":\"$4\",
\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"\",\"fingerprint\":\"x\"}]}"
}
now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
expect_eq "webhook accepted" "$(am firing AuditDLQGrowing ',"stop":"pause"' "$now")" 200
gate >"$SG_TEST_TMP/gate.out"
expect_eq "halted: stopgate gate exits 1" "$?" 1
grep -q '"reason":"AuditDLQGrowing fired at' "$SG_TEST_TMP/gate.out"
expect_eq "halted: the answer names the reason" "$?" 0
expect_eq "HTTP 423 when halted" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/gate/caracal")" 423
expect_eq "the pause is journaled once, before its result" \
  "$(audit '[x["event"] for x in a if x.get("action")=="pause" and x["event"] in ("action","action_result")]')" \
  "['action', 'action_result']"
timeout 3 "$STOPGATE" gate caracal --web.url="$URL" --wait=1s >/dev/null
expect_eq "gate --wait: still halted after the wait, exit 1" "$?" 1
"$STOPGATE" resume caracal --web.url="$URL" >/dev/null 2>&1
expect_eq "resume without the token: exit 1" "$?" 1
(sleep 1.5; "$STOPGATE" resume caracal --web.url="$URL" --web.token-file="$TOKEN" >/dev/null) &
resumer=$!
gate --wait=10s >/dev/null
expect_eq "gate --wait returns 0 once a person resumes" "$?" 0
wait "$resumer"
expect_eq "resumed: exit 0" "$(gate >/dev/null; echo $?)" 0
am firing AuditDLQGrowing ',"stop":"pause"' "$now" >/dev/null
expect_eq "an acknowledged alert does not halt again" "$(gate >/dev/null; echo $?)" 0
expect_eq "alerts with stopgate_origin are ignored" \
  "$(am firing Loop ',"stop":"pause","stopgate_origin":"stopgate"' "$now" >/dev/null; gate >/dev/null; echo $?)" 0
# a wave whose window lapsed: stop conditions only notify
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Authorization: Bearer s3cret' "$URL/api/v1/waves/short")
check "the short wave ends after wave_window" sg_wait_for 6 sh -c "curl -s '$URL/metrics' | grep -q '^stopgate_wave_active{release=\"short\"} 0$'"
am firing ShortDLQ ',"stop":"rollback","stopgate_release":"short"' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" >/dev/null
expect_eq "after the wave: the gate stays open" \
  "$("$STOPGATE" gate short --web.url="$URL" >/dev/null; echo $?)" 0
expect_eq "after the wave: trip and notification journaled, no action" \
  "$(audit '[x["event"] for x in a if x["release"]=="short" and x["event"] in ("trip","notify","action")]')" \
  "['trip', 'notify']"
"$STOPGATE" resume nope --web.url="$URL" --web.token-file="$TOKEN" 2>/dev/null
expect_eq "resume of an unknown release: exit 1" "$?" 1

# reload: a bad config is refused and the old one keeps running
cp "$CFG" "$SG_TEST_TMP/good.yaml"
echo "  - {name: Bad_Name, namespace: x}" >>"$CFG"
code=$(curl -s -o "$SG_TEST_TMP/reload.out" -w '%{http_code}' -XPOST -H 'Authorization: Bearer s3cret' "$URL/-/reload")
expect_eq "POST /-/reload with a bad config: 500" "$code" 500
grep -q 'failed to reload config' "$SG_TEST_TMP/reload.out"
expect_eq "the reload error is explained" "$?" 0
kill -HUP "$SG_PID"
sleep 0.5
kill -0 "$SG_PID"
expect_eq "SIGHUP with a bad config: still running" "$?" 0
expect_eq "the old config keeps serving" "$(gate >/dev/null; echo $?)" 0
cp "$SG_TEST_TMP/good.yaml" "$CFG"
cat >>"$CFG" <<YAML
  - name: second
    namespace: second
YAML
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Authorization: Bearer s3cret' "$URL/-/reload")
expect_eq "POST /-/reload with a good config: 200" "$code" 200
expect_eq "the new release is served" "$("$STOPGATE" gate second --web.url="$URL" >/dev/null; echo $?)" 0

# a slow remote read never piles up: ticks in flight are skipped and counted
cat >"$SG_TEST_TMP/slow.yaml" <<'YAML'
groups:
  - name: slow
    interval: 200ms
    rules:
      - {alert: Never, expr: 'up == 2', labels: {stop: pause}}
YAML
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
conns = []
while True:
    c, _ = s.accept(); conns.append(c)' "$SG_TEST_TMP/hole.port" &
SG_PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$SG_TEST_TMP/hole.port" ] && break; sleep 0.1; done
cat >>"$CFG" <<YAML
  - name: slow
    namespace: slow
    rule_files: [slow.yaml]
    remote_read: {url: 'http://127.0.0.1:$(cat "$SG_TEST_TMP/hole.port")/api/v1/read', timeout: 30s, retries: {max: 0}}
YAML
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Authorization: Bearer s3cret' "$URL/-/reload")
expect_eq "reload adds a release with a rule group" "$code" 200
check "a read that hangs: later ticks are skipped and counted" sg_wait_for 5 sh -c \
  "curl -s '$URL/metrics' | awk '/^stopgate_rule_group_iterations_missed_total/ { exit !(\$2 >= 5) }'"
# the hanging read is the only one: no read finished (the counter is
# exported, with no request counted)
expect_eq "never two reads of one group at once" "$(curl -s "$URL/metrics" | awk '
  /^# TYPE stopgate_remote_read_requests_total counter$/ { typed = 1 }
  /^stopgate_remote_read_requests_total/ { n += $2 }
  END { print typed ? n + 0 : "no stopgate_remote_read_requests_total" }')" 0

# native histogram chunks in a streamed answer are skipped and counted: the
# fault server's canned answer holds 2 beside its XOR chunks
tail -c +2 "$SG_SRC/tests/fuzz/corpus/rr_frames/prometheus_2_42_streamed" >"$SG_TEST_TMP/streamed.bin"
tail -c +2 "$SG_SRC/tests/fuzz/corpus/rr_samples/prometheus_2_42_samples" >"$SG_TEST_TMP/samples.bin"
RR_PORT=$(sg_free_port)
python3 "$FAKE/rr_server.py" "$RR_PORT" "$SG_TEST_TMP/rr_requests.jsonl" "$SG_TEST_TMP/streamed.bin" \
  "$SG_TEST_TMP/samples.bin" >"$SG_TEST_TMP/rr_server.log" 2>&1 &
SG_PIDS+=($!)
sg_wait_for 5 python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$RR_PORT"
cat >"$SG_TEST_TMP/hist.yaml" <<'YAML'
groups:
  - name: hist
    interval: 200ms
    rules:
      - {alert: Never, expr: 'c_total < 0', labels: {stop: pause}}
YAML
cat >>"$CFG" <<YAML
  - name: hist
    namespace: hist
    rule_files: [hist.yaml]
    remote_read: {url: 'http://127.0.0.1:$RR_PORT/histogram/api/v1/read'}
YAML
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Authorization: Bearer s3cret' "$URL/-/reload")
expect_eq "reload adds a release read from a server with histogram chunks" "$code" 200
check "skipped histogram chunks are counted in stopgate_remote_read_skipped_chunks_total" sg_wait_for 5 sh -c \
  "curl -s '$URL/metrics' | awk '/^stopgate_remote_read_skipped_chunks_total / { v = \$2 } END { exit !(v >= 2 && v % 2 == 0) }'"

# SIGTERM: clean exit 0
stop_sg
expect_eq "SIGTERM: exit 0" "$?" 0
grep 'level=error' "$SG_TEST_TMP/run.log" | grep -vq 'reload rejected'
expect_eq "no error in the log but the rejected reloads" "$?" 1
grep -q 's3cret' "$SG_TEST_TMP/run.log"
expect_eq "the token never reaches the log" "$?" 1

# a journal that cannot be written: stop acting, exit 1 (the file size
# limit makes the audit append fail; logs go through a pipe, not a file)
PORT2=$(sg_free_port)
sed -e "s|$SG_TEST_TMP/state|$SG_TEST_TMP/state2|" -e "s|127.0.0.1:$PORT|127.0.0.1:$PORT2|" \
  "$SG_TEST_TMP/good.yaml" >"$SG_TEST_TMP/full.yaml"
(trap '' XFSZ; ulimit -f 2; exec "$STOPGATE" run --config.file="$SG_TEST_TMP/full.yaml" --log.format=json) \
  2> >(cat >"$SG_TEST_TMP/full.log") &
FULL_PID=$!
SG_PIDS+=("$FULL_PID")
sg_wait_http "http://127.0.0.1:$PORT2/-/ready" 20
curl -s -o /dev/null -XPOST -H 'Authorization: Bearer s3cret' "http://127.0.0.1:$PORT2/api/v1/waves/caracal"
for i in $(seq 1 40); do
  kill -0 "$FULL_PID" 2>/dev/null || break
  URL=http://127.0.0.1:$PORT2 am firing "Full$i" ',"stop":"pause"' "$now" >/dev/null
done
wait "$FULL_PID"
expect_eq "journal full: run exits 1" "$?" 1
sleep 0.2
grep -q '"msg":"cannot record decisions any more; stopping"' "$SG_TEST_TMP/full.log"
expect_eq "the log (JSON) says why" "$?" 0
expect_eq "every action journaled had its key written first; none ran unjournaled" \
  "$(python3 -c "import json; a=[json.loads(l) for l in open('$SG_TEST_TMP/state2/audit.jsonl')]
keys=[x['key'] for x in a if x['event']=='action']
print(all(x['key'] in keys for x in a if x['event']=='action_result'))")" True
sg_done
