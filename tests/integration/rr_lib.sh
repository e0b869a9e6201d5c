# tests/integration/rr_lib.sh - helpers for the remote-read suites (source
# after lib.sh):
#   rr_build_dump      build rr_dump.c against the core library next to
#                      $STOPGATE; sets RR_DUMP
#   rr_ms T            seconds (fractional) -> milliseconds, as stopgate parses
#   rr_om_ts MS        an OpenMetrics timestamp that promtool reads back as MS
rr_build_dump() {
  local lib
  lib=$(dirname "$STOPGATE")
  RR_DUMP="$SG_TEST_TMP/rr_dump"
  cc -std=c11 -O1 -D_POSIX_C_SOURCE=200809L -I"$SG_SRC/include" -I"$SG_SRC" -I"$lib" \
    -I"$(dirname "$lib")" "$SG_SRC/tests/integration/rr_dump.c" "$lib/libsgcore.a" \
    "$lib/libsgprompb.a" $(pkg-config --cflags --libs libuv libcurl libprotobuf-c snappy \
    libpcre2-8 yaml-0.1 jansson) -lhttp_parser -lm $(rr_sanitize_flags "$lib") \
    -o "$RR_DUMP" 2>"$SG_TEST_TMP/rr_dump.log" || {
    cat "$SG_TEST_TMP/rr_dump.log" >&2
    return 1
  }
}

# The sanitizer flags a library was built with (ASan builds need them to link).
rr_sanitize_flags() {
  if grep -q 'fsanitize' "$1/../build.ninja" 2>/dev/null; then
    echo "-fsanitize=address,undefined"
  fi
}

rr_om_ts() {
  printf '%d.%03d1' $(($1 / 1000)) $(($1 % 1000))
}
