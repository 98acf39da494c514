#!/usr/bin/env bash
# The README's main command: deploy a stack (dev by default) and print its outputs.
#   STACK=prod ./scripts/up.sh          deploy prod
#   RENDER_DIR=out ./scripts/up.sh      write manifests to out/ instead of applying them
#   ACTION=preview|destroy|recover ./scripts/up.sh
#   ACTION=verify ./scripts/up.sh       after up on a REAL cluster: the pipeline end to end (gateway through
#                                       a port-forward, push and query back, a pod line from Alloy, a Kafka
#                                       line in Loki, Grafana's datasource); refused on the simulated plane
#   VERBOSE=1 ./scripts/up.sh          Pulumi's full progress log instead of the compact view
#   UP_DRY_RUN=1 ./scripts/up.sh       print the choices below and stop before Pulumi runs
# Uses an installed pulumi at or above PULUMI_MIN_VERSION (toolchain/versions.env) with the
# plugins Pulumi fetches; otherwise the pinned CLI and plugins that toolchain/build.sh builds from
# the Go module proxy (cold: 20-40 min once per machine). Uses the cluster of the current kube
# context when it answers; otherwise builds and starts a local control plane
# (toolchain/cluster-up.sh) whose pods are SIMULATED. Builds only what is missing. Pulumi state
# goes to .state/ in this folder unless PULUMI_BACKEND_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -trimpath" # -trimpath: a clone reuses the build cache of another
STACK=${STACK:-dev}
ACTION=${ACTION:-up}

# shellcheck source=toolchain/versions.env
. toolchain/versions.env # PULUMI_MIN_VERSION and the plugin versions the SDKs in go.mod ask for
links=$PWD/.state/toolchain-path # this script's own folder of links, put first on PATH below
parts=()                         # what toolchain/build.sh has to build for this run
ver_ge() { [ "$(printf '%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]; } # is version $1 >= $2?

# 1. The Pulumi CLI. An installed pulumi (the first on PATH that is not our own link) at or above
# PULUMI_MIN_VERSION is used as it is, and fetches its plugins the way Pulumi does (below). Else
# the toolchain builds the pinned CLI and plugins from the Go module proxy: our machines (no
# release downloads) always take that path. An installed CLI below the minimum also takes it,
# rather than failing: one command still ends in a deployment, and the message says how to
# upgrade so that the next run skips the build.
pulumi='' min=${PULUMI_MIN_VERSION#v}
for p in $(type -ap pulumi | grep -v "^$links/"); do pulumi=$p; break; done
if [ -z "$pulumi" ]; then
  echo "up: pulumi: none installed on PATH: using the pinned $PULUMI_VERSION and its plugins, built by the toolchain"
else
  v=$(PULUMI_SKIP_UPDATE_CHECK=true "$pulumi" version 2>/dev/null | tail -n1) || v=''
  v=${v#v} && v=${v%%[-+]*} # v3.274.1 -> 3.274.1 (a pre-release counts as its release)
  if [ -n "$v" ] && ver_ge "$v" "$min"; then
    echo "up: pulumi: using the installed $pulumi (v$v, minimum v$min); Pulumi provides the plugins"
  else
    echo "up: pulumi: the installed $pulumi is v${v:-? (unreadable)}, below the minimum v$min: using the pinned $PULUMI_VERSION, built by the toolchain, instead." \
      "To skip this build, upgrade it (https://www.pulumi.com/docs/install/, e.g. curl -fsSL https://get.pulumi.com | sh)"
    pulumi=''
  fi
fi
[ -n "$pulumi" ] || parts+=(cli)

# 2. The cluster: none for RENDER_DIR; the current kube context's when it answers (by the
# kubectl on PATH: the user's); a local control plane already running in .state/cluster; else
# a new local control plane, whose binaries the toolchain builds (only in that case).
state=$PWD/.state/cluster
if [ -n "${RENDER_DIR:-}" ]; then
  target=render
elif kubectl version --request-timeout=5s >/dev/null 2>&1; then
  target=context
elif [ -f "$state/kube-apiserver.pid" ] && kill -0 "$(cat "$state/kube-apiserver.pid")" 2>/dev/null; then
  target=reuse
  # The program's preflight calls kubectl: without one on PATH, the toolchain's (already built
  # with the plane, so no build) goes on PATH as when the plane was started.
  command -v kubectl >/dev/null || parts+=(cluster)
elif [ "$ACTION" = verify ]; then
  echo "up: verify: no cluster answers in the current kube context and no local control plane runs: nothing to verify (verify needs a real cluster, e.g. kind)" >&2
  exit 1
else
  target=start
  parts+=(cluster)
fi

# 3. With an installed pulumi, the plugins come as Pulumi gets them: a pulumi-resource-<name> on
# PATH, else the plugin cache, into which `pulumi plugin install` downloads the version the SDK
# in go.mod asks for (a no-op when it is there). cmd/deploy turns off Pulumi's own download
# during a run (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION), hence the install beforehand.
# A machine that cannot download gets the toolchain's build instead (kubernetes: 1 min here with
# a warm Go build cache, many more cold; random: the offline stand-in, seconds).
install_plugin() { # install_plugin NAME VERSION: 0 if Pulumi has it or fetched it
  local log=.state/plugin-install-$1.log
  mkdir -p .state
  if PULUMI_SKIP_UPDATE_CHECK=true "$pulumi" plugin install resource "$1" "$2" >"$log" 2>&1; then return 0; fi
  echo "up: $1 plugin: Pulumi could not fetch v$2 ($(grep -m1 -o 'error: .*' "$log" || tail -n1 "$log"); full log: $log)"
  return 1
}
if [ -n "$pulumi" ]; then
  if k8s=$(type -ap pulumi-resource-kubernetes | grep -v "^$links/" | head -n1); then
    echo "up: kubernetes plugin: $k8s, on PATH"
  elif install_plugin kubernetes "$K8S_PLUGIN_VERSION"; then
    echo "up: kubernetes plugin: v$K8S_PLUGIN_VERSION from Pulumi's plugin cache (${PULUMI_HOME:-$HOME/.pulumi}/plugins)"
  else
    echo "up: kubernetes plugin: building it from the Go module proxy"
    parts+=(kubernetes)
  fi
fi

# 4. The random plugin: an official pulumi-resource-random (on PATH, or installed in
# $PULUMI_HOME/plugins; with an installed pulumi, after `pulumi plugin install` had its chance to
# fetch it) wins over the toolchain's offline stand-in, which is used only when there is none: a
# stand-in already on PATH, else the toolchain's build of it.
standin() { grep -aq "offline random stand-in" "$1"; } # a string only the stand-in's binary has
random='' standin_on_path=''
for p in $(type -ap pulumi-resource-random | grep -v "^$links/"); do
  if standin "$p"; then standin_on_path=${standin_on_path:-$p}; else random=$p; break; fi
done
[ -n "$random" ] && echo "up: random plugin: the official one on PATH, $random"
if [ -z "$random" ] && [ -n "$pulumi" ]; then install_plugin random "$RANDOM_PLUGIN_VERSION" || true; fi
if [ -z "$random" ]; then
  for p in $(ls -d "${PULUMI_HOME:-$HOME/.pulumi}"/plugins/resource-random-v*/pulumi-resource-random 2>/dev/null | sort -V -r); do
    standin "$p" || { random=$p; echo "up: random plugin: the official one installed in $(dirname "$random")"; break; }
  done
fi
if [ -z "$random" ] && [ -n "$pulumi" ]; then
  if [ -n "$standin_on_path" ]; then random=$standin_on_path; else parts+=(random); fi
fi

# 5. Build what is missing (nothing at all with an installed pulumi that fetched its plugins and
# a cluster that answers). build.sh keeps every part in the same cached folder.
if [ ${#parts[@]} -gt 0 ]; then
  echo "up: building the pinned toolchain's ${parts[*]} if needed (once per machine, cached under ${OBS_STACK_CACHE:-$HOME/.cache/obs-stack}; all of it cold: 20-40 min)"
  OBS_STACK_TOOLCHAIN_BIN=$(bash toolchain/build.sh "${parts[@]}" | tail -n1)
  export OBS_STACK_TOOLCHAIN_BIN
  random=${random:-$OBS_STACK_TOOLCHAIN_BIN/pulumi-resource-random}
fi
standin "$random" && echo "up: random plugin: the OFFLINE STAND-IN $random (no official pulumi-resource-random on PATH or in ${PULUMI_HOME:-$HOME/.pulumi}/plugins)"

# The toolchain's files this run built or uses go first on PATH through a folder of links, with
# the chosen random plugin: Pulumi takes a pulumi-resource-<name> on PATH over any other. Only
# those: an installed pulumi, its plugins and the user's kubectl are not shadowed by files a
# previous run left in the toolchain folder.
rm -rf "$links" && mkdir -p "$links"
for part in "${parts[@]}"; do
  case $part in
    cli) files='pulumi pulumi-resource-kubernetes' ;;
    kubernetes) files='pulumi-resource-kubernetes' ;;
    cluster) files='etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok' ;;
    *) files='' ;; # random: linked below
  esac
  for f in $files; do ln -s "$OBS_STACK_TOOLCHAIN_BIN/$f" "$links/"; done
done
ln -sf "$random" "$links/pulumi-resource-random"
export PATH=$links:$PATH
echo "up: the Pulumi CLI: $(readlink -f "$(command -v pulumi)")"

# UP_DRY_RUN=1: stop after the choices above (and the build they need), before starting a
# control plane or running Pulumi: a way to check which path a machine takes.
if [ "${UP_DRY_RUN:-0}" = 1 ]; then
  echo "up: UP_DRY_RUN=1: cluster: $target; would run go run ./cmd/deploy -stack $STACK -action $ACTION"
  exit 0
fi

case $target in
  render)
    mkdir -p "$RENDER_DIR" .state/render
    export OBS_STACK_RENDER_DIR
    OBS_STACK_RENDER_DIR=$(cd "$RENDER_DIR" && pwd)
    # Rendering has its own state: it must never share a stack with a deployment.
    export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$PWD/.state/render}
    echo "up: rendering $STACK to $OBS_STACK_RENDER_DIR (Secrets are written there in plain text)"
    ;;
  context) echo "up: using the cluster of kube context '$(kubectl config current-context)'" ;;
  reuse | start)
    if [ "$target" = reuse ]; then
      echo "up: reusing the local control plane in $state"
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
    ;;
esac

# A compact view (changed resources, warnings and errors in full, a summary); VERBOSE=1 shows
# Pulumi's full progress log.
verbose=()
[ "${VERBOSE:-0}" = 1 ] && verbose=(-verbose)
go run ./cmd/deploy -stack "$STACK" -action "$ACTION" "${verbose[@]}"
