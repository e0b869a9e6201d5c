#!/usr/bin/env bash
# Remote read against a loopback server with canned answers (rr_server.py,
# real Prometheus 2.42 captures): every broken answer gives one clear line
# and exit 1, never a crash; retries only on 5xx and connection errors,
# inside --timeout; the headers, tenant header, bearer token (re-read on
# rotation), basic auth and TLS options reach the server; secrets never
# reach stderr. The error cases also run under the ASan build when it is
# there.
. "$(dirname "$0")/../lib/lib.sh"

CAP="$SG_SRC/tests/fuzz/corpus"
tail -c +2 "$CAP/rr_frames/prometheus_2_42_streamed" >"$SG_TEST_TMP/streamed.bin"
tail -c +2 "$CAP/rr_samples/prometheus_2_42_samples" >"$SG_TEST_TMP/samples.bin"
LOG="$SG_TEST_TMP/requests.jsonl"
: >"$LOG"
start_server() { # start_server VAR [CERT KEY CA]: port in VAR
  local port
  port=$(sg_free_port)
  python3 "$SG_SRC/tests/integration/rr_server.py" "$port" "$LOG" "$SG_TEST_TMP/streamed.bin" \
    "$SG_TEST_TMP/samples.bin" "${@:2}" >>"$SG_TEST_TMP/server.log" 2>&1 &
  SG_PIDS+=($!)
  for _ in $(seq 1 50); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$port" 2>/dev/null && break
    sleep 0.1
  done
  printf -v "$1" '%s' "$port"
}
start_server PORT
B="http://127.0.0.1:$PORT"
W=(--start=1700000000 --end=1700001000)

# run CMD...: sets OUT, ERR (stderr) and RC
run() {
  OUT=$("$@" 2>"$SG_TEST_TMP/stderr")
  RC=$?
  ERR=$(cat "$SG_TEST_TMP/stderr")
}
requests() { grep -c "\"mode\": \"$1\"" "$LOG"; }
# expect_fail NAME WANT_SUBSTRING CMD...: exit 1, one line on stderr naming WANT, empty stdout
expect_fail() {
  local name=$1 want=$2
  shift 2
  run "$@"
  if [ "$RC" -eq 1 ] && [ -z "$OUT" ] && [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] &&
    [[ $ERR == *"$want"* ]]; then
    ok "$name: $ERR"
  else
    not_ok "$name" "rc=$RC stdout=${OUT:0:200}
stderr=$ERR"
  fi
}

run "$STOPGATE" read "${W[@]}" "$B/good/api/v1/read" 'c_total'
n=$(printf '%s\n' "$OUT" | grep -c '^c_total{job="a"} ')
if [ "$RC" -eq 0 ] && [ "$n" -eq 67 ]; then ok "a good streamed answer is read ($n samples)"; else not_ok "good" "rc=$RC $ERR"; fi
run "$STOPGATE" read "${W[@]}" "$B/samples/api/v1/read" 'c_total'
n=$(printf '%s\n' "$OUT" | grep -c '^c_total{job="a"} ')
if [ "$RC" -eq 0 ] && [ "$n" -eq 67 ]; then ok "a SAMPLES answer is read whatever was asked ($n samples)"; else not_ok "samples" "rc=$RC $ERR"; fi
run "$STOPGATE" read "${W[@]}" "$B/empty/api/v1/read" 'c_total'
if [ "$RC" -eq 0 ] && [ -z "$OUT" ]; then ok "an empty streamed answer is an empty result"; else not_ok "empty" "rc=$RC $ERR"; fi
# native histogram chunks (encoding 2) next to the XOR chunks: skipped and
# counted on stderr, the float samples printed as without them
run "$STOPGATE" read "${W[@]}" "$B/good/api/v1/read" c_total
good_out=$OUT
run "$STOPGATE" read "${W[@]}" "$B/histogram/api/v1/read" c_total
if [ "$RC" -eq 0 ] && [ -n "$OUT" ] && [ "$OUT" = "$good_out" ]; then
  ok "histogram chunks: the float samples are printed ($(printf '%s\n' "$OUT" | wc -l) samples)"
else
  not_ok "histogram chunks: the float samples are printed" "rc=$RC $ERR"
fi
expect_eq "histogram chunks: the skipped count on stderr" "$ERR" \
  "stopgate: skipped 2 native histogram chunks (only float samples are read)"

# the decoded-sample cap: --max-samples (read), remote_read.max_samples, and
# a larger --query.max-samples for query; the error names the server once
# (the canned answers hold 134 samples)
for mode in good samples; do
  expect_fail "$mode: more samples than --max-samples" "response holds more than 133 samples" \
    "$STOPGATE" read "${W[@]}" --max-samples=133 "$B/$mode/api/v1/read" c_total
  expect_eq "$mode: the cap error names the server once" "$(grep -o 'remote read from' <<<"$ERR" | wc -l)" 1
  run "$STOPGATE" read "${W[@]}" --max-samples=134 "$B/$mode/api/v1/read" c_total
  expect_eq "$mode: exactly --max-samples samples are read" "$RC $(printf '%s\n' "$OUT" | wc -l)" "0 134"
done
printf 'remote_read:\n  url: %s\n  max_samples: 10\n' "$B/good/api/v1/read" >"$SG_TEST_TMP/cap.yml"
expect_fail "remote_read.max_samples caps a read" "response holds more than 10 samples" \
  "$STOPGATE" read "${W[@]}" --config.file="$SG_TEST_TMP/cap.yml" "$B/good/api/v1/read" c_total
expect_fail "--max-samples overrides remote_read.max_samples" "response holds more than 20 samples" \
  "$STOPGATE" read "${W[@]}" --config.file="$SG_TEST_TMP/cap.yml" --max-samples=20 "$B/good/api/v1/read" c_total
expect_fail "query: remote_read.max_samples caps the read" "response holds more than 10 samples" \
  "$STOPGATE" query instant --time=1700001000 --config.file="$SG_TEST_TMP/cap.yml" "$B/good/api/v1/read" c_total
expect_eq "query: the error names the server once" "$(grep -o 'remote read from' <<<"$ERR" | wc -l)" 1
run "$STOPGATE" query instant --time=1700001000 --config.file="$SG_TEST_TMP/cap.yml" --query.max-samples=134 \
  "$B/good/api/v1/read" c_total
expect_eq "query: a larger --query.max-samples raises the read's cap" "$RC" 0
expect_fail "--max-samples must be a positive integer" "--max-samples=0: want a positive integer" \
  "$STOPGATE" read "${W[@]}" --max-samples=0 "$B/good/api/v1/read" c_total

# the request itself: one POST with Prometheus's headers and ours
run "$STOPGATE" read "${W[@]}" --header='X-Scope-OrgID: caracal' --header=X-Extra:1 "$B/good/api/v1/read" c_total g
hdrs=$(tail -1 "$LOG" | python3 -c 'import json,sys; h=json.load(sys.stdin)["headers"]; print("|".join("%s=%s" % (k, h.get(k)) for k in ["Content-Encoding", "Accept-Encoding", "Content-Type", "X-Prometheus-Remote-Read-Version", "X-Scope-OrgID", "X-Extra", "Authorization", "Expect"]))')
expect_eq "headers: snappy, protobuf, version, tenant and extra headers, no Expect" "$hdrs" \
  "Content-Encoding=snappy|Accept-Encoding=snappy|Content-Type=application/x-protobuf|X-Prometheus-Remote-Read-Version=0.1.0|X-Scope-OrgID=caracal|X-Extra=1|Authorization=None|Expect=None"
ua=$(tail -1 "$LOG" | python3 -c 'import json,sys; print(json.load(sys.stdin)["headers"]["User-Agent"])')
expect_eq "User-Agent names stopgate" "${ua%%/*}" "stopgate"

# framing and content errors
expect_fail "a flipped CRC byte" "checksum mismatch" "$STOPGATE" read "${W[@]}" "$B/crc/api/v1/read" c_total
expect_fail "a truncated frame" "truncated frame" "$STOPGATE" read "${W[@]}" "$B/truncate/api/v1/read" c_total
expect_fail "a frame length of 2^62" "exceeds the frame size limit" "$STOPGATE" read "${W[@]}" "$B/huge/api/v1/read" c_total
expect_fail "a length varint over 64 bits" "overflows 64 bits" "$STOPGATE" read "${W[@]}" "$B/overflow/api/v1/read" c_total
expect_fail "a wrong Content-Type" 'unsupported content type "text/html; charset=utf-8"' "$STOPGATE" read "${W[@]}" "$B/ctype/api/v1/read" c_total

# HTTP errors: 5xx retried twice, 4xx not at all
expect_fail "500 with a text body" "server returned HTTP status 500: boom: storage failed (3 attempts)" \
  "$STOPGATE" read "${W[@]}" "$B/500/api/v1/read" c_total
expect_eq "500 is retried twice" "$(requests 500)" 3
expect_fail "400 is not retried" "server returned HTTP status 400: bad request: no matchers" \
  "$STOPGATE" read "${W[@]}" "$B/400/api/v1/read" c_total
expect_eq "400 is sent once" "$(requests 400)" 1

# time limits
t0=$(date +%s.%N)
expect_fail "a server that stalls past --timeout" "timed out after 1s" "$STOPGATE" read "${W[@]}" --timeout=1s "$B/stall/api/v1/read" c_total
t1=$(date +%s.%N)
if awk -v a="$t0" -v b="$t1" 'BEGIN{exit !(b - a < 3)}'; then ok "the timeout holds ($(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s)"; else not_ok "the timeout holds"; fi
expect_fail "a body that stalls mid-stream" "timed out after 1s" "$STOPGATE" read "${W[@]}" --timeout=1s "$B/stallbody/api/v1/read" c_total
dead=$(sg_free_port)
expect_fail "connection refused, retried" "Couldn't connect to server (3 attempts)" "$STOPGATE" read "${W[@]}" "http://127.0.0.1:$dead/api/v1/read" c_total
# the command line retries at most twice, whatever remote_read.retries.max
# says; a smaller max is kept
rcfg() { # rcfg NAME MAX
  printf 'remote_read:\n  url: %s\n  retries: { max: %s, min_backoff: 10ms, max_backoff: 20ms }\n' \
    "http://127.0.0.1:$dead/api/v1/read" "$2" >"$SG_TEST_TMP/$1.yml"
}
rcfg retries5 5
rcfg retries1 1
expect_fail "read: a config's retries max 5 still gives 2 retries" "Couldn't connect to server (3 attempts)" \
  "$STOPGATE" read "${W[@]}" --config.file="$SG_TEST_TMP/retries5.yml" "http://127.0.0.1:$dead/api/v1/read" c_total
expect_fail "query instant: a config's retries max 5 still gives 2 retries" "(3 attempts)" \
  "$STOPGATE" query instant --time=1700001000 --config.file="$SG_TEST_TMP/retries5.yml" "http://127.0.0.1:$dead/api/v1/read" c_total
expect_fail "query range: a config's retries max 5 still gives 2 retries" "(3 attempts)" \
  "$STOPGATE" query range --start=1700000000 --end=1700001000 --step=60s --config.file="$SG_TEST_TMP/retries5.yml" \
  "http://127.0.0.1:$dead/api/v1/read" c_total
expect_fail "read: a config's retries max 1 is kept" "Couldn't connect to server (2 attempts)" \
  "$STOPGATE" read "${W[@]}" --config.file="$SG_TEST_TMP/retries1.yml" "http://127.0.0.1:$dead/api/v1/read" c_total

# bearer token: read for every request, so a rotated token is used on the retry
tok="$SG_TEST_TMP/token"
echo "token-1" >"$tok"
run "$STOPGATE" read "${W[@]}" --bearer-token-file="$tok" "$B/503once/api/v1/read?rotate=$tok" c_total
auths=$(grep '"mode": "503once"' "$LOG" | python3 -c 'import json,sys; print(" ".join(json.loads(l)["headers"].get("Authorization", "-") for l in sys.stdin))')
expect_eq "503 then success: the retry succeeds" "$RC" 0
expect_eq "the bearer token file is re-read: the retry carries the rotated token" "$auths" "Bearer token-1 Bearer token-2"
expect_fail "an unreadable token file" "cannot read the bearer token file" "$STOPGATE" read "${W[@]}" \
  --bearer-token-file="$SG_TEST_TMP/nope" "$B/good/api/v1/read" c_total
echo "s3cr3t-token" >"$tok"
run "$STOPGATE" read "${W[@]}" --bearer-token-file="$tok" "http://user:hunter2@127.0.0.1:$PORT/500/api/v1/read?key=abc" c_total
if [[ $ERR != *s3cr3t* && $ERR != *hunter2* && $ERR != *key=abc* && $ERR == *xxxxx@* ]]; then
  ok "secrets stay out of errors: $ERR"
else
  not_ok "secrets stay out of errors" "$ERR"
fi

# basic auth from the config file, with the password read from its file
echo "pa55" >"$SG_TEST_TMP/pw"
cat >"$SG_TEST_TMP/basic.yml" <<YAML
remote_read:
  url: $B/good/api/v1/read
  basic_auth: { username: reader, password_file: pw }
  headers: { X-Scope-OrgID: from-config }
YAML
run "$STOPGATE" read "${W[@]}" --config.file="$SG_TEST_TMP/basic.yml" --header='X-Scope-OrgID: from-flag' "$B/good/api/v1/read" c_total
got=$(tail -1 "$LOG" | python3 -c 'import json,sys; h=json.load(sys.stdin)["headers"]; print(h.get("Authorization"), h.get("X-Scope-OrgID"))')
expect_eq "basic auth with a password file; a flag overrides the config's header" "$got" \
  "Basic $(printf 'reader:pa55' | base64) from-flag"

# TLS: a test CA, a server certificate for 127.0.0.1 and rr.test, a client certificate
pki="$SG_TEST_TMP/pki"
mkdir -p "$pki"
(
  cd "$pki" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=sg-test-ca
  openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=rr.test
  printf 'subjectAltName=IP:127.0.0.1,DNS:rr.test\n' >srv.ext
  openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile srv.ext
  openssl req -newkey rsa:2048 -nodes -keyout cli.key -out cli.csr -subj /CN=stopgate
  openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out cli.crt -days 2
) >"$SG_TEST_TMP/openssl.log" 2>&1 || not_ok "openssl makes a test CA" "$(tail -5 "$SG_TEST_TMP/openssl.log")"
start_server TPORT "$pki/srv.crt" "$pki/srv.key" "$pki/ca.crt"
T="https://127.0.0.1:$TPORT/good/api/v1/read"
tls_cfg() { # tls_cfg NAME TLS_CONFIG_FLOW_MAP
  printf 'remote_read:\n  url: %s\n  tls_config: %s\n' "$T" "$2" >"$SG_TEST_TMP/$1.yml"
}
tls_cfg full "{ ca_file: $pki/ca.crt, cert_file: $pki/cli.crt, key_file: $pki/cli.key }"
run "$STOPGATE" read "${W[@]}" --config.file="$SG_TEST_TMP/full.yml" "$T" c_total
if [ "$RC" -eq 0 ] && [ -n "$OUT" ]; then ok "TLS with the test CA and a client certificate"; else not_ok "TLS full" "$ERR"; fi
expect_fail "TLS verification is on by default" "certificate" "$STOPGATE" read "${W[@]}" "$T" c_total
run "$STOPGATE" read "${W[@]}" --tls.ca-file="$pki/ca.crt" "$T" c_total
if [ "$RC" -eq 1 ] && [ -z "$OUT" ]; then ok "--tls.ca-file alone: the server wants a client certificate: $ERR"; else not_ok "no client cert" "$RC $ERR"; fi
tls_cfg insecure "{ cert_file: $pki/cli.crt, key_file: $pki/cli.key, insecure_skip_verify: true }"
run "$STOPGATE" read "${W[@]}" --config.file="$SG_TEST_TMP/insecure.yml" "$T" c_total
if [ "$RC" -eq 0 ] && [[ $ERR == *"verification is turned off"* ]]; then ok "insecure_skip_verify works and is warned about"; else not_ok "insecure" "$RC $ERR"; fi
tls_cfg sni "{ ca_file: $pki/ca.crt, cert_file: $pki/cli.crt, key_file: $pki/cli.key, server_name: rr.test }"
run "$STOPGATE" read "${W[@]}" --config.file="$SG_TEST_TMP/sni.yml" "$T" c_total
expect_eq "server_name: verified as rr.test, connected to 127.0.0.1" "$RC" 0
tls_cfg badsni "{ ca_file: $pki/ca.crt, cert_file: $pki/cli.crt, key_file: $pki/cli.key, server_name: other.test }"
run "$STOPGATE" read "${W[@]}" --config.file="$SG_TEST_TMP/badsni.yml" "$T" c_total
expect_eq "server_name: a name the certificate lacks fails" "$RC" 1

# command-line errors: usage errors exit 2, bad values exit 1 with one line
run "$STOPGATE" read "$B/good/api/v1/read"
expect_eq "read without a selector is a usage error" "$RC" 2
run "$STOPGATE" read --no-such-flag "$B/good/api/v1/read" up
expect_eq "an unknown flag is a usage error" "$RC" 2
expect_fail "an unknown output format" 'unknown output format "yaml"' "$STOPGATE" read -o yaml "$B/good/api/v1/read" up
expect_fail "a bad time" "--start:" "$STOPGATE" read --start=yesterday "$B/good/api/v1/read" up
expect_fail "end before start" "is before start time" "$STOPGATE" read --start=2000 --end=1000 "$B/good/api/v1/read" up
expect_fail "a bad selector names the place" "selector:1:4: " "$STOPGATE" read "$B/good/api/v1/read" 'up{'
expect_fail "a bad --header" "expected NAME:VALUE" "$STOPGATE" read --header=nocolon "$B/good/api/v1/read" up
expect_fail "a reserved header" "set by the protocol" "$STOPGATE" read --header='Content-Type: x' "$B/good/api/v1/read" up
expect_fail "a bad --external-label" "expected NAME=VALUE" "$STOPGATE" read --external-label=x "$B/good/api/v1/read" up
expect_fail "a bad --response-type" 'unknown response type "fast"' "$STOPGATE" read --response-type=fast "$B/good/api/v1/read" up
expect_fail "a URL that is not http(s)" "must start with http:// or https://" "$STOPGATE" read "ftp://127.0.0.1/x" up
expect_fail "a config file that does not load" "nope.yml" "$STOPGATE" read --config.file="$SG_TEST_TMP/nope.yml" "$B/good/api/v1/read" up

# the same broken answers under ASan + UBSan: clean exits, no reports, no leaks
ASAN_BIN="${SG_BUILD_DIR:-$SG_SRC/_build}/asan/src/stopgate"
if [ -x "$ASAN_BIN" ]; then
  bad=""
  for m in good samples histogram crc truncate huge overflow ctype 500 stall stallbody; do
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 "$ASAN_BIN" read "${W[@]}" --timeout=1s \
      "$B/$m/api/v1/read" c_total >/dev/null 2>"$SG_TEST_TMP/asan.err"
    rc=$?
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$SG_TEST_TMP/asan.err" || [ "$rc" -gt 1 ]; then
      bad+="$m (rc=$rc): $(head -3 "$SG_TEST_TMP/asan.err")"$'\n'
    fi
  done
  if [ -z "$bad" ]; then ok "ASan build: every answer ends cleanly, no leak"; else not_ok "ASan build" "$bad"; fi
else
  ok "ASan build not there: skipped # SKIP"
fi
sg_done
