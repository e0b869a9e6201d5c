#!/usr/bin/env bash
# Rule-group evaluation against Prometheus 2.42, through `test rules`.
#
# Every tests/data/rules/eval/*_test.yml is a promtool unit-test file over
# its *_rules.yml: alert states with for and keep_firing_for, ALERTS and
# ALERTS_FOR_STATE, recording rules and their stale markers, rule errors
# (duplicate label sets, limits, results that are not vectors), template
# expansion. `stopgate test rules` must print exactly what
# `promtool test rules` prints (stdout, stderr, exit status), whether the
# file passes or fails.
. "$(dirname "$0")/../lib/lib.sh"

if ! command -v promtool >/dev/null; then
  echo "1..0 # SKIP promtool not installed"
  exit 0
fi
case $STOPGATE in /*) ;; *) STOPGATE=$(pwd)/$STOPGATE ;; esac
if "$STOPGATE" test rules /dev/null 2>&1 | grep -q 'not implemented'; then
  echo "1..0 # SKIP stopgate test rules is not built yet"
  exit 0
fi
cd "$SG_SRC/tests/data/rules/eval" || exit 1

for f in *_test.yml; do
  promtool test rules "$f" >"$SG_TEST_TMP/p.out" 2>"$SG_TEST_TMP/p.err"
  prc=$?
  "$STOPGATE" test rules "$f" >"$SG_TEST_TMP/s.out" 2>"$SG_TEST_TMP/s.err"
  src=$?
  expect_eq "$f: exit status as promtool's" "$src" "$prc"
  expect_eq "$f: stdout as promtool's" "$(cat "$SG_TEST_TMP/s.out")" "$(cat "$SG_TEST_TMP/p.out")"
  expect_eq "$f: stderr as promtool's" "$(cat "$SG_TEST_TMP/s.err")" "$(cat "$SG_TEST_TMP/p.err")"
done

sg_done
