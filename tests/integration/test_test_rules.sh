#!/usr/bin/env bash
# `stopgate test rules` against the real `promtool test rules` 2.42 on every
# file of tests/data/unittest/:
#   pass_*.yml  both pass, with identical stdout and stderr
#   fail_*.yml  both fail, with identical stdout and stderr (and identical
#               interleaving of the two)
#   bad_*.yml   both fail on the file itself; stdout is identical, stderr
#               differs only where stopgate names FILE:LINE:COL and
#               promtool a line number or nothing, so it is checked for
#               the FAILED line and a located message
# plus several files in one run, and a missing file.
. "$(dirname "$0")/../lib/lib.sh"

if ! command -v promtool >/dev/null; then
  echo "1..0 # SKIP promtool not installed"
  exit 0
fi
data="$SG_SRC/tests/data/unittest"
case $STOPGATE in /*) ;; *) STOPGATE=$(pwd)/$STOPGATE ;; esac
cd "$data" || exit 1

run() { # run OUTPREFIX CMD... : stdout, stderr, both (as interleaved) and exit status
  local p=$1
  shift
  "$@" >"$p.out" 2>"$p.err"
  echo $? >"$p.rc"
  "$@" >"$p.both" 2>&1
}

for f in pass_*.yml fail_*.yml bad_*.yml; do
  run "$SG_TEST_TMP/p" promtool test rules "$f"
  run "$SG_TEST_TMP/s" "$STOPGATE" test rules "$f"
  prc=$(cat "$SG_TEST_TMP/p.rc") src=$(cat "$SG_TEST_TMP/s.rc")
  case $f in
  pass_*) expect_eq "$f: passes (promtool too)" "$src/$prc" "0/0" ;;
  *) expect_eq "$f: fails (promtool too)" "$src/$prc" "1/1" ;;
  esac
  if cmp -s "$SG_TEST_TMP/p.out" "$SG_TEST_TMP/s.out"; then
    ok "$f: stdout as promtool's"
  else
    not_ok "$f: stdout as promtool's" "$(diff "$SG_TEST_TMP/p.out" "$SG_TEST_TMP/s.out")"
  fi
  case $f in
  bad_*)
    if [ "$(head -1 "$SG_TEST_TMP/s.err")" = "  FAILED:" ] &&
      grep -qE "^(  )?[^ :]+\.yml:[0-9]+:[0-9]+: " "$SG_TEST_TMP/s.err"; then
      ok "$f: the problem is named with FILE:LINE:COL"
    else
      not_ok "$f: the problem is named with FILE:LINE:COL" "$(cat "$SG_TEST_TMP/s.err")"
    fi
    ;;
  *)
    if cmp -s "$SG_TEST_TMP/p.err" "$SG_TEST_TMP/s.err"; then
      ok "$f: stderr as promtool's"
    else
      not_ok "$f: stderr as promtool's" "$(diff "$SG_TEST_TMP/p.err" "$SG_TEST_TMP/s.err")"
    fi
    if cmp -s "$SG_TEST_TMP/p.both" "$SG_TEST_TMP/s.both"; then
      ok "$f: interleaved output as promtool's"
    else
      not_ok "$f: interleaved output as promtool's" \
        "$(diff "$SG_TEST_TMP/p.both" "$SG_TEST_TMP/s.both")"
    fi
    ;;
  esac
done

# several files in one run: each reported, exit 1 when any failed
files=(pass_basic.yml fail_expr.yml pass_yaml.yml fail_alerts.yml)
run "$SG_TEST_TMP/p" promtool test rules "${files[@]}"
run "$SG_TEST_TMP/s" "$STOPGATE" test rules "${files[@]}"
expect_eq "several files: exit status as promtool's" "$(cat "$SG_TEST_TMP/s.rc")" \
  "$(cat "$SG_TEST_TMP/p.rc")"
if cmp -s "$SG_TEST_TMP/p.both" "$SG_TEST_TMP/s.both"; then
  ok "several files: output as promtool's"
else
  not_ok "several files: output as promtool's" "$(diff "$SG_TEST_TMP/p.both" "$SG_TEST_TMP/s.both")"
fi
run "$SG_TEST_TMP/s" "$STOPGATE" test rules pass_basic.yml pass_yaml.yml
expect_eq "several passing files exit 0" "$(cat "$SG_TEST_TMP/s.rc")" 0

# a missing file: nothing runs, exit 1 (promtool: the same, from its flag parser)
run "$SG_TEST_TMP/s" "$STOPGATE" test rules pass_basic.yml no-such-file.yml
expect_eq "a missing file exits 1" "$(cat "$SG_TEST_TMP/s.rc")" 1
expect_eq "a missing file: nothing on stdout" "$(cat "$SG_TEST_TMP/s.out")" ""
case $(cat "$SG_TEST_TMP/s.err") in
*no-such-file.yml*) ok "a missing file is named" ;;
*) not_ok "a missing file is named" "$(cat "$SG_TEST_TMP/s.err")" ;;
esac

"$STOPGATE" test rules >/dev/null 2>&1
expect_eq "no file is a usage error" "$?" 2

sg_done
