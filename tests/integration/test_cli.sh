#!/usr/bin/env bash
# The command line: version, help, usage errors and their exit statuses.
. "$(dirname "$0")/../lib/lib.sh"

out=$("$STOPGATE" version 2>&1); rc=$?
expect_eq "version exits 0" "$rc" 0
case $out in "stopgate, version "*) ok "version names the program and version" ;;
  *) not_ok "version names the program and version" "$out" ;; esac

out=$("$STOPGATE" --help 2>&1); rc=$?
expect_eq "--help exits 0" "$rc" 0
case $out in *"test rules"*"query instant"*) ok "--help lists the subcommands" ;;
  *) not_ok "--help lists the subcommands" "$out" ;; esac

out=$("$STOPGATE" query instant --help 2>&1); rc=$?
expect_eq "query instant --help exits 0" "$rc" 0
case $out in *"--query.lookback-delta"*"--bearer-token-file"*) ok "query instant --help lists its flags" ;;
  *) not_ok "query instant --help lists its flags" "$out" ;; esac

out=$("$STOPGATE" query --help 2>&1); rc=$?
expect_eq "query --help exits 0" "$rc" 0

"$STOPGATE" >/dev/null 2>&1; rc=$?
expect_eq "stopgate alone exits 2" "$rc" 2

err=$("$STOPGATE" frobnicate 2>&1 >/dev/null); rc=$?
expect_eq "an unknown command exits 2" "$rc" 2
expect_eq "an unknown command is named" "$err" "stopgate: unknown command \"frobnicate\" (see 'stopgate --help')"

out=$("$STOPGATE" frobnicate 2>/dev/null)
expect_eq "stdout is empty on a usage error" "$out" ""

err=$("$STOPGATE" query instant --nope http://x up 2>&1); rc=$?
expect_eq "an unknown flag exits 2" "$rc" 2
case $err in *"unknown flag --nope"*) ok "an unknown flag is named" ;; *) not_ok "an unknown flag is named" "$err" ;; esac

"$STOPGATE" query instant http://x >/dev/null 2>&1; rc=$?
expect_eq "a missing argument exits 2" "$rc" 2

"$STOPGATE" gate a b >/dev/null 2>&1; rc=$?
expect_eq "an extra argument exits 2" "$rc" 2

"$STOPGATE" query instant --time >/dev/null 2>&1; rc=$?
expect_eq "a flag without its value exits 2" "$rc" 2

"$STOPGATE" check >/dev/null 2>&1; rc=$?
expect_eq "check without a subcommand exits 2" "$rc" 2

"$STOPGATE" version --output=json >/dev/null 2>&1; rc=$?
expect_eq "version rejects flags it does not have" "$rc" 2


# a value flag takes its value as the next argument too; `--` ends the flags.
# The URL is a closed loopback port: getting as far as the remote read (exit 1,
# "remote read from") proves the arguments were parsed.
url=http://127.0.0.1:$(sg_free_port)/api/v1/read
err=$("$STOPGATE" query instant --time 10 "$url" up 2>&1 >/dev/null); rc=$?
expect_eq "--time 10 (space-separated): exit status of the failed read" "$rc" 1
case $err in *"remote read from $url"*) ok "--time 10 (space-separated): flags and arguments parsed" ;;
  *) not_ok "--time 10 (space-separated): flags and arguments parsed" "$err" ;; esac
err2=$("$STOPGATE" query instant --time=10 "$url" up 2>&1 >/dev/null); rc=$?
expect_eq "--time=10: exit status of the failed read" "$rc" 1
# (curl's message carries how long the refused connect took: left out)
nolat() { sed -E 's/after [0-9]+ ms/after N ms/g'; }
expect_eq "--time 10 and --time=10 end the same way" "$(nolat <<<"$err")" "$(nolat <<<"$err2")"
err=$("$STOPGATE" query instant --time bogus "$url" up 2>&1 >/dev/null)
case $err in *'--time: invalid time "bogus"'*) ok "--time bogus (space-separated): the value is the flag's" ;;
  *) not_ok "--time bogus (space-separated): the value is the flag's" "$err" ;; esac

err=$("$STOPGATE" query instant "$url" '-rate(x[5m])' 2>&1 >/dev/null); rc=$?
expect_eq "an EXPR starting with - and no --: exits 2" "$rc" 2
case $err in *"unknown flag -r"*) ok "an EXPR starting with - and no --: an unknown flag" ;;
  *) not_ok "an EXPR starting with - and no --: an unknown flag" "$err" ;; esac
for args in "-- $url" "$url --" "--time 10 -- $url" "--time 10 $url --"; do
  # shellcheck disable=SC2086 # split on purpose: the words of one command line
  err=$("$STOPGATE" query instant $args '-rate(x[5m])' 2>&1 >/dev/null); rc=$?
  expect_eq "query instant $args -rate(x[5m]): exit status of the failed read" "$rc" 1
  case $err in *"remote read from $url"*) ok "query instant $args -rate(x[5m]): the EXPR is accepted" ;;
    *) not_ok "query instant $args -rate(x[5m]): the EXPR is accepted" "$err" ;; esac
done

sg_done
