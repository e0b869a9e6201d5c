#!/usr/bin/env bash
# `stopgate check rules` against `promtool check rules` 2.42.
#
# tests/data/rules/good/*.yaml are files promtool accepts, bad/*.yaml files
# it rejects. For every file both tools must give the same exit status;
# where promtool succeeds without lint findings, stdout must be the same
# too. stopgate's stderr must equal NAME.err exactly (no .err: no output).
. "$(dirname "$0")/../lib/lib.sh"

cd "$SG_SRC" || exit 1
data=tests/data/rules

if ! command -v promtool >/dev/null; then
  echo "1..0 # SKIP promtool not installed"
  exit 0
fi

for f in "$data"/good/*.yaml "$data"/bad/*.yaml; do
  name=${f#"$data"/}
  p_out=$(promtool check rules "$f" 2>/dev/null); p_rc=$?
  s_out=$("$STOPGATE" check rules "$f" 2>"$SG_TEST_TMP/err"); s_rc=$?
  expect_eq "$name: same verdict as promtool" "$s_rc" "$p_rc"
  case $name in
    good/*) expect_eq "$name: promtool accepts it" "$p_rc" 0 ;;
    bad/*) expect_eq "$name: promtool rejects it" "$p_rc" 1 ;;
  esac
  case $p_out in
    *SUCCESS*) expect_eq "$name: stdout as promtool's" "$s_out" "$p_out" ;;
  esac
  if [ "$s_rc" -ne 0 ]; then
    expect_eq "$name: stdout is empty" "$s_out" ""
  fi
  want=""
  [ -f "${f%.yaml}.err" ] && want=$(cat "${f%.yaml}.err")
  expect_eq "$name: problems as expected" "$(cat "$SG_TEST_TMP/err")" "$want"
done

# several files at once: every one is checked, failure wins
"$STOPGATE" check rules "$data/good/recording.yaml" "$data/bad/bad_for.yaml" \
  "$data/good/basic_alert.yaml" >"$SG_TEST_TMP/out" 2>"$SG_TEST_TMP/err"; rc=$?
expect_eq "several files: a bad one fails the run" "$rc" 1
expect_eq "several files: the good ones are reported on stdout" \
  "$(grep -c SUCCESS "$SG_TEST_TMP/out")" 2
expect_eq "several files: the bad one's problem on stderr" "$(cat "$SG_TEST_TMP/err")" \
  "$(cat "$data/bad/bad_for.err")"

# a missing file, as promtool
promtool check rules "$SG_TEST_TMP/nope.yaml" >/dev/null 2>&1; p_rc=$?
err=$("$STOPGATE" check rules "$SG_TEST_TMP/nope.yaml" 2>&1 >/dev/null); s_rc=$?
expect_eq "missing file: same verdict as promtool" "$s_rc" "$p_rc"
expect_eq "missing file: named" "$err" "$SG_TEST_TMP/nope.yaml: No such file or directory"

# warnings: exit 0, or 3 with --lint-fatal (promtool's codes)
promtool check rules --lint-fatal "$data/good/duplicate_rules_lint.yaml" >/dev/null 2>&1; p_rc=$?
"$STOPGATE" check rules --lint-fatal "$data/good/duplicate_rules_lint.yaml" >/dev/null 2>&1; s_rc=$?
expect_eq "--lint-fatal: duplicate rules exit 3 as in promtool" "$s_rc" "$p_rc"
"$STOPGATE" check rules --lint-fatal --lint=none "$data/good/duplicate_rules_lint.yaml" \
  >/dev/null 2>&1; rc=$?
expect_eq "--lint=none: no duplicate warning" "$rc" 0
"$STOPGATE" check rules --lint-fatal "$data/good/stop_label_unknown_value.yaml" >/dev/null 2>&1
expect_eq "--lint-fatal: stopgate's own warnings exit 3" "$?" 3
"$STOPGATE" check rules --lint=bogus "$data/good/recording.yaml" >/dev/null 2>&1
expect_eq "--lint with an unknown option is a usage error" "$?" 2

# the shipped rule pack, if any, passes both tools
for f in rules/*.yaml rules/*/*.yaml; do
  [ -f "$f" ] || continue
  check "shipped $f: promtool accepts it" promtool check rules "$f"
  check "shipped $f: stopgate accepts it" "$STOPGATE" check rules "$f"
done

sg_done
