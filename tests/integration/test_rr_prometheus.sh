#!/usr/bin/env bash
# Remote read against a real Prometheus 2.42 over backfilled data: counters,
# gauges with full-precision values and millisecond timestamps, NaN and
# infinities, a long series over several chunks and several 2 h blocks.
# Every sample read back with each response type must carry exactly the bits
# and timestamp that were written; windows whose edges sit on samples keep
# both ends; `read -o json` must equal Prometheus's own /api/v1/query matrix
# for the same range; text output, multi-selector merging, --write-request.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/rr_lib.sh"

T0=1700006400000 # aligned to promtool's 2 h blocks
om="$SG_TEST_TMP/data.om"
want="$SG_TEST_TMP/want.tsv"
python3 - "$om" "$want" "$T0" <<'PY'
import random, struct, sys
om, want, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(42)
GO_NAN = 0x7ff8000000000001  # what Go's ParseFloat("NaN") returns
def bits(s):
    if s == "NaN":
        return GO_NAN
    return struct.unpack(">Q", struct.pack(">d", float(s.replace("+Inf", "inf").replace("-Inf", "-inf"))))[0]
def ts(ms):
    return "%d.%03d1" % divmod(ms, 1000)
fams = []  # (name, type, [(labels, [(ms, value string)])])
# a counter over 7 h (4 blocks, 14 chunks), integer steps
c = []; v = 0
for i in range(7 * 240):
    v += rng.randint(0, 9); c.append((t0 + i * 15000, "%d" % v))
c2 = [(t, "%d" % (int(x) * 2)) for t, x in c[:480]]
fams.append(("sg_requests", "counter", [('job="api",instance="a"', c), ('job="api",instance="b"', c2)]))
# a gauge: random walk with full precision and +-2 ms jitter over 5 h
g = []; v = 100.0
for i in range(5 * 240):
    v += rng.uniform(-10, 10)
    g.append((t0 + i * 15000 + rng.randint(-2, 2), repr(v)))
specials = ["0", "-0", "5e-324", "1.7976931348623157e+308", "1e-07", "123456789012345680000",
            "NaN", "+Inf", "-Inf", "0.1", "-2.5"]
s = [(t0 + 3600000 + i * 15000, specials[i % len(specials)]) for i in range(120)]
fams.append(("sg_queue_depth", "gauge", [('job="worker"', g), ('job="special"', s)]))
with open(om, "w") as f, open(want, "w") as w:
    for name, typ, series in fams:
        f.write("# TYPE %s %s\n" % (name, typ))
        suffix = "_total" if typ == "counter" else ""
        for labels, points in series:
            for ms, val in points:
                f.write("%s%s{%s} %s %s\n" % (name, suffix, labels, val, ts(ms)))
                lab = ",".join(['__name__="%s%s"' % (name, suffix)] + sorted(labels.split(",")))
                w.write("%s\t%016x\t%d\n" % (lab, bits(val), ms))
    f.write("# EOF\n")
PY
sort -o "$want" "$want"

check "promtool backfills the data (several blocks)" sg_prom_backfill "$om" "$SG_TEST_TMP/tsdb"
nblocks=$(find "$SG_TEST_TMP/tsdb" -name meta.json | wc -l)
if [ "$nblocks" -ge 4 ]; then ok "the data spans $nblocks blocks"; else not_ok "blocks" "$nblocks"; fi
if ! sg_prom_start "$SG_TEST_TMP/tsdb"; then
  not_ok "Prometheus starts"
  sg_done
  exit 1
fi
URL="$PROM_URL/api/v1/read"
if rr_build_dump; then ok "rr_dump builds against the library under test"; else not_ok "rr_dump builds"; fi

END=$((T0 + 7 * 3600 * 1000))
# Prometheus's SAMPLES encoder leaves a value of zero off the wire (proto3
# default), so -0 comes back as +0 in that response type only
sed 's/\t8000000000000000\t/\t0000000000000000\t/' "$want" | sort >"$want.samples"
cp "$want" "$want.streamed"
cp "$want" "$want.auto"
for rt in samples streamed auto; do
  if "$RR_DUMP" "$URL" "$rt" "$T0" "$END" '{__name__=~"sg_.+"}' >"$SG_TEST_TMP/got.$rt" \
    2>"$SG_TEST_TMP/stats.$rt"; then
    sort -o "$SG_TEST_TMP/got.$rt" "$SG_TEST_TMP/got.$rt"
    if cmp -s "$want.$rt" "$SG_TEST_TMP/got.$rt"; then
      ok "$rt: every sample comes back bit for bit ($(wc -l <"$want") samples, $(cat "$SG_TEST_TMP/stats.$rt"))"
    else
      not_ok "$rt: every sample comes back bit for bit" "$(diff "$want.$rt" "$SG_TEST_TMP/got.$rt" | head -8)"
    fi
  else
    not_ok "$rt: read all series" "$(cat "$SG_TEST_TMP/stats.$rt")"
  fi
done
expect_eq "samples: the server answered SAMPLES" "$(cut -d' ' -f1 "$SG_TEST_TMP/stats.samples")" "type=samples"
expect_eq "streamed: the server answered streamed chunks" "$(cut -d' ' -f1 "$SG_TEST_TMP/stats.streamed")" "type=streamed"
expect_eq "auto over 7 h asks for streamed chunks" "$(cut -d' ' -f1 "$SG_TEST_TMP/stats.auto")" "type=streamed"

# windows whose edges sit exactly on samples: both ends are kept
S=$((T0 + 2 * 3600 * 1000 - 15000)) # the last sample of the first block
E=$((T0 + 4 * 3600 * 1000 + 15000)) # the second sample of the third block
want_edge=$(awk -F'\t' -v s="$S" -v e="$E" '$1 ~ /instance="a"/ && $3 >= s && $3 <= e' "$want" | sort)
for rt in samples streamed; do
  got=$("$RR_DUMP" "$URL" "$rt" "$S" "$E" 'sg_requests_total{instance="a"}' 2>/dev/null | sort)
  if [ "$got" == "$want_edge" ] && [ -n "$got" ]; then
    ok "$rt: [start, end] on sample timestamps keeps both ends ($(printf '%s\n' "$got" | wc -l) samples)"
  else
    not_ok "$rt: [start, end] on sample timestamps keeps both ends" "$(diff <(echo "$want_edge") <(echo "$got") | head -5)"
  fi
  # one millisecond inside on each side drops both edge samples
  n=$("$RR_DUMP" "$URL" "$rt" $((S + 1)) $((E - 1)) 'sg_requests_total{instance="a"}' 2>/dev/null | wc -l)
  expect_eq "$rt: one ms inside the edges drops them" "$n" "$(($(printf '%s\n' "$want_edge" | wc -l) - 2))"
done

# -o json equals Prometheus's own matrix for the same range vector; with two
# selectors the result is merged and then printed, with one a streamed
# answer is printed while it arrives
T=$((T0 + 3600 * 1000 + 30 * 60 * 1000)) # 1.5 h in: the special values are there
R=$((45 * 60 * 1000))
ts() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
for rt in samples streamed streamed-one-selector; do
  if [ $rt = streamed-one-selector ]; then
    got=$("$STOPGATE" read -o json --response-type=streamed --start="$(ts $((T - R)))" --end="$(ts $T)" \
      "$URL" '{__name__=~"sg_queue_depth|sg_requests_total",instance!="c"}' 2>&1)
  else
    got=$("$STOPGATE" read -o json --response-type=$rt --start="$(ts $((T - R)))" --end="$(ts $T)" "$URL" \
      'sg_queue_depth' 'sg_requests_total{instance=~"a|b"}' 2>&1)
  fi
  prom=$(curl -fsS "$PROM_URL/api/v1/query" --data-urlencode 'query={__name__=~"sg_queue_depth|sg_requests_total"}['"$R"'ms]' \
    --data-urlencode "time=$(ts $T)" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["data"], separators=(",", ":")))')
  [ $rt = samples ] && prom=${prom//\"-0\"]/\"0\"]} # SAMPLES drops the sign of -0 (see above)
  if [ "$got" == "$prom" ]; then
    ok "$rt: read -o json equals /api/v1/query's matrix (NaN, Inf, -0, 5e-324, jittered timestamps)"
  else
    not_ok "$rt: read -o json equals /api/v1/query's matrix" "$(diff <(echo "$got" | tr '{' '\n') <(echo "$prom" | tr '{' '\n') | head -10)"
  fi
done

# text output: one line per sample, values as Prometheus writes them
txt=$("$STOPGATE" read --response-type=streamed --start="$(ts $((T0 + 3600000)))" \
  --end="$(ts $((T0 + 3600000 + 10 * 15000)))" "$URL" 'sg_queue_depth{job="special"}' 2>&1)
expect_eq "text: series, value and timestamp per line" "$txt" \
"sg_queue_depth{job=\"special\"} 0 $((T0 + 3600000))
sg_queue_depth{job=\"special\"} -0 $((T0 + 3600000 + 15000))
sg_queue_depth{job=\"special\"} 5e-324 $((T0 + 3600000 + 30000))
sg_queue_depth{job=\"special\"} 1.7976931348623157e+308 $((T0 + 3600000 + 45000))
sg_queue_depth{job=\"special\"} 1e-07 $((T0 + 3600000 + 60000))
sg_queue_depth{job=\"special\"} 123456789012345680000 $((T0 + 3600000 + 75000))
sg_queue_depth{job=\"special\"} NaN $((T0 + 3600000 + 90000))
sg_queue_depth{job=\"special\"} +Inf $((T0 + 3600000 + 105000))
sg_queue_depth{job=\"special\"} -Inf $((T0 + 3600000 + 120000))
sg_queue_depth{job=\"special\"} 0.1 $((T0 + 3600000 + 135000))
sg_queue_depth{job=\"special\"} -2.5 $((T0 + 3600000 + 150000))"

# two selectors matching the same series print it once, sorted by label set
n=$("$STOPGATE" read --start="$(ts $T0)" --end="$(ts $((T0 + 60000)))" "$URL" 'sg_requests_total' \
  'sg_requests_total{instance="a"}' | wc -l)
expect_eq "overlapping selectors print each series once" "$n" 10
first=$("$STOPGATE" read --start="$(ts $T0)" --end="$(ts $T0)" "$URL" 'sg_requests_total' | head -1)
expect_eq "series come sorted by label set" "${first% * *}" 'sg_requests_total{instance="a", job="api"}'

# no series in the window: empty output, success
out=$("$STOPGATE" read --start=1000 --end=2000 "$URL" 'sg_requests_total'; echo "rc=$?")
expect_eq "an empty window prints nothing and succeeds" "$out" "rc=0"

# --write-request writes the body that is sent: curl replays it
"$STOPGATE" read --write-request="$SG_TEST_TMP/req.bin" --response-type=streamed \
  --start="$(ts $T0)" --end="$(ts $END)" "$URL" sg_requests_total >/dev/null 2>&1
code=$(curl -sS -o "$SG_TEST_TMP/replay.bin" -w '%{http_code} %{content_type}' --data-binary @"$SG_TEST_TMP/req.bin" \
  -H 'Content-Encoding: snappy' -H 'Content-Type: application/x-protobuf' "$URL")
expect_eq "--write-request: curl replays the request" "$code" \
  "200 application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"
sg_done
