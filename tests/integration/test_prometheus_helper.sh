#!/usr/bin/env bash
# The test helpers themselves: backfill a series with promtool, start a real
# Prometheus 2.42 on a free loopback port and read the series back through
# /api/v1/query; start Alertmanager 0.25 on loopback.
. "$(dirname "$0")/../lib/lib.sh"

om="$SG_TEST_TMP/data.om"
cat >"$om" <<'OM'
# HELP sg_helper_total A test counter.
# TYPE sg_helper_total counter
sg_helper_total{job="helper",instance="a"} 1 1700000000
sg_helper_total{job="helper",instance="a"} 2 1700000015
sg_helper_total{job="helper",instance="a"} 3.5 1700000030
# EOF
OM
check "promtool backfills OpenMetrics into TSDB blocks" sg_prom_backfill "$om" "$SG_TEST_TMP/tsdb"
if sg_prom_start "$SG_TEST_TMP/tsdb"; then
  ok "Prometheus 2.42 starts on a free loopback port"
  v=$(curl -fsS "$PROM_URL/api/v1/status/buildinfo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["version"])')
  expect_eq "the running Prometheus is 2.42" "${v%%+*}" "2.42.0"
  got=$(curl -fsS "$PROM_URL/api/v1/query" --data-urlencode 'query=sg_helper_total' \
        --data-urlencode 'time=1700000040' |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(len(r), r[0]["metric"]["instance"], r[0]["value"][1])')
  expect_eq "the backfilled series reads back through /api/v1/query" "$got" "1 a 3.5"
else
  not_ok "Prometheus 2.42 starts on a free loopback port"
fi
if sg_am_start "http://127.0.0.1:9/unused"; then
  ok "Alertmanager 0.25 starts on loopback without a gossip port"
  st=$(curl -fsS "$AM_URL/api/v2/status" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["versionInfo"]["version"], d["cluster"]["status"])')
  expect_eq "Alertmanager is 0.25 with clustering off" "$st" "0.25.0 disabled"
else
  not_ok "Alertmanager 0.25 starts on loopback without a gossip port"
fi
sg_done
