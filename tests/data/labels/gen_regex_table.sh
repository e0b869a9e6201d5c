#!/usr/bin/env bash
# tests/data/labels/gen_regex_table.sh - regenerates regex.table from a real
# Prometheus 2.42: backfills one series per label value (promtool tsdb
# create-blocks-from openmetrics), starts Prometheus on the blocks and, for
# every pattern, asks /api/v1/query for
#   count by (l) ({__name__="m", l=~"PATTERN"})
# and records which values matched, or the parse error for invalid patterns.
#
#   tests/data/labels/gen_regex_table.sh > tests/data/labels/regex.table
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../lib/lib.sh
. "$here/../../lib/lib.sh"
python3 "$here/regex_cases.py" openmetrics >"$SG_TEST_TMP/m.om"
sg_prom_backfill "$SG_TEST_TMP/m.om" "$SG_TEST_TMP/tsdb"
sg_prom_start "$SG_TEST_TMP/tsdb" >&2
python3 "$here/regex_cases.py" table "$PROM_URL"
