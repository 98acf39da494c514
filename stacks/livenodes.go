package stacks

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
)

// nodeList is the part of `kubectl get nodes -o json` the capacity checks need.
type nodeList struct {
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Unschedulable bool `json:"unschedulable"`
			Taints        []struct {
				Effect string `json:"effect"`
			} `json:"taints"`
		} `json:"spec"`
		Status struct {
			Allocatable map[string]string `json:"allocatable"`
		} `json:"status"`
	} `json:"items"`
}

// ApplyLiveNodes replaces the cluster section's node facts with those of the live cluster
// (the output of `kubectl get nodes -o json`): the schedulable nodes (not cordoned, no
// NoSchedule/NoExecute taint) and, conservatively, the smallest allocatable CPU and memory
// among them.
func (c *Cluster) ApplyLiveNodes(kubectlJSON []byte) error {
	var nodes nodeList
	if err := json.Unmarshal(kubectlJSON, &nodes); err != nil {
		return fmt.Errorf("reading the cluster's nodes: %w", err)
	}
	var count int
	var cpu, memory *resource.Quantity
	for _, n := range nodes.Items {
		schedulable := !n.Spec.Unschedulable
		for _, t := range n.Spec.Taints {
			if t.Effect == "NoSchedule" || t.Effect == "NoExecute" {
				schedulable = false
			}
		}
		if !schedulable {
			continue
		}
		nodeCPU, errCPU := resource.ParseQuantity(n.Status.Allocatable["cpu"])
		nodeMemory, errMem := resource.ParseQuantity(n.Status.Allocatable["memory"])
		if errCPU != nil || errMem != nil {
			return fmt.Errorf("node %s reports no allocatable cpu/memory", n.Metadata.Name)
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
