#!/usr/bin/env bash
# tests/integration/test_differential.sh - random PromQL against a real
# Prometheus 2.42: the fixed data set of tests/differential/gen.py (with
# series that go stale) is sent through remote write, then every committed
# seed's expressions and 100
# from a fresh seed are evaluated by `stopgate query instant -o json` over
# remote read and by /api/v1/query, and the answers compared
# (tests/differential/run.py prints the TAP lines and the fresh seed). A
# second server with --query.max-samples=300 checks that the sample limit
# trips exactly when Prometheus's does. (tests/integration/test_query.sh
# reads the same data from backfilled blocks.)
# SG_DIFF_SEED fixes the fresh seed; SG_DIFF_FRESH sets its case count.
. "$(dirname "$0")/../lib/lib.sh"

diff_dir="$SG_SRC/tests/differential"
# Two servers fed through remote write (so the data can hold stale markers,
# which OpenMetrics backfill cannot): one plain, one with a small sample
# limit. All samples land in the head, read back as head chunks.
mkdir -p "$SG_TEST_TMP/tsdb-limit" "$SG_TEST_TMP/tsdb"
sg_prom_start "$SG_TEST_TMP/tsdb-limit" "" --web.enable-remote-write-receiver \
  --query.max-samples=300 || exit 1
limit_url=$PROM_URL
python3 "$diff_dir/gen.py" write "$limit_url/api/v1/write" || exit 1
sg_prom_start "$SG_TEST_TMP/tsdb" "" --web.enable-remote-write-receiver || exit 1
python3 "$diff_dir/gen.py" write "$PROM_URL/api/v1/write" || exit 1

args=(--prom "$PROM_URL" --stopgate "$STOPGATE" --seeds "$diff_dir/seeds.txt" --per-seed 200 --range-every 2
      --cases "$diff_dir/cases.txt"
      --fresh "${SG_DIFF_FRESH:-100}" --limit-prom "$limit_url" --max-samples 300)
if [ -n "${SG_DIFF_SEED:-}" ]; then
  args+=(--fresh-seed "$SG_DIFF_SEED")
fi
python3 "$diff_dir/run.py" "${args[@]}"
