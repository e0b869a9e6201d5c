#!/usr/bin/env bash
# The stand-in helm/kubectl (tests/integration/helm) that other suites drive
# stopgate against: state changes, the invocation log, injected faults.
# (test_helm_argv.sh compares it with the real tools.)
. "$(dirname "$0")/../lib/lib.sh"
FAKE=$SG_SRC/tests/integration
export SG_FAKE_KUBE_DIR=$SG_TEST_TMP/kube
mkdir -p "$SG_FAKE_KUBE_DIR"
helm() { "$FAKE/helm" "$@"; }
kubectl() { "$FAKE/kubectl" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

cat >"$SG_TEST_TMP/m.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: caracal-api}
spec: {replicas: 2}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: caracal-gateway}
spec: {replicas: 3, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 0}}}
---
apiVersion: v1
kind: Service
metadata: {name: caracal-api}
YAML
"$FAKE/fakekube" release caracal caracal --chart caracal --version 1.3.0 \
  --values '{"migrations":{"maxSchemaVersion":41}}' --manifest "$SG_TEST_TMP/m.yaml" >/dev/null
"$FAKE/fakekube" release caracal caracal --chart caracal --version 1.4.0 \
  --values '{"migrations":{"maxSchemaVersion":42}}' --manifest "$SG_TEST_TMP/m.yaml" >/dev/null

expect_eq "status shows the latest revision" "$(helm status caracal -n caracal -o json | json 'd["version"]')" 2
expect_eq "history lists both revisions" \
  "$(helm history caracal -n caracal -o json | json '[(r["revision"], r["status"]) for r in d]')" \
  "[(1, 'superseded'), (2, 'deployed')]"
expect_eq "values of a revision" \
  "$(helm get values caracal -n caracal --revision 1 -o json | json 'd["migrations"]["maxSchemaVersion"]')" 41
case $(helm get manifest caracal -n caracal) in *"kind: StatefulSet"*) ok "manifest" ;; *) not_ok "manifest" ;; esac

# pause / resume / patch change the objects the manifest created
expect_eq "pause" "$(kubectl rollout pause deployment/caracal-api -n caracal)" "deployment.apps/caracal-api paused"
expect_eq "paused in the object" "$(kubectl get deployment caracal-api -n caracal -o json | json 'd["spec"]["paused"]')" True
err=$(kubectl rollout pause deployment/caracal-api -n caracal 2>&1); rc=$?
expect_eq "pausing twice fails" "$rc:$err" '1:error: deployments.apps "caracal-api" is already paused'
expect_eq "resume" "$(kubectl rollout resume deployment/caracal-api -n caracal)" "deployment.apps/caracal-api resumed"
err=$(kubectl rollout resume deployment/caracal-api -n caracal 2>&1); rc=$?
expect_eq "resuming twice fails" "$rc:$err" '1:error: deployments.apps "caracal-api" is not paused'
err=$(kubectl rollout pause deployment/nope -n caracal 2>&1); rc=$?
expect_eq "unknown deployment" "$rc:$err" '1:Error from server (NotFound): deployments.apps "nope" not found'
expect_eq "patch partition" \
  "$(kubectl patch statefulset caracal-gateway -n caracal --type=merge -p '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":3}}}}')" \
  "statefulset.apps/caracal-gateway patched"
expect_eq "partition in the object" \
  "$(kubectl get statefulset caracal-gateway -n caracal -o json | json 'd["spec"]["updateStrategy"]["rollingUpdate"]["partition"]')" 3
expect_eq "the same patch again" \
  "$(kubectl patch statefulset caracal-gateway -n caracal --type=merge -p '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":3}}}}')" \
  "statefulset.apps/caracal-gateway patched (no change)"

# rollback adds a revision with the old chart and values
expect_eq "rollback" "$(helm rollback caracal 1 -n caracal --wait --timeout 5m0s)" "Rollback was a success! Happy Helming!"
expect_eq "rollback made revision 3" \
  "$(helm history caracal -n caracal -o json | json '[(r["revision"], r["status"], r["chart"], r["description"]) for r in d][-1]')" \
  "(3, 'deployed', 'caracal-1.3.0', 'Rollback to 1')"
expect_eq "values of revision 3 are those of 1" \
  "$(helm get values caracal -n caracal -o json | json 'd["migrations"]["maxSchemaVersion"]')" 41

# every invocation is logged
n=$(wc -l <"$SG_FAKE_KUBE_DIR/invocations.jsonl")
last=$(tail -1 "$SG_FAKE_KUBE_DIR/invocations.jsonl" | json '(d["tool"], d["argv"], d["exit_status"])')
expect_eq "invocation log has every call" "$n" 16
expect_eq "invocation log entry" "$last" "('helm', ['get', 'values', 'caracal', '-n', 'caracal', '-o', 'json'], 0)"

# injected faults: exit status, stderr, delay
"$FAKE/fakekube" fault "helm rollback" 1 "Error: timed out waiting for the condition"
err=$(helm rollback caracal 2 -n caracal --wait --timeout 1s 2>&1); rc=$?
expect_eq "injected rollback failure" "$rc:$err" "1:Error: timed out waiting for the condition"
expect_eq "a failed rollback adds no revision" "$(helm status caracal -n caracal -o json | json 'd["version"]')" 3
"$FAKE/fakekube" fault "kubectl rollout pause" 0 "" --sleep 1.5
t0=$(date +%s.%N)
kubectl rollout pause deployment/caracal-api -n caracal >/dev/null
dt=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{print (a-b >= 1.5) ? "slow" : "fast"}')
expect_eq "injected delay" "$dt" slow
"$FAKE/fakekube" clear-faults
expect_eq "faults cleared" "$(helm rollback caracal 2 -n caracal --wait --timeout 1s)" "Rollback was a success! Happy Helming!"

# no state dir: a clear usage error, nothing else
err=$(SG_FAKE_KUBE_DIR= "$FAKE/helm" status caracal 2>&1); rc=$?
expect_eq "without SG_FAKE_KUBE_DIR" "$rc:$err" "2:helm (stand-in): SG_FAKE_KUBE_DIR must name a directory"
sg_done
