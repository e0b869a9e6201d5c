#!/usr/bin/env bash
# A real Prometheus 2.42 scrapes a small loopback exporter every second;
# one series disappears, Prometheus writes a stale marker for it, and
# `stopgate read` shows `stale` with the exact bits 0x7ff0000000000002 in
# both response types. The same server has global.external_labels: reads
# that declare them (flags or config) get series without them, and the
# labels travel as matchers (a wrong value matches nothing).
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/rr_lib.sh"

EXP_PORT=$(sg_free_port)
state="$SG_TEST_TMP/exporter.txt"
# sg_order's series are created c, b, a
order_lines='sg_order{k="c"} 3\nsg_order{k="b"} 2\nsg_order{k="a"} 1\n'
printf "sg_alive 1\nsg_vanishing{path=\"/a\"} 42\n$order_lines" >"$state"
python3 - "$EXP_PORT" "$state" >"$SG_TEST_TMP/exporter.log" 2>&1 <<'PY' &
import http.server, sys
port, state = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = open(state, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
SG_PIDS+=($!)
cat >"$SG_TEST_TMP/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  external_labels: { region: eu, prom: k8s-main }
scrape_configs:
  - job_name: exp
    static_configs: [{ targets: ['127.0.0.1:$EXP_PORT'] }]
YAML
if ! sg_prom_start "$SG_TEST_TMP/tsdb" "$SG_TEST_TMP/prometheus.yml"; then
  not_ok "Prometheus starts"
  sg_done
  exit 1
fi
URL="$PROM_URL/api/v1/read"
EXT=(--external-label=region=eu --external-label=prom=k8s-main)
if rr_build_dump; then ok "rr_dump builds"; else not_ok "rr_dump builds"; fi

# wait until both series have a few samples
for _ in $(seq 1 100); do
  n=$("$STOPGATE" read "${EXT[@]}" "$URL" 'sg_vanishing' 2>/dev/null | wc -l)
  [ "$n" -ge 3 ] && break
  sleep 0.1
done
if [ "$n" -ge 3 ]; then ok "the exporter's series are scraped ($n samples)"; else not_ok "scraped" "$n"; fi

printf "sg_alive 1\n$order_lines" >"$state" # sg_vanishing disappears
for _ in $(seq 1 150); do
  last=$("$STOPGATE" read "${EXT[@]}" "$URL" 'sg_vanishing' 2>/dev/null | tail -1)
  case $last in *" stale "*) break ;; esac
  sleep 0.1
done
case $last in
*" stale "*) ok "read shows the stale marker: $last" ;;
*) not_ok "read shows the stale marker" "$last" ;;
esac
now_ms=$(($(date +%s) * 1000 + 1000))
for rt in samples streamed; do
  got=$("$RR_DUMP" "$URL" "$rt" 0 "$now_ms" 'sg_vanishing' 2>"$SG_TEST_TMP/st" | tail -1 | cut -f2)
  expect_eq "$rt: the stale marker keeps its bits ($(cut -d' ' -f1 "$SG_TEST_TMP/st"))" "$got" 7ff0000000000002
  n=$("$STOPGATE" read --response-type=$rt "${EXT[@]}" "$URL" 'sg_vanishing' | grep -c ' stale ')
  expect_eq "$rt: read prints exactly one stale line" "$n" 1
done
json=$("$STOPGATE" read -o json "${EXT[@]}" "$URL" 'sg_vanishing' | grep -o '"NaN"' | head -1)
expect_eq "json: a stale marker is the NaN it is" "$json" '"NaN"'

# SAMPLES answers promise no order (Prometheus 2.42 selects without
# sorting for them): the text form prints series as they arrive, each
# series' lines together; the JSON form and streamed answers in label order
end_s=$(($(date +%s) - 2))
win=(--start=$((end_s - 60)) --end=$end_s "${EXT[@]}" "$URL" 'sg_order')
names() { sed -E 's/ [^ ]+ [0-9]+$//' | uniq | grep -o 'k="[abc]"' | tr '\n' ' '; }
txt=$("$STOPGATE" read --response-type=samples "${win[@]}")
str=$("$STOPGATE" read --response-type=streamed "${win[@]}")
expect_eq "samples text: the same lines as the streamed answer" "$(sort <<<"$txt")" "$(sort <<<"$str")"
expect_eq "samples text: each series' lines together (three runs: $(names <<<"$txt"))" \
  "$(names <<<"$txt" | wc -w)" 3
expect_eq "streamed text: label order" "$(names <<<"$str")" 'k="a" k="b" k="c" '
expect_eq "samples json: label order" \
  "$("$STOPGATE" read -o json --response-type=samples "${win[@]}" | grep -o '"k":"[abc]"' | tr -d '\n')" \
  '"k":"a""k":"b""k":"c"'

# external labels: the server adds them to every series it returns
series() { "$STOPGATE" read "$@" | sed -E 's/ [^ ]+ [0-9]+$//' | sort -u; }
expect_eq "without declaring them, the server's external labels come back" \
  "$(series "$URL" 'sg_alive')" \
  'sg_alive{instance="127.0.0.1:'"$EXP_PORT"'", job="exp", prom="k8s-main", region="eu"}'
expect_eq "--external-label: matched and stripped from every result" \
  "$(series "${EXT[@]}" "$URL" 'sg_alive' 'up')" \
  'sg_alive{instance="127.0.0.1:'"$EXP_PORT"'", job="exp"}
up{instance="127.0.0.1:'"$EXP_PORT"'", job="exp"}'
expect_eq "external labels travel as matchers: a wrong value matches nothing" \
  "$(series --external-label=region=us "$URL" 'sg_alive')" ""
expect_eq "a selector that names the label itself keeps it and decides" \
  "$(series "${EXT[@]}" "$URL" 'sg_alive{region="eu"}')" \
  'sg_alive{instance="127.0.0.1:'"$EXP_PORT"'", job="exp", region="eu"}'
cat >"$SG_TEST_TMP/stopgate.yml" <<YAML
remote_read:
  url: http://127.0.0.1:9/unused
  external_labels: { region: eu, prom: k8s-main }
YAML
expect_eq "--config.file: external_labels from remote_read, URL argument wins" \
  "$(series --config.file="$SG_TEST_TMP/stopgate.yml" "$URL" 'sg_alive')" \
  'sg_alive{instance="127.0.0.1:'"$EXP_PORT"'", job="exp"}'
sg_done
