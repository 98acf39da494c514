#!/usr/bin/env bash
# The README's main command: deploy a stack (dev by default) and print its outputs.
#   STACK=prod ./scripts/up.sh          deploy prod
#   RENDER_DIR=out ./scripts/up.sh      write manifests to out/ instead of applying them
#   ACTION=preview|destroy|recover ./scripts/up.sh
#   ACTION=verify ./scripts/up.sh       after up on a REAL cluster: the pipeline end to end (gateway through
#                                       a port-forward, push and query back, a pod line from Alloy, a Kafka
#                                       line in Loki, Grafana's datasource); refused on the simulated plane
#   VERBOSE=1 ./scripts/up.sh          Pulumi's full progress log instead of the compact view
# Uses the cluster of the current kube context when it answers; otherwise starts a local
# control plane (toolchain/cluster-up.sh) whose pods are SIMULATED. Pulumi state goes to
# .state/ in this folder unless PULUMI_BACKEND_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -trimpath" # -trimpath: a clone reuses the build cache of another
STACK=${STACK:-dev}
ACTION=${ACTION:-up}

echo "up: building the pinned toolchain if needed (cold: 20-40 min once per machine; cached under ${OBS_STACK_CACHE:-$HOME/.cache/obs-stack})"
OBS_STACK_TOOLCHAIN_BIN=$(bash toolchain/build.sh | tail -n1)
export OBS_STACK_TOOLCHAIN_BIN

# The random plugin: an official pulumi-resource-random (on PATH, or installed in
# $PULUMI_HOME/plugins) wins over the toolchain's offline stand-in, which is used only when
# there is none. The toolchain goes first on PATH through a folder of links with the chosen one.
standin() { grep -aq "offline random stand-in" "$1"; } # a string only the stand-in's binary has
random='' links=$PWD/.state/toolchain-path
for p in $(type -ap pulumi-resource-random | grep -v "^$links/"); do
  standin "$p" || { random=$p; echo "up: random plugin: the official one on PATH, $random"; break; }
done
if [ -z "$random" ]; then
  for p in $(ls -d "${PULUMI_HOME:-$HOME/.pulumi}"/plugins/resource-random-v*/pulumi-resource-random 2>/dev/null | sort -V -r); do
    standin "$p" || { random=$p; echo "up: random plugin: the official one installed in $(dirname "$random")"; break; }
  done
fi
if [ -z "$random" ]; then
  random=$OBS_STACK_TOOLCHAIN_BIN/pulumi-resource-random
  echo "up: random plugin: the OFFLINE STAND-IN $random (no official pulumi-resource-random on PATH or in ${PULUMI_HOME:-$HOME/.pulumi}/plugins)"
fi
rm -rf "$links" && mkdir -p "$links"
for f in "$OBS_STACK_TOOLCHAIN_BIN"/*; do ln -s "$f" "$links/"; done
ln -sf "$random" "$links/pulumi-resource-random" # first on PATH: Pulumi uses it whatever else is installed
export PATH=$links:$PATH

if [ -n "${RENDER_DIR:-}" ]; then
  mkdir -p "$RENDER_DIR" .state/render
  export OBS_STACK_RENDER_DIR
  OBS_STACK_RENDER_DIR=$(cd "$RENDER_DIR" && pwd)
  # Rendering has its own state: it must never share a stack with a deployment.
  export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$PWD/.state/render}
  echo "up: rendering $STACK to $OBS_STACK_RENDER_DIR (Secrets are written there in plain text)"
elif kubectl version --request-timeout=5s >/dev/null 2>&1; then
  echo "up: using the cluster of kube context '$(kubectl config current-context)'"
else
  state=$PWD/.state/cluster
  if [ -f "$state/kube-apiserver.pid" ] && kill -0 "$(cat "$state/kube-apiserver.pid")" 2>/dev/null; then
    echo "up: reusing the local control plane in $state"
  elif [ "$ACTION" = verify ]; then
    echo "up: verify: no cluster answers in the current kube context and no local control plane runs: nothing to verify (verify needs a real cluster, e.g. kind)" >&2
    exit 1
  else
    echo "up: no reachable cluster in the current kube context; starting a local control plane in $state"
    # Three simulated nodes of 8 CPU / 32Gi: what the prod preset expects, and room for dev.
    NODES=${NODES:-3} NODE_CPU=${NODE_CPU:-8} NODE_MEMORY=${NODE_MEMORY:-32Gi} bash toolchain/cluster-up.sh "$state" >/dev/null
    # prod's monitoring creates PodMonitors, a ServiceMonitor and a PrometheusRule: the plane
    # gets the Prometheus Operator's CRDs, as a cluster with kube-prometheus-stack has them.
    KUBECONFIG=$state/kubeconfig go run ./internal/operatorcrds/install
  fi
  export KUBECONFIG=$state/kubeconfig
  echo "up: NOTE: this local cluster SIMULATES pods (kwok): objects, scheduling and readiness are real, containers never run."
  echo "up: stop it with: bash toolchain/cluster-down.sh $state"
fi

# A compact view (changed resources, warnings and errors in full, a summary); VERBOSE=1 shows
# Pulumi's full progress log.
verbose=()
[ "${VERBOSE:-0}" = 1 ] && verbose=(-verbose)
go run ./cmd/deploy -stack "$STACK" -action "$ACTION" "${verbose[@]}"
