#!/usr/bin/env bash
# Include layering: a module includes public headers only from its own
# layer or lower ones (STYLE 3.1). The CLI may include anything.
cd "$(dirname "$0")/../.." || exit 1
declare -A layer=(
  [err]=0 [base]=0 [log]=0 [clock]=0 [fs]=0 [duration]=0 [num]=0
  [yaml]=1 [labels]=1 [http]=1 [proc]=1 [web]=1 [metrics]=1
  [config]=2 [store]=2 [state]=2 [tmpl]=2
  [rr]=3 [promql]=3
  [rules]=4 [unittest]=4
  [action]=5 [notify]=5
  [daemon]=6
)
# module directory -> layer of the module
declare -A dirlayer=(
  [core]=0 [yaml]=1 [labels]=1 [http]=1 [proc]=1 [web]=1 [metrics]=1
  [config]=2 [store]=2 [state]=2 [tmpl]=2 [rr]=3 [promql]=3 [rules]=4
  [action]=5 [notify]=5 [daemon]=6
)
n=0
for d in "${!dirlayer[@]}"; do
  [ -d "src/$d" ] || continue
  n=$((n + 1))
  bad=""
  while IFS= read -r line; do
    file=${line%%:*}
    hdr=$(printf '%s' "$line" | sed -nE 's/.*#include "stopgate\/([a-z_]+)\.h".*/\1/p')
    [ -n "$hdr" ] || continue
    hl=${layer[$hdr]:-}
    if [ -z "$hl" ]; then
      bad+="$file includes unknown layer header stopgate/$hdr.h"$'\n'
    elif [ "$hl" -gt "${dirlayer[$d]}" ]; then
      bad+="$file (layer ${dirlayer[$d]}) includes stopgate/$hdr.h (layer $hl)"$'\n'
    fi
  done < <(grep -rn '#include "stopgate/' "src/$d" 2>/dev/null)
  if [ -z "$bad" ]; then
    echo "ok $n - src/$d includes only its own or lower layers"
  else
    echo "not ok $n - src/$d includes a higher layer"
    printf '%s' "$bad" | sed 's/^/# /'
  fi
done
echo "1..$n"
