#!/usr/bin/env bash
# Adds simulated nodes to the local control plane (kwok makes them Ready; pods on them are
# simulated, no container ever runs): kwok-simulated-node-<FIRST> ... -<FIRST+NODES-1>.
# With ZONES (comma separated), the nodes are dealt to the zones in turn and labelled with
# topology.kubernetes.io/zone (and the legacy failure-domain.beta.kubernetes.io/zone), as cloud
# providers label theirs. Waits until every node is Ready.
# Usage: KUBECONFIG=... bash toolchain/nodes.sh
# Env: KUBECONFIG (required), NODES (1), FIRST (0), ZONES (none), NODE_CPU (8), NODE_MEMORY (16Gi),
#   NODE_PODS (110), NODE_EPHEMERAL_STORAGE (100Gi), OBS_STACK_TOOLCHAIN_BIN (kubectl's folder;
#   default: the folder build.sh prints).
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${KUBECONFIG:?set KUBECONFIG to the kubeconfig of the control plane}"
BIN=${OBS_STACK_TOOLCHAIN_BIN:-$(bash "$HERE/build.sh" | tail -n1)}
FIRST=${FIRST:-0}
IFS=, read -r -a zones <<<"${ZONES:-}"
k() { "$BIN/kubectl" --kubeconfig="$KUBECONFIG" "$@"; }
for i in $(seq 0 $((${NODES:-1} - 1))); do
  node=kwok-simulated-node-$((FIRST + i))
  zone_labels=""
  if ((${#zones[@]} > 0)); then
    zone=${zones[$((i % ${#zones[@]}))]}
    zone_labels="    topology.kubernetes.io/zone: $zone
    failure-domain.beta.kubernetes.io/zone: $zone"
  fi
  k apply -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata:
  name: $node
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
    obs-stack/simulated: "SIMULATED node managed by kwok: pods scheduled here never run (no containers, no network, no probes)"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: $node
    kubernetes.io/os: linux
    type: kwok
    obs-stack/simulated: "true"
$zone_labels
status:
  allocatable: &res
    cpu: "${NODE_CPU:-8}"
    memory: ${NODE_MEMORY:-16Gi}
    pods: "${NODE_PODS:-110}"
    ephemeral-storage: ${NODE_EPHEMERAL_STORAGE:-100Gi}
  capacity: *res
  nodeInfo: {architecture: amd64, kubeletVersion: kwok-simulated, operatingSystem: linux}
  phase: Running
NODE
  k wait --for=condition=Ready "node/$node" --timeout=90s >/dev/null
done
