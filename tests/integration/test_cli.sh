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

sg_done
