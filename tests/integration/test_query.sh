#!/usr/bin/env bash
# tests/integration/test_query.sh - `stopgate query instant|range` against a
# real Prometheus 2.42: the default output must be byte for byte what
# `promtool query instant|range` prints for the same expression (promtool
# asks the query API, stopgate evaluates over remote read), and bad input
# must give one line on stderr with the right exit status.
. "$(dirname "$0")/../lib/lib.sh"

diff_dir="$SG_SRC/tests/differential"
python3 "$diff_dir/gen.py" data "$SG_TEST_TMP/data.om" || exit 1
sg_prom_backfill "$SG_TEST_TMP/data.om" "$SG_TEST_TMP/tsdb" || exit 1
sg_prom_start "$SG_TEST_TMP/tsdb" || exit 1
read_url="$PROM_URL/api/v1/read"
t=1700003000.5

same_as_promtool() { # NAME MODE EXPR [ARGS...]
  local name=$1 mode=$2 expr=$3 want got
  shift 3
  want=$(promtool query "$mode" "$@" "$PROM_URL" "$expr" 2>&1)
  got=$("$STOPGATE" query "$mode" --response-type=streamed "$@" "$read_url" -- "$expr" 2>&1)
  expect_eq "$name" "$got" "$want"
}

same_as_promtool "instant vector" instant 'sum by (job) (rate(req_total[5m]))' --time=$t
same_as_promtool "instant vector with names" instant 'up{instance="i1"}' --time=$t
same_as_promtool "instant scalar" instant 'scalar(sum(up)) / 7' --time=$t
same_as_promtool "instant range vector" instant 'sparse{job="api"}[10m]' --time=$t
same_as_promtool "instant empty vector" instant 'up{job="nope"}' --time=$t
same_as_promtool "small and large values" instant 'sparse * 1e-3' --time=$t
same_as_promtool "range" range 'max by (instance) (temp)' --start=1700002000 --end=1700003000 --step=5m
same_as_promtool "range scalar" range 'time() / 2' --start=1700002000 --end=1700002120.5 --step=1m

# JSON is the data object of the query API (one line)
want=$(curl -s "$PROM_URL/api/v1/query" --data-urlencode 'query=count by (job) (up == 1)' \
  --data-urlencode time=$t | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["data"], separators=(",", ":"), sort_keys=True))')
got=$("$STOPGATE" query instant -o json --time=$t "$read_url" 'count by (job) (up == 1)' |
  python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), separators=(",", ":"), sort_keys=True))')
expect_eq "json data object" "$got" "$want"

# errors: one line on stderr, exit 1 (2 for usage), nothing on stdout
check_fail() { # NAME STATUS PATTERN ARGS...
  local name=$1 status=$2 pattern=$3 out err rc
  shift 3
  out=$("$STOPGATE" "$@" 2>"$SG_TEST_TMP/err")
  rc=$?
  err=$(cat "$SG_TEST_TMP/err")
  if [ "$rc" -eq "$status" ] && [ -z "$out" ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] &&
    printf '%s' "$err" | grep -q -- "$pattern"; then
    ok "$name"
  else
    not_ok "$name" "exit $rc, stdout: $out, stderr: $err"
  fi
}
check_fail "parse error names the position" 1 '<expr>:1:15: parse error' \
  query instant "$read_url" 'sum(rate(x[5m]'
check_fail "execution error in Prometheus's words" 1 'many-to-many matching not allowed' \
  query instant --time=$t "$read_url" 'up + on(job) up'
check_fail "sample limit" 1 'query processing would load too many samples' \
  query instant --time=$t --query.max-samples=10 "$read_url" 'count_over_time(req_total[10m])'
check_fail "bad time" 1 'time' query instant --time=yesterday "$read_url" 'up'
check_fail "range needs a step" 2 'required' query range --start=1 --end=2 "$read_url" 'up'
check_fail "range of a range vector" 1 'invalid expression type "range vector"' \
  query range --start=1700002000 --end=1700003000 --step=1m "$read_url" 'up[5m]'
check_fail "unreachable server" 1 'remote read' \
  query instant --timeout=2s "http://127.0.0.1:$(sg_free_port)/api/v1/read" 'up'
check_fail "unknown compat profile" 1 'unknown version' \
  query instant --promql.compat=1.0 "$read_url" 'up'

sg_done
