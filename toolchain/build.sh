#!/usr/bin/env bash
# Builds the project's offline toolchain from the Go module proxy only (needs Go and gcc):
#   pulumi CLI, pulumi-resource-kubernetes, pulumi-resource-random (offline stand-in),
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok
#   and kwok's stage and StorageClass YAML.
# Everything goes to ${OBS_STACK_CACHE:-$HOME/.cache/obs-stack}/toolchain-<hash>/bin, where
# <hash> covers versions.env and the stand-in's sources. Files already there are not rebuilt.
# Logs go to stderr; the last line on stdout is the bin folder.
# Usage: bash toolchain/build.sh [PART...]   (e.g. PATH="$(bash toolchain/build.sh | tail -n1):$PATH")
#   PART: all (the default: everything above), cli (pulumi, pulumi-resource-kubernetes and the
#   random stand-in), cluster (the local control plane: etcd, kube-*, kubectl, kwok and its YAML),
#   or one of pulumi, kubernetes, random. Parts share the one bin folder (same <hash>): building
#   one part never marks another as built, since each file is checked on its own.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$HERE/versions.env"
exec 3>&1 1>&2 # only the final bin path goes to the real stdout

log() { echo "toolchain: $*"; }

HASH=$(cd "$HERE" && {
  find random-standin -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) |
    LC_ALL=C sort | xargs sha256sum
  sha256sum versions.env
} | sha256sum | cut -c1-16)
ROOT=${OBS_STACK_CACHE:-$HOME/.cache/obs-stack}/toolchain-$HASH
BIN=$ROOT/bin
WORK=$ROOT/work

# The pieces (build_* below) the arguments ask for. scripts/up.sh asks for less than all when
# an installed pulumi or a reachable cluster makes the rest unnecessary.
SELECTED=''
for part in "${@:-all}"; do
  case $part in
    all) SELECTED="$SELECTED random pulumi k8s_provider control_plane kwok" ;;
    cli) SELECTED="$SELECTED random pulumi k8s_provider" ;;
    cluster) SELECTED="$SELECTED control_plane kwok" ;;
    pulumi | random) SELECTED="$SELECTED $part" ;;
    kubernetes) SELECTED="$SELECTED k8s_provider" ;;
    *) echo "usage: bash toolchain/build.sh [all|cli|cluster|pulumi|kubernetes|random]... (got '$part')"; exit 2 ;;
  esac
done
selected() { case " $SELECTED " in *" $1 "*) return 0 ;; esac; return 1; }
outputs_of() { # the files in $BIN a piece produces
  case $1 in
    random) echo pulumi-resource-random ;;
    pulumi) echo pulumi ;;
    k8s_provider) echo pulumi-resource-kubernetes ;;
    control_plane) echo etcd kube-apiserver kube-controller-manager kube-scheduler kubectl ;;
    kwok) echo kwok kwok-stages.yaml kwok-storageclass.yaml ;;
  esac
}
PIECES="random pulumi k8s_provider control_plane kwok" # build order
OUTPUTS=''
for p in $PIECES; do
  if selected "$p"; then OUTPUTS="$OUTPUTS $(outputs_of "$p")"; fi
done

missing() { # prints the names among "$@" that are not in $BIN yet
  local f
  for f in "$@"; do [ -s "$BIN/$f" ] || echo "$f"; done
}
# shellcheck disable=SC2086
if [ -z "$(missing $OUTPUTS)" ]; then echo "$BIN" >&3; exit 0; fi

mkdir -p "$BIN" "$WORK"
exec 9>"$ROOT/.lock"
if command -v flock >/dev/null; then flock 9; fi # one build per toolchain folder at a time

export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
log "building into $ROOT ($(go version))"

# gobuild NAME ARGS...: go build ARGS into a temporary name, then rename into $BIN, so an
# interrupted build never leaves a partial binary behind.
gobuild() {
  local name=$1; shift
  go build -trimpath -o "$BIN/.$name.tmp" "$@"
  mv -f "$BIN/.$name.tmp" "$BIN/$name"
}

# piece NAME OUTPUT... : runs build_NAME unless all its outputs exist, and times it.
piece() {
  local name=$1 t0=$SECONDS; shift
  if [ -z "$(missing "$@")" ]; then log "$name: up to date"; return; fi
  log "$name: building ($*)"
  "build_$name"
  log "$name: built in $((SECONDS - t0)) s"
}

build_pulumi() {
  # pkg/v3 has replace directives, so `go install pkg@version` is refused: use a wrapper
  # module that requires pkg and sdk at the same version and copies pkg's clipboard replace.
  local w=$WORK/pulumi-cli; mkdir -p "$w"; cd "$w"
  cat > go.mod <<EOF
module local/pulumi-cli

go 1.26.0

require (
	github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 $PULUMI_VERSION
)

replace github.com/atotto/clipboard => $PULUMI_CLIPBOARD_FORK $PULUMI_CLIPBOARD_FORK_VERSION
EOF
  go get -tool "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION"
  gobuild pulumi -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_k8s_provider() {
  # The module zip lacks the go:generate'd schema-embed.json and terraform-mapping-embed.json:
  # use our own main.go and run the module's generate.go to produce them.
  local w=$WORK/k8s-provider; mkdir -p "$w"; cd "$w"
  printf 'module local/k8s-provider\n\ngo 1.26.0\n\nrequire github.com/pulumi/pulumi-kubernetes/provider/v4 %s\n' \
    "$K8S_PROVIDER_MODULE_VERSION" > go.mod
  cat > main.go <<'EOF'
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
EOF
  echo '{}' > schema-embed.json; echo '{}' > terraform-mapping-embed.json # let tidy see the embeds
  go mod tidy
  local src
  src=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)/cmd/pulumi-resource-kubernetes
  rm -rf gen && mkdir gen
  cp "$src/generate.go" "$src/schema.json" "$src/terraform-mapping.json" gen/ && chmod u+w gen/*
  (cd gen && VERSION=$K8S_PLUGIN_VERSION go run generate.go && mv schema-embed.json terraform-mapping-embed.json ..)
  rm -rf gen
  gobuild pulumi-resource-kubernetes \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PLUGIN_VERSION" .
}

build_random() {
  cd "$HERE/random-standin"
  gobuild pulumi-resource-random -ldflags "-s -w -X main.version=$RANDOM_PLUGIN_VERSION" .
}

build_control_plane() {
  # k8s.io/kubernetes through a wrapper module that pins every k8s.io staging module to its
  # published v0.x (sample-cli-plugin and sample-controller are not served nor needed).
  local w=$WORK/control-plane m; mkdir -p "$w/cmd/etcd"; cd "$w"
  {
    printf 'module local/control-plane\n\ngo 1.26.0\n\nrequire (\n'
    printf '\tk8s.io/kubernetes %s\n\tgo.etcd.io/etcd/server/v3 %s\n)\n\nreplace (\n' "$K8S_VERSION" "$ETCD_VERSION"
    for m in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
      cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api \
      cri-client cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt \
      kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics \
      mount-utils pod-security-admission sample-apiserver streaming; do
      printf '\tk8s.io/%s => k8s.io/%s %s\n' "$m" "$m" "$K8S_STAGING_VERSION"
    done
    printf ')\n'
  } > go.mod
  cat > tools.go <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
  cat > cmd/etcd/main.go <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  go mod tidy
  local v=k8s.io/component-base/version c=k8s.io/client-go/pkg/version minor ldf
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ldf="-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
  ldf="$ldf -X $v.buildDate=1970-01-01T00:00:00Z -X $c.gitVersion=$K8S_VERSION -X $c.gitMajor=1 -X $c.gitMinor=$minor"
  [ -s "$BIN/etcd" ] || gobuild etcd -ldflags "-s -w" ./cmd/etcd
  for m in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [ -s "$BIN/$m" ] || gobuild "$m" -ldflags "$ldf" "k8s.io/kubernetes/cmd/$m"
  done
}

build_kwok() {
  local gobin=$WORK/kwok-bin; rm -rf "$gobin"; mkdir -p "$gobin"
  if [ ! -s "$BIN/kwok" ]; then
    GOBIN=$gobin go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    mv -f "$gobin/kwok" "$BIN/kwok"
  fi
  # Stages: node initialise + lease heartbeat, pod ready/complete/delete, fake volume provisioner.
  local s f
  s=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/kustomize/stage
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml \
    volume/fast/pv-bind.yaml volume/fast/pv-delete.yaml volume/fast/pvc-provision.yaml volume/fast/pvc-delete.yaml; do
    echo '---'; cat "$s/$f"
  done > "$BIN/.kwok-stages.yaml.tmp"
  mv -f "$BIN/.kwok-stages.yaml.tmp" "$BIN/kwok-stages.yaml"
  cp "$s/volume/fast/storage-class.yaml" "$BIN/.kwok-storageclass.yaml.tmp"
  chmod u+w "$BIN/.kwok-storageclass.yaml.tmp"
  mv -f "$BIN/.kwok-storageclass.yaml.tmp" "$BIN/kwok-storageclass.yaml"
}

T0=$SECONDS
for p in $PIECES; do
  # shellcheck disable=SC2046
  if selected "$p"; then piece "$p" $(outputs_of "$p"); fi
done
# shellcheck disable=SC2086
left=$(missing $OUTPUTS)
if [ -n "$left" ]; then log "still missing: $left"; exit 1; fi
log "all built in $((SECONDS - T0)) s"
echo "$BIN" >&3
