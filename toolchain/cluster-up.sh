#!/usr/bin/env bash
# Starts a local Kubernetes control plane on 127.0.0.1 only: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok with ONE simulated node
# (kwok-simulated-node-0: pods on it are simulated, no container ever runs).
# Writes STATE_DIR/kubeconfig, STATE_DIR/<component>.pid and STATE_DIR/logs/; waits until the
# apiserver is ready and the node is Ready; installs kwok's StorageClass as the default.
# Prints the kubeconfig path as the last line of stdout. Stop with cluster-down.sh STATE_DIR.
# etcd data and certificates stay in STATE_DIR between runs; use a new folder for a fresh cluster.
# Usage: bash toolchain/cluster-up.sh STATE_DIR
# Ports: CLUSTER_API_PORT, CLUSTER_ETCD_PORT, CLUSTER_ETCD_PEER_PORT are used as given (and must be
#   free). Unset, each is the port this STATE_DIR used last time, else the default (26443, 22379,
#   22380), if free; else a free port from 20000-31999. The ports in use go to STATE_DIR/ports.env.
# Env: CLUSTER_API_PORT, CLUSTER_ETCD_PORT, CLUSTER_ETCD_PEER_PORT (see above),
#   NODES (1, named kwok-simulated-node-<i>), ZONES (none; comma separated: the nodes are dealt to
#   the zones and labelled topology.kubernetes.io/zone), NODE_CPU (8), NODE_MEMORY (16Gi),
#   NODE_PODS (110), NODE_EPHEMERAL_STORAGE (100Gi); nodes.sh adds more nodes to a running plane.
#   OBS_STACK_TOOLCHAIN_BIN (default: the folder build.sh prints), KWOK_EXTRA_CONFIG (more kwok
#   config files, comma separated).
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
R=$(realpath -m "${1:?usage: cluster-up.sh STATE_DIR}")
exec 3>&1 1>&2 # logs to stderr; only the kubeconfig path goes to stdout

NODES=${NODES:-1} # simulated nodes, named kwok-simulated-node-0 ... -<NODES-1>
SERVICE_CIDR=10.96.0.0/16 # keep apart from the pod CIDR below
POD_CIDR=10.244.0.0/16
BIN=${OBS_STACK_TOOLCHAIN_BIN:-$(bash "$HERE/build.sh" | tail -n1)}
KC=$R/kubeconfig
P=$R/pki
k() { "$BIN/kubectl" --kubeconfig="$KC" "$@"; }
t0=$(date +%s%N)
elapsed() { echo "$((($(date +%s%N) - t0) / 1000000)) ms"; }

for c in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
  if [ -f "$R/$c.pid" ] && kill -0 "$(cat "$R/$c.pid")" 2>/dev/null; then
    echo "cluster-up: $c already runs (pid $(cat "$R/$c.pid")); run cluster-down.sh $R first" >&2
    exit 1
  fi
done
in_use() { (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
picked=" "
pick() { # pick VAR GIVEN PREVIOUS DEFAULT: sets VAR to a free port (see the header)
  local var=$1 given=$2 p
  if [ -n "$given" ]; then
    if in_use "$given"; then
      echo "cluster-up: port 127.0.0.1:$given is in use; unset CLUSTER_API_PORT/CLUSTER_ETCD_PORT/CLUSTER_ETCD_PEER_PORT to pick free ports" >&2
      exit 1
    fi
    p=$given
  else
    for p in $3 $4 $(for _ in $(seq 1 200); do echo $((20000 + RANDOM % 12000)); done); do
      [[ $picked == *" $p "* ]] || in_use "$p" || break
    done
    in_use "$p" && { echo "cluster-up: found no free port on 127.0.0.1" >&2; exit 1; }
  fi
  picked+="$p "
  printf -v "$var" %s "$p"
}
prev_api='' prev_etcd='' prev_peer=''
if [ -f "$R/ports.env" ]; then
  prev_api=$(sed -n 's/^API_PORT=//p' "$R/ports.env")
  prev_etcd=$(sed -n 's/^ETCD_PORT=//p' "$R/ports.env")
  prev_peer=$(sed -n 's/^ETCD_PEER_PORT=//p' "$R/ports.env")
fi
pick API_PORT "${CLUSTER_API_PORT:-}" "$prev_api" 26443
pick ETCD_PORT "${CLUSTER_ETCD_PORT:-}" "$prev_etcd" 22379
pick ETCD_PEER_PORT "${CLUSTER_ETCD_PEER_PORT:-}" "$prev_peer" 22380
command -v openssl >/dev/null || { echo "cluster-up: openssl is needed to make certificates" >&2; exit 1; }
mkdir -p "$R/logs" "$P"
printf 'API_PORT=%s\nETCD_PORT=%s\nETCD_PEER_PORT=%s\n' "$API_PORT" "$ETCD_PORT" "$ETCD_PEER_PORT" >"$R/ports.env"
echo "cluster-up: ports on 127.0.0.1: apiserver $API_PORT, etcd $ETCD_PORT, etcd peer $ETCD_PEER_PORT"

# Certificates: a CA, the apiserver's serving cert, an admin client cert, a service-account key pair.
if [ ! -f "$P/sa.pub" ]; then (
  cd "$P"
  ssl() { openssl "$@" 2>/dev/null; }
  ssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=obs-stack-local-ca"
  printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
    'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local' > server.ext
  ssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver"
  ssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 3650 -extfile server.ext
  printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=digitalSignature,keyEncipherment' 'extendedKeyUsage=clientAuth' > client.ext
  ssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=obs-stack-admin"
  ssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 3650 -extfile client.ext
  ssl genrsa -out sa.key 2048
  ssl rsa -in sa.key -pubout -out sa.pub
  rm -f ./*.csr ./*.ext
); fi
k config set-cluster local --server="https://127.0.0.1:$API_PORT" --certificate-authority="$P/ca.crt" --embed-certs=true >/dev/null
k config set-credentials admin --client-certificate="$P/admin.crt" --client-key="$P/admin.key" --embed-certs=true >/dev/null
k config set-context local --cluster=local --user=admin >/dev/null
k config use-context local >/dev/null

# On any failure from here on, stop whatever was started.
trap 'echo "cluster-up: failed; logs in $R/logs" >&2; bash "$HERE/cluster-down.sh" "$R"' ERR

start() { # start NAME ARGS...: runs $BIN/NAME in the background, logging to logs/NAME.log
  local name=$1; shift
  "$BIN/$name" "$@" </dev/null >"$R/logs/$name.log" 2>&1 3>&- &  # 3>&-: do not hold the caller's stdout open
  echo $! >"$R/$name.pid"
}

start etcd --name local --data-dir "$R/etcd-data" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "local=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn

start kube-apiserver --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --secure-port="$API_PORT" \
  --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range="$SERVICE_CIDR" --authorization-mode=Node,RBAC --allow-privileged=true \
  --cert-dir="$R/apiserver-certs" --v=1
for _ in $(seq 1 240); do
  k get --raw=/readyz >/dev/null 2>&1 && break
  for c in etcd kube-apiserver; do
    kill -0 "$(cat "$R/$c.pid")" 2>/dev/null || { echo "cluster-up: $c exited:" >&2; tail -n 5 "$R/logs/$c.log" >&2; false; }
  done
  sleep 0.5
done
k get --raw=/readyz >/dev/null
echo "cluster-up: apiserver ready after $(elapsed)"

start kube-controller-manager --kubeconfig="$KC" --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
  --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false \
  --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
  --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" --use-service-account-credentials=false --v=1
start kube-scheduler --kubeconfig="$KC" --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
  --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false --v=1
start kwok --kubeconfig="$KC" --config="$BIN/kwok-stages.yaml,$HERE/kwok-extra-stages.yaml${KWOK_EXTRA_CONFIG:+,$KWOK_EXTRA_CONFIG}" \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --cidr="$POD_CIDR" --node-ip=10.243.0.1 --node-lease-duration-seconds=40

k apply -f "$BIN/kwok-storageclass.yaml" >/dev/null # kwok-volume, annotated as the default class
KUBECONFIG=$KC OBS_STACK_TOOLCHAIN_BIN=$BIN NODES=$NODES bash "$HERE/nodes.sh"
for _ in $(seq 1 120); do k -n default get serviceaccount default >/dev/null 2>&1 && break; sleep 0.5; done
k -n default get serviceaccount default >/dev/null
trap - ERR
echo "cluster-up: cluster ready after $(elapsed); export KUBECONFIG=$KC"
echo "$KC" >&3
