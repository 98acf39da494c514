package stacks

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ApplyLiveNodes replaces the cluster section's node facts with those of the live cluster
// (the output of `kubectl get nodes -o json`): the schedulable nodes (not cordoned, no
// NoSchedule/NoExecute taint) and, conservatively, the smallest allocatable CPU and memory
// among them.
func (c *Cluster) ApplyLiveNodes(kubectlJSON []byte) error {
	var nodes corev1.NodeList
	if err := json.Unmarshal(kubectlJSON, &nodes); err != nil {
		return fmt.Errorf("reading the cluster's nodes: %w", err)
	}
	var count int
	var cpu, memory *resource.Quantity
	for _, n := range nodes.Items {
		schedulable := !n.Spec.Unschedulable
		for _, t := range n.Spec.Taints {
			if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
				schedulable = false
			}
		}
		if !schedulable {
			continue
		}
		nodeCPU, hasCPU := n.Status.Allocatable[corev1.ResourceCPU]
		nodeMemory, hasMemory := n.Status.Allocatable[corev1.ResourceMemory]
		if !hasCPU || !hasMemory {
			return fmt.Errorf("node %s reports no allocatable cpu/memory", n.Name)
		}
		count++
		if cpu == nil || nodeCPU.Cmp(*cpu) < 0 {
			cpu = &nodeCPU
		}
		if memory == nil || nodeMemory.Cmp(*memory) < 0 {
			memory = &nodeMemory
		}
	}
	if count == 0 {
		return fmt.Errorf("the cluster has no schedulable node")
	}
	c.Nodes, c.NodeCPU, c.NodeMemory = count, cpu.String(), memory.String()
	return nil
}
