#!/usr/bin/env bash
# `stopgate run` keeps secrets out of its logs: the remote-read URL carries a
# user:password and a query-string token, basic auth reads its password
# from a file, and every read fails (a loopback server answering 500, with
# a retry). The daemon log at debug level, in logfmt and in JSON, and the
# audit log name the failing URL only in its redacted form.
. "$(dirname "$0")/../lib/lib.sh"
FAKE=$SG_SRC/tests/integration
export SG_FAKE_KUBE_DIR=$SG_TEST_TMP/kube
mkdir -p "$SG_FAKE_KUBE_DIR"
"$FAKE/fakekube" release caracal caracal --chart caracal --version 1.3.0 >/dev/null

# ---- a remote-read endpoint that always answers 500 ---------------------------------------
CAP="$SG_SRC/tests/fuzz/corpus"
tail -c +2 "$CAP/rr_frames/prometheus_2_42_streamed" >"$SG_TEST_TMP/streamed.bin"
tail -c +2 "$CAP/rr_samples/prometheus_2_42_samples" >"$SG_TEST_TMP/samples.bin"
REQS=$SG_TEST_TMP/requests.jsonl
: >"$REQS"
RR_PORT=$(sg_free_port)
python3 "$FAKE/rr_server.py" "$RR_PORT" "$REQS" "$SG_TEST_TMP/streamed.bin" \
  "$SG_TEST_TMP/samples.bin" >>"$SG_TEST_TMP/server.log" 2>&1 &
SG_PIDS+=($!)
for _ in $(seq 1 50); do
  python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' \
    "$RR_PORT" 2>/dev/null && break
  sleep 0.1
done

# ---- the secrets ----------------------------------------------------------------------------
URL_PASS=urlpass-7f3a9c
QS_SECRET=qs-token-5d1e8b
FILE_PASS=filepass-2c6b4e
PW=$SG_TEST_TMP/pw
printf '%s\n' "$FILE_PASS" >"$PW"
# the same passwords as an Authorization header carries them
B64_FILE=$(printf 'reader:%s' "$FILE_PASS" | base64)
B64_URL=$(printf 'reader:%s' "$URL_PASS" | base64)
RR_URL="http://reader:$URL_PASS@127.0.0.1:$RR_PORT/500/api/v1/read?tenant_token=$QS_SECRET"

PORT=$(sg_free_port)
URL=http://127.0.0.1:$PORT
cat >"$SG_TEST_TMP/caracal.yaml" <<'YAML'
groups:
  - name: caracal-stop
    interval: 1s
    rules:
      - alert: GatewayNotReady
        expr: caracal_gateway_ready == 0
        labels: {stop: pause}
YAML
CFG=$SG_TEST_TMP/sg.yaml
write_config() { # write_config BASIC_AUTH_YAML
  cat >"$CFG" <<YAML
remote_read:
  url: '$RR_URL'
  timeout: 2s
  retries: {max: 1}
$1
state_dir: $SG_TEST_TMP/state
evaluation_interval: 1s
web: {listen_address: '127.0.0.1:$PORT'}
tools: {helm: '$FAKE/helm', env: [PATH, SG_FAKE_KUBE_DIR]}
releases:
  - name: caracal
    namespace: caracal
    rule_files: [caracal.yaml]
    wave_window: 5m
    revision_poll_interval: 1s
    on_query_errors: {after: 1, do: notify}
YAML
}

# run_sg NAME FORMAT BASIC_AUTH_YAML: run the daemon until its log shows a
# failed remote read that named the URL (or 20 s pass), then stop it
run_sg() {
  local log=$SG_TEST_TMP/$1.log pid
  write_config "$3"
  : >"$log"
  "$STOPGATE" run --config.file="$CFG" --log.level=debug --log.format="$2" >>"$log" 2>&1 &
  pid=$!
  SG_PIDS+=("$pid")
  sg_wait_for 20 grep -q "remote read from http" "$log"
  kill -TERM "$pid"
  wait "$pid"
}

# no_secrets NAME FILE: FILE holds none of the secrets
no_secrets() {
  local s
  for s in "$URL_PASS" "$QS_SECRET" "$FILE_PASS" "$B64_FILE" "$B64_URL"; do
    if grep -qF -- "$s" "$2"; then
      not_ok "$1: no secret $s" "$(grep -F -- "$s" "$2" | head -5)"
    else
      ok "$1: no secret $s"
    fi
  done
}

redacted="http://xxxxx@127.0.0.1:$RR_PORT/500/api/v1/read?xxxxx"
for fmt in logfmt json; do
  run_sg "$fmt" "$fmt" "  basic_auth: {username: reader, password_file: '$PW'}"
  log=$SG_TEST_TMP/$fmt.log
  check "$fmt: the read failed and was logged" grep -q "remote read failed" "$log"
  check "$fmt: the failing URL is logged in its redacted form" grep -qF -- "$redacted" "$log"
  no_secrets "$fmt log" "$log"
done
check "the server got the requests, with credentials" \
  python3 -c 'import json,sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert rs and all(r["mode"] == "500" for r in rs)
assert all(any(k.lower() == "authorization" and v.startswith("Basic ") for k, v in r["headers"].items()) for r in rs)' "$REQS"
check "the audit log names the failure" grep -q "remote read from" "$SG_TEST_TMP/state/audit.jsonl"
no_secrets "audit log" "$SG_TEST_TMP/state/audit.jsonl"

sg_done
