#!/usr/bin/env bash
# `stopgate check config`: every good config passes, every bad one fails with
# exactly the lines of its .err file, warnings and --lint-fatal, stdout empty
# on error, usage errors.
. "$(dirname "$0")/../lib/lib.sh"
cd "$SG_SRC" || exit 1
data=tests/data/config

for f in "$data"/good/*.yaml; do
  out=$("$STOPGATE" check config "$f" 2>"$SG_TEST_TMP/err"); rc=$?
  expect_eq "good $(basename "$f") exits 0" "$rc" 0
  case $out in *"SUCCESS: $f is valid stopgate config file syntax"*) ok "good $(basename "$f") says SUCCESS" ;;
    *) not_ok "good $(basename "$f") says SUCCESS" "$out" ;; esac
  want=""
  [ -f "${f%.yaml}.err" ] && want=$(sed "s|^|$f:|" "${f%.yaml}.err")
  expect_eq "good $(basename "$f") warnings" "$(cat "$SG_TEST_TMP/err")" "$want"
done

for f in "$data"/bad/*.yaml; do
  out=$("$STOPGATE" check config "$f" 2>"$SG_TEST_TMP/err"); rc=$?
  name=$(basename "$f")
  # a file with only warnings is not bad
  expect_eq "bad $name exits 1" "$rc" 1
  expect_eq "bad $name prints nothing on stdout" "$out" ""
  expect_eq "bad $name problems" "$(cat "$SG_TEST_TMP/err")" "$(sed "s|^|$f:|" "${f%.yaml}.err")"
done

# warnings: exit 0, or 3 with --lint-fatal (as promtool)
cat >"$SG_TEST_TMP/warn.yaml" <<'YAML'
remote_read: {url: "http://127.0.0.1:9090/api/v1/read", tls_config: {insecure_skip_verify: true}}
YAML
"$STOPGATE" check config "$SG_TEST_TMP/warn.yaml" >/dev/null 2>&1; rc=$?
expect_eq "warnings alone exit 0" "$rc" 0
"$STOPGATE" check config --lint-fatal "$SG_TEST_TMP/warn.yaml" >/dev/null 2>&1; rc=$?
expect_eq "--lint-fatal makes warnings exit 3" "$rc" 3
"$STOPGATE" check config --lint-fatal "$data/good/minimal.yaml" >/dev/null 2>&1; rc=$?
expect_eq "--lint-fatal without warnings exits 0" "$rc" 0

# a rule reaching further back into a recorded series (or ALERTS) than the
# 24h stopgate keeps them is a warning at the rule
mkdir -p "$SG_TEST_TMP/long"
cat >"$SG_TEST_TMP/long/rules.yaml" <<'YAML'
groups:
  - name: long
    rules:
      - record: job:errors:rate5m
        expr: sum by (job) (rate(errors_total[5m]))
      - alert: ErrorsAboveLastWeek
        expr: job:errors:rate5m > 2 * avg_over_time(job:errors:rate5m[7d])
      - alert: ErrorsAboveYesterday
        expr: job:errors:rate5m > 2 * job:errors:rate5m offset 20h
      - alert: FlappingForTwoDays
        expr: changes(ALERTS{alertname="X"}[2d]) > 10
      - alert: RawSeriesMayGoBackFurther
        expr: rate(errors_total[30d]) > 0
YAML
cat >"$SG_TEST_TMP/long/config.yaml" <<'YAML'
remote_read: {url: "http://127.0.0.1:9090/api/v1/read"}
releases:
  - name: caracal
    namespace: caracal
    rule_files: [rules.yaml]
YAML
"$STOPGATE" check config "$SG_TEST_TMP/long/config.yaml" >/dev/null 2>"$SG_TEST_TMP/long/err"; rc=$?
expect_eq "a range over a recorded series beyond 24h only warns" "$rc" 0
expect_eq "the warnings name the rule, the series and the reach" "$(cat "$SG_TEST_TMP/long/err")" \
"$SG_TEST_TMP/long/rules.yaml:6:9: warning: rule \"ErrorsAboveLastWeek\" reads job:errors:rate5m back 1w, but stopgate keeps recorded series and ALERTS for at most 24h
$SG_TEST_TMP/long/rules.yaml:10:9: warning: rule \"FlappingForTwoDays\" reads ALERTS back 2d, but stopgate keeps recorded series and ALERTS for at most 24h"
"$STOPGATE" check config --lint-fatal "$SG_TEST_TMP/long/config.yaml" >/dev/null 2>&1; rc=$?
expect_eq "--lint-fatal makes the range warning exit 3" "$rc" 3

# a missing file: one line, exit 1
err=$("$STOPGATE" check config "$SG_TEST_TMP/nope.yaml" 2>&1 >/dev/null); rc=$?
expect_eq "a missing file exits 1" "$rc" 1
expect_eq "a missing file is named" "$err" "$SG_TEST_TMP/nope.yaml: No such file or directory"

# relative rule_files resolve against the config's directory, not the cwd
mkdir -p "$SG_TEST_TMP/etc/rules"
cp "$data/good/rules/caracal/stop.yaml" "$SG_TEST_TMP/etc/rules/a.yaml"
cat >"$SG_TEST_TMP/etc/sg.yaml" <<'YAML'
remote_read: {url: "http://127.0.0.1:9090/api/v1/read"}
releases: [{name: a, namespace: a, rule_files: ["rules/*.yaml"]}]
YAML
out=$(cd / && "$STOPGATE" check config "$SG_TEST_TMP/etc/sg.yaml" 2>&1); rc=$?
expect_eq "rule files relative to the config dir" "$rc" 0
case $out in *"1 rule files found"*) ok "the glob found the rule file" ;;
  *) not_ok "the glob found the rule file" "$out" ;; esac

# every example in docs/config.md loads
n=0
while IFS= read -r -d '' block; do
  n=$((n + 1))
  printf '%s' "$block" >"$SG_TEST_TMP/doc-$n.yaml"
  out=$("$STOPGATE" check config "$SG_TEST_TMP/doc-$n.yaml" 2>&1); rc=$?
  expect_eq "docs/config.md example $n loads" "$rc" 0
  [ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
done < <(python3 -c '
import re, sys
text = open("docs/config.md").read()
for m in re.finditer(r"```yaml\n(.*?)```", text, re.S):
    sys.stdout.write(m.group(1) + "\0")
')
[ "$n" -gt 0 ] && ok "docs/config.md has examples" || not_ok "docs/config.md has examples"

# rule files are checked by the rules loader, problems located in them
mkdir -p "$SG_TEST_TMP/bad/rules"
cat >"$SG_TEST_TMP/bad/rules/r.yaml" <<'YAML'
groups:
  - name: g
    rules:
      - alert: X
        expr: rate(x[5m] > 0
YAML
cat >"$SG_TEST_TMP/bad/sg.yaml" <<'YAML'
remote_read: {url: "http://127.0.0.1:9090/api/v1/read"}
releases: [{name: a, namespace: a, rule_files: [rules/r.yaml]}]
YAML
out=$("$STOPGATE" check config "$SG_TEST_TMP/bad/sg.yaml" 2>"$SG_TEST_TMP/err"); rc=$?
expect_eq "a bad rule file fails the config" "$rc:$out" "1:"
case $(cat "$SG_TEST_TMP/err") in "$SG_TEST_TMP/bad/rules/r.yaml:5:"*"unclosed left parenthesis"*)
  ok "the rule file's problem is located in it" ;;
  *) not_ok "the rule file's problem is located in it" "$(cat "$SG_TEST_TMP/err")" ;; esac
out=$("$STOPGATE" check config "$data/good/minimal.yaml" 2>/dev/null)
case $out in *"Checking $data/good/rules/caracal/stop.yaml"*"SUCCESS: 1 rules found"*)
  ok "each rule file is listed with its rule count" ;;
  *) not_ok "each rule file is listed with its rule count" "$out" ;; esac

# usage errors exit 2
"$STOPGATE" check config >/dev/null 2>&1; rc=$?
expect_eq "no file is a usage error" "$rc" 2
"$STOPGATE" check config a.yaml b.yaml >/dev/null 2>&1; rc=$?
expect_eq "two files are a usage error" "$rc" 2
"$STOPGATE" check config --frob "$data/good/minimal.yaml" >/dev/null 2>&1; rc=$?
expect_eq "an unknown flag is a usage error" "$rc" 2

sg_done
