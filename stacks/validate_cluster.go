package stacks

import (
	"obs-stack/stacks/check"

	"fmt"
	"slices"
)

// clusterNamespaces belong to the cluster itself: the stack never owns them or denies traffic there.
var clusterNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

func (s Spec) checkCluster(c *checker) {
	cl := s.Cluster
	check.DNSLabel(c, "cluster.namespace", cl.Namespace)
	if slices.Contains(clusterNamespaces, cl.Namespace) && (cl.CreateNamespace || cl.NetworkPolicies) {
		c.fail("cluster.namespace", cl.Namespace, "the namespace belongs to the cluster: the stack would own it (and delete it on destroy) or put a default-deny NetworkPolicy over the cluster's own pods",
			"use a namespace of the stack's own, e.g. observability-%s", "<stack>")
	}
	if cl.Nodes < 1 || cl.Nodes > MaxNodes {
		c.fail("cluster.nodes", cl.Nodes, fmt.Sprintf("a cluster has 1 to %d schedulable nodes", MaxNodes), "set it to the number of nodes the stack may use")
	}
	if cl.MinHeadroomPercent < 0 || cl.MinHeadroomPercent > 99 {
		c.fail("cluster.minHeadroomPercent", cl.MinHeadroomPercent, "a share of the cluster is 0 to 99 percent", "set it to e.g. 20 (0 turns the warning off)")
	}
	positiveQuantity(c, "cluster.nodeCPU", cl.NodeCPU, "4")
	positiveQuantity(c, "cluster.nodeMemory", cl.NodeMemory, "8Gi")
	if cl.StorageClass != "" {
		check.DNSSubdomain(c, "cluster.storageClass", cl.StorageClass)
	}
	check.DNSSubdomain(c, "cluster.dnsService", cl.DNSService)
	check.DNSSubdomain(c, "cluster.domain", cl.Domain)
}
