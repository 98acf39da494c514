package program

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"obs-stack/preflight"
	"obs-stack/stacks"
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

// The live-cluster readers preflight runs kubectl output through.

func TestApplyLiveNodes(t *testing.T) {
	kubectl := []byte(`{"items":[
		{"metadata":{"name":"a"},"spec":{},"status":{"allocatable":{"cpu":"4","memory":"8Gi"}}},
		{"metadata":{"name":"b"},"spec":{},"status":{"allocatable":{"cpu":"3800m","memory":"16Gi"}}},
		{"metadata":{"name":"cordoned"},"spec":{"unschedulable":true},"status":{"allocatable":{"cpu":"1","memory":"1Gi"}}},
		{"metadata":{"name":"control-plane"},"spec":{"taints":[{"effect":"NoSchedule"}]},"status":{"allocatable":{"cpu":"1","memory":"1Gi"}}}]}`)
	c := stacks.Dev().Cluster
	if err := preflight.ApplyLiveNodes(&c, kubectl); err != nil {
		t.Fatal(err)
	}
	if c.Nodes != 2 || c.NodeCPU != "3800m" || c.NodeMemory != "8Gi" {
		t.Errorf("live nodes = %d x %s / %s, want 2 x 3800m / 8Gi", c.Nodes, c.NodeCPU, c.NodeMemory)
	}
	if err := preflight.ApplyLiveNodes(&c, []byte(`{"items":[]}`)); err == nil {
		t.Error("a cluster without schedulable nodes must be an error")
	}
}

func TestMissingCRDs(t *testing.T) {
	crd := func(name string) string {
		return `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"` + name + `"}}`
	}
	for _, c := range []struct {
		name, kubectl string
		want          string
	}{
		{"none installed (--ignore-not-found prints nothing)", "", "podmonitors.monitoring.coreos.com servicemonitors.monitoring.coreos.com prometheusrules.monitoring.coreos.com"},
		{"empty list", `{"apiVersion":"v1","kind":"List","items":[]}`, "podmonitors.monitoring.coreos.com servicemonitors.monitoring.coreos.com prometheusrules.monitoring.coreos.com"},
		{"all three", `{"apiVersion":"v1","kind":"List","items":[` + crd("prometheusrules.monitoring.coreos.com") + `,` + crd("servicemonitors.monitoring.coreos.com") + `,` + crd("podmonitors.monitoring.coreos.com") + `]}`, ""},
		{"an old operator without PodMonitor", `{"kind":"List","items":[` + crd("prometheusrules.monitoring.coreos.com") + `,` + crd("servicemonitors.monitoring.coreos.com") + `]}`, "podmonitors.monitoring.coreos.com"},
		{"one found prints the object itself", crd("servicemonitors.monitoring.coreos.com"), "podmonitors.monitoring.coreos.com prometheusrules.monitoring.coreos.com"},
		{"same names in another group do not count", `{"kind":"List","items":[` + crd("podmonitors.example.com") + `]}`, "podmonitors.monitoring.coreos.com servicemonitors.monitoring.coreos.com prometheusrules.monitoring.coreos.com"},
	} {
		got, err := preflight.MissingCRDs(preflight.MonitoringCRDs, []byte(c.kubectl))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: missing %q, want %q", c.name, strings.Join(got, " "), c.want)
		}
	}
	if _, err := preflight.MissingCRDs(preflight.MonitoringCRDs, []byte("error: the server doesn't have a resource type")); err == nil {
		t.Error("output that is not JSON must be an error, not 'all missing'")
	}
}
