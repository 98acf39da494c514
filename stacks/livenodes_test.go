package stacks

import (
	"strings"
	"testing"
)

func TestApplyLiveNodes(t *testing.T) {
	kubectl := []byte(`{"items":[
		{"metadata":{"name":"a"},"spec":{},"status":{"allocatable":{"cpu":"4","memory":"8Gi"}}},
		{"metadata":{"name":"b"},"spec":{},"status":{"allocatable":{"cpu":"3800m","memory":"16Gi"}}},
		{"metadata":{"name":"cordoned"},"spec":{"unschedulable":true},"status":{"allocatable":{"cpu":"1","memory":"1Gi"}}},
		{"metadata":{"name":"control-plane"},"spec":{"taints":[{"effect":"NoSchedule"}]},"status":{"allocatable":{"cpu":"1","memory":"1Gi"}}}]}`)
	c := Dev().Cluster
	if err := c.ApplyLiveNodes(kubectl); err != nil {
		t.Fatal(err)
	}
	if c.Nodes != 2 || c.NodeCPU != "3800m" || c.NodeMemory != "8Gi" {
		t.Errorf("live nodes = %d x %s / %s, want 2 x 3800m / 8Gi", c.Nodes, c.NodeCPU, c.NodeMemory)
	}
	if err := c.ApplyLiveNodes([]byte(`{"items":[]}`)); err == nil {
		t.Error("a cluster without schedulable nodes must be an error")
	}
}

func TestMissingMonitoringCRDs(t *testing.T) {
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
		got, err := MissingMonitoringCRDs([]byte(c.kubectl))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: missing %q, want %q", c.name, strings.Join(got, " "), c.want)
		}
	}
	if _, err := MissingMonitoringCRDs([]byte("error: the server doesn't have a resource type")); err == nil {
		t.Error("output that is not JSON must be an error, not 'all missing'")
	}
}
