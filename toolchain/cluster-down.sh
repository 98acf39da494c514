#!/usr/bin/env bash
# Stops the control plane that cluster-up.sh started in STATE_DIR, by recorded PID only and in
# reverse order (kwok, scheduler, controller-manager, apiserver, etcd), waiting for each to exit:
# stopping the apiserver and etcd together hangs the apiserver. Keeps etcd data and certificates.
# Usage: bash toolchain/cluster-down.sh STATE_DIR
set -euo pipefail
R=${1:?usage: cluster-down.sh STATE_DIR}

for c in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
  f=$R/$c.pid
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  # Only signal the process if that PID still runs our binary (PIDs get reused).
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "/$c "; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "cluster-down: $c (pid $pid) ignored SIGTERM for 30 s; killing it" >&2
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
done
