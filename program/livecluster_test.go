package program

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// standInKubectl puts a kubectl on PATH that answers `get nodes` with one node of 32 CPU /
// 64Gi and `get crd ...` with crdJSON, and records its arguments.
func standInKubectl(t *testing.T, crdJSON string) (calls string) {
	t.Helper()
	dir := t.TempDir()
	nodes := `{"items":[{"metadata":{"name":"n1"},"spec":{},"status":{"allocatable":{"cpu":"32","memory":"64Gi"}}},` +
		`{"metadata":{"name":"n2"},"spec":{},"status":{"allocatable":{"cpu":"32","memory":"64Gi"}}},` +
		`{"metadata":{"name":"n3"},"spec":{},"status":{"allocatable":{"cpu":"32","memory":"64Gi"}}}]}`
	log := filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho \"$*\" >> " + log + "\ncase \"$2\" in\n" +
		"nodes) cat <<'EOF'\n" + nodes + "\nEOF\n;;\n" +
		"crd) cat <<'EOF'\n" + crdJSON + "\nEOF\n;;\n" +
		"*) echo unexpected >&2; exit 1;;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

// TestMonitoringNeedsTheOperatorsCRDs: with cluster.useLiveNodes, preview asks the cluster for
// the Prometheus Operator's CRDs and refuses monitoring.enabled without them, by key and fix.
func TestMonitoringNeedsTheOperatorsCRDs(t *testing.T) {
	config := map[string]string{"obs-stack:cluster.useLiveNodes": "true"}
	log := standInKubectl(t, "")
	_, err := run(t, "prod", config)
	want := `obs-stack:monitoring.enabled = true: the cluster (cluster.useLiveNodes) has no podmonitors.monitoring.coreos.com, servicemonitors.monitoring.coreos.com, prometheusrules.monitoring.coreos.com: the Prometheus Operator is not installed, and the apply would fail with "no matches for kind"; fix: install kube-prometheus-stack or the Prometheus Operator's CRDs first, or set obs-stack:monitoring.enabled false`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("prod without the CRDs: %v\nwant %s", err, want)
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "get crd podmonitors.monitoring.coreos.com servicemonitors.monitoring.coreos.com prometheusrules.monitoring.coreos.com -o json --ignore-not-found") {
		t.Errorf("kubectl calls: %s", calls)
	}

	// Monitoring off: the CRDs are not asked for.
	off := map[string]string{"obs-stack:cluster.useLiveNodes": "true", "obs-stack:monitoring.enabled": "false"}
	log = standInKubectl(t, "")
	if _, err := run(t, "prod", off); err != nil {
		t.Errorf("prod with monitoring off: %v", err)
	}
	if calls, _ := os.ReadFile(log); strings.Contains(string(calls), "crd") {
		t.Errorf("monitoring off asked for CRDs: %s", calls)
	}

	crd := func(name string) string {
		return `{"kind":"CustomResourceDefinition","metadata":{"name":"` + name + `"}}`
	}
	standInKubectl(t, `{"kind":"List","items":[`+crd("podmonitors.monitoring.coreos.com")+","+crd("servicemonitors.monitoring.coreos.com")+","+crd("prometheusrules.monitoring.coreos.com")+`]}`)
	if _, err := run(t, "prod", config); err != nil {
		t.Errorf("prod with the CRDs installed: %v", err)
	}
}
