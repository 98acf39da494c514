package preflight

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"obs-stack/stacks"
)

// ApplyLiveNodes replaces c, the cluster section,'s node facts with those of the live cluster
// (the output of `kubectl get nodes -o json`): the schedulable nodes (not cordoned, no
// NoSchedule/NoExecute taint) and, conservatively, the smallest allocatable CPU and memory
// among them.
func ApplyLiveNodes(c *stacks.Cluster, kubectlJSON []byte) error {
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

// MonitoringCRDs are the Prometheus Operator CRDs monitoring.enabled creates objects of.
var MonitoringCRDs = []string{"podmonitors.monitoring.coreos.com", "servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"}

// KEDACRD is the CRD of the ScaledObjects autoscaling.onQueue creates.
const KEDACRD = "scaledobjects.keda.sh"

// MissingCRDs reads the live cluster's CRDs (the output of `kubectl get crd <want> -o json
// --ignore-not-found`, a List or, for one found, the object) and returns those of want it
// lacks.
func MissingCRDs(want []string, kubectlJSON []byte) ([]string, error) {
	found := map[string]bool{}
	if len(strings.TrimSpace(string(kubectlJSON))) > 0 {
		var list metav1.PartialObjectMetadataList
		if err := json.Unmarshal(kubectlJSON, &list); err != nil {
			return nil, fmt.Errorf("reading the cluster's CRDs: %w", err)
		}
		if list.Kind != "List" && !strings.HasSuffix(list.Kind, "List") {
			var one metav1.PartialObjectMetadata
			if err := json.Unmarshal(kubectlJSON, &one); err != nil {
				return nil, fmt.Errorf("reading the cluster's CRDs: %w", err)
			}
			list.Items = append(list.Items, one)
		}
		for _, item := range list.Items {
			found[item.Name] = true
		}
	}
	var missing []string
	for _, name := range want {
		if !found[name] {
			missing = append(missing, name)
		}
	}
	return missing, nil
}
