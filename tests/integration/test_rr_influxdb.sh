#!/usr/bin/env bash
# Remote read against InfluxDB 1.6 (Debian's influxd), which only answers
# SAMPLES: data written through its Prometheus remote-write endpoint (a
# snappy-compressed WriteRequest encoded here) must come back bit for bit
# whatever response type stopgate asks for: the fallback path.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/rr_lib.sh"

if ! command -v influxd >/dev/null; then
  ok "influxd not installed # SKIP"
  sg_done
  exit 0
fi
dir="$SG_TEST_TMP/influx"
mkdir -p "$dir"
HTTP_PORT=$(sg_free_port)
RPC_PORT=$(sg_free_port)
cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$RPC_PORT"
[meta]
  dir = "$dir/meta"
  logging-enabled = false
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
  trace-logging-enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$HTTP_PORT"
  log-enabled = false
  pprof-enabled = false
[logging]
  level = "warn"
[continuous_queries]
  enabled = false
CONF
influxd run -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
SG_PIDS+=($!)
IURL="http://127.0.0.1:$HTTP_PORT"
if sg_wait_http "$IURL/ping" 60; then
  ok "InfluxDB $(influxd version | cut -d' ' -f2) starts on loopback"
else
  not_ok "InfluxDB starts" "$(tail -5 "$dir/influxd.log")"
  sg_done
  exit 1
fi
check "create a database" curl -fsS -XPOST "$IURL/query" --data-urlencode 'q=CREATE DATABASE sg'

T0=1700006400000
want="$SG_TEST_TMP/want.tsv"
python3 - "$SG_TEST_TMP/write.bin" "$want" "$T0" "$SG_SRC/tests/lib" <<'PY'
import random, struct, sys
out, want, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[4])
import pbwire
rng = random.Random(7)
series = [({"__name__": "sg_influx", "job": "api", "instance": "a"}, "counter"),
          ({"__name__": "sg_influx", "job": "api", "instance": "b"}, "gauge"),
          ({"__name__": "sg_other", "job": "db"}, "gauge")]
msgs = []
with open(want, "w") as w:
    for labels, kind in series:
        samples = []
        v = 0.0
        for i in range(240):  # 1 h at 15 s
            t = t0 + i * 15000 + (rng.randint(-2, 2) if kind == "gauge" else 0)
            v = v + rng.randint(0, 5) if kind == "counter" else rng.uniform(-1e6, 1e6)
            samples.append((t, pbwire.f64(v)))
            lab = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
            w.write("%s\t%016x\t%d\n" % (lab, struct.unpack(">Q", struct.pack(">d", v))[0], t))
        msgs.append(pbwire.timeseries(sorted(labels.items()), samples))
open(out, "wb").write(pbwire.snappy_block(pbwire.write_request(msgs)))
PY
sort -o "$want" "$want"
code=$(curl -sS -o "$SG_TEST_TMP/write.out" -w '%{http_code}' -XPOST --data-binary @"$SG_TEST_TMP/write.bin" \
  -H 'Content-Encoding: snappy' -H 'Content-Type: application/x-protobuf' "$IURL/api/v1/prom/write?db=sg")
expect_eq "remote write of 720 samples is accepted" "$code" 204

if rr_build_dump; then ok "rr_dump builds"; else not_ok "rr_dump builds"; fi
URL="$IURL/api/v1/prom/read?db=sg"
END=$((T0 + 3600 * 1000))
for rt in auto samples streamed; do
  if "$RR_DUMP" "$URL" "$rt" "$T0" "$END" '{__name__=~"sg_.+"}' >"$SG_TEST_TMP/got.$rt" \
    2>"$SG_TEST_TMP/stats.$rt"; then
    sort -o "$SG_TEST_TMP/got.$rt" "$SG_TEST_TMP/got.$rt"
    if cmp -s "$want" "$SG_TEST_TMP/got.$rt"; then
      ok "$rt: every sample comes back bit for bit ($(cat "$SG_TEST_TMP/stats.$rt"))"
    else
      not_ok "$rt: every sample comes back bit for bit" "$(diff "$want" "$SG_TEST_TMP/got.$rt" | head -6)"
    fi
    expect_eq "$rt: InfluxDB answered SAMPLES" "$(cut -d' ' -f1 "$SG_TEST_TMP/stats.$rt")" "type=samples"
  else
    not_ok "$rt: read" "$(cat "$SG_TEST_TMP/stats.$rt")"
  fi
done
# the command itself, a window with edges on samples, two selectors
out=$("$STOPGATE" read --start=$((T0 / 1000 + 15)) --end=$((T0 / 1000 + 45)) "$URL" \
  'sg_influx{instance="a"}' 'sg_other' 2>&1)
n1=$(printf '%s\n' "$out" | grep -c '^sg_influx{instance="a", job="api"} ')
n2=$(printf '%s\n' "$out" | grep -c '^sg_other{job="db"} ')
expect_eq "read: both ends of [start, end] kept, each selector's series" "$n1 $n2" "3 2"
# InfluxDB 1.x takes one query per request: the client notices and splits
"$RR_DUMP" "$URL" streamed "$T0" "$END" 'sg_influx{instance="b"}' 'sg_other' 'sg_influx{instance="a"}' \
  2>"$SG_TEST_TMP/stats.split" | sort >"$SG_TEST_TMP/got.split"
if cmp -s "$want" "$SG_TEST_TMP/got.split"; then
  ok "three selectors against a one-query server: split, every sample back ($(cat "$SG_TEST_TMP/stats.split"))"
else
  not_ok "three selectors against a one-query server" "$(cat "$SG_TEST_TMP/stats.split"; diff "$want" "$SG_TEST_TMP/got.split" | head -5)"
fi
json=$("$STOPGATE" read -o json --start=$((T0 / 1000)) --end=$((T0 / 1000 + 15)) "$URL" 'sg_influx{instance="a"}')
case $json in
'{"resultType":"matrix","result":[{"metric":{"__name__":"sg_influx","instance":"a","job":"api"},"values":[['"$((T0 / 1000))"',"'*) ok "read -o json from InfluxDB" ;;
*) not_ok "read -o json from InfluxDB" "$json" ;;
esac
sg_done
