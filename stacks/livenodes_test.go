package stacks

import "testing"

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
