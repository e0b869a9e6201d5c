# tests/lib/lib.sh - helpers for the integration suites (bash).
#
# Source it from a suite. It gives:
#   ok NAME / not_ok NAME [DETAIL]    TAP result lines, counted by scripts/test
#   check NAME CMD...                 run CMD, ok when it exits 0
#   sg_free_port                      a free TCP port on 127.0.0.1
#   sg_prom_backfill FILE DIR         OpenMetrics FILE -> TSDB blocks in DIR
#                                     (promtool tsdb create-blocks-from openmetrics)
#   sg_prom_start DIR [CONFIG] [ARGS...]
#                                     start Prometheus 2.42 on a free loopback
#                                     port over the TSDB in DIR; sets PROM_PORT,
#                                     PROM_URL (http://127.0.0.1:PORT) and
#                                     PROM_PID; waits until /-/ready answers
#   sg_am_start WEBHOOK_URL           start Alertmanager 0.25 on loopback with
#                                     one webhook receiver, group_wait 0s; sets
#                                     AM_PORT, AM_URL, AM_PID
#   sg_wait_http URL [SECONDS]        poll until URL answers 2xx
# Every process started here is killed by pid when the suite exits.
# STOPGATE is the binary under test (scripts/test sets it).

set -u
SG_TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sgtest.XXXXXX")
SG_PIDS=()
SG_TAP_N=0
SG_FAILED=0
STOPGATE=${STOPGATE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/_build/debug/src/stopgate}
SG_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

sg_cleanup() {
  local pid
  for pid in "${SG_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${SG_PIDS[@]}"; do
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$SG_TEST_TMP"
}
trap sg_cleanup EXIT

ok() {
  SG_TAP_N=$((SG_TAP_N + 1))
  echo "ok $SG_TAP_N - $1"
}

not_ok() {
  SG_TAP_N=$((SG_TAP_N + 1))
  SG_FAILED=$((SG_FAILED + 1))
  echo "not ok $SG_TAP_N - $1"
  if [ $# -gt 1 ]; then
    printf '%s\n' "$2" | sed 's/^/# /'
  fi
}

# check NAME CMD... : ok when CMD exits 0; its output is shown on failure.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    ok "$name"
  else
    not_ok "$name" "$out"
  fi
}

# expect_eq NAME GOT WANT
expect_eq() {
  if [ "$2" == "$3" ]; then
    ok "$1"
  else
    not_ok "$1" "got:  $2
want: $3"
  fi
}

sg_done() {
  echo "1..$SG_TAP_N"
  [ "$SG_FAILED" -eq 0 ]
}

sg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

sg_wait_http() {
  local url=$1 secs=${2:-30} i
  for i in $(seq 1 $((secs * 10))); do
    if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2
  return 1
}

# sg_wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; status 1
# when SECONDS pass first.
sg_wait_for() {
  local secs=$1 i
  shift
  for i in $(seq 1 $((secs * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# sg_audit FILE PYTHON_EXPR: print PYTHON_EXPR evaluated over the audit
# journal FILE, read as the list `a` of its records.
sg_audit() {
  python3 -c "import json,sys; a=[json.loads(l) for l in open(sys.argv[1])]; print(eval(sys.argv[2]))" \
    "$1" "$2"
}

sg_prom_backfill() {
  local file=$1 dir=$2
  mkdir -p "$dir"
  promtool tsdb create-blocks-from openmetrics "$file" "$dir" >"$SG_TEST_TMP/backfill.log" 2>&1 || {
    cat "$SG_TEST_TMP/backfill.log" >&2
    return 1
  }
}

sg_prom_start() {
  local dir=$1 config=${2:-}
  shift 2 || shift $#
  if [ -z "$config" ]; then
    config="$SG_TEST_TMP/prometheus-empty.yml"
    printf 'global:\n  scrape_interval: 15s\n' >"$config"
  fi
  PROM_PORT=$(sg_free_port)
  PROM_URL="http://127.0.0.1:$PROM_PORT"
  prometheus --config.file="$config" --storage.tsdb.path="$dir" \
    --web.listen-address="127.0.0.1:$PROM_PORT" \
    --storage.tsdb.retention.time=100y \
    --log.level=warn "$@" >"$SG_TEST_TMP/prometheus-$PROM_PORT.log" 2>&1 &
  PROM_PID=$!
  SG_PIDS+=("$PROM_PID")
  if ! sg_wait_http "$PROM_URL/-/ready" 60; then
    cat "$SG_TEST_TMP/prometheus-$PROM_PORT.log" >&2
    return 1
  fi
}

sg_am_start() {
  local webhook=$1 dir="$SG_TEST_TMP/am.$RANDOM"
  mkdir -p "$dir"
  cat >"$dir/alertmanager.yml" <<YAML
route:
  receiver: stopgate
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: stopgate
    webhook_configs:
      - url: '$webhook'
        send_resolved: true
YAML
  AM_PORT=$(sg_free_port)
  AM_URL="http://127.0.0.1:$AM_PORT"
  prometheus-alertmanager --config.file="$dir/alertmanager.yml" --storage.path="$dir" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= \
    --log.level=warn >"$dir/alertmanager.log" 2>&1 &
  AM_PID=$!
  SG_PIDS+=("$AM_PID")
  if ! sg_wait_http "$AM_URL/-/ready" 60; then
    cat "$dir/alertmanager.log" >&2
    return 1
  fi
}
