package stacks

import (
	"obs-stack/stacks/check"

	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
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
	s.checkZones(c)
}

// checkZones: cluster.zones names two or more distinct zones, each a DNS label (it ends the
// names of the per-zone StatefulSets), under a node label key Kubernetes accepts, with at least
// a node per zone; a per-zone storage class belongs to a declared zone.
func (s Spec) checkZones(c *checker) {
	z := s.Cluster.Zones
	if errs := validation.IsQualifiedName(z.NodeLabel); len(errs) > 0 {
		c.fail("cluster.zones.nodeLabel", z.NodeLabel, "not a node label key: "+strings.Join(errs, "; "),
			"set it to the label that holds a node's zone (kubectl get nodes -L <label>), e.g. topology.kubernetes.io/zone")
	}
	if len(z.Names) == 1 {
		c.fail("cluster.zones.names", z.Names, "one zone is no failure domain: there is nothing to spread over, and zone-aware replication keeps each copy of a stream in another zone",
			"name every zone the stack may use (at least as many as loki.replicationFactor), or remove cluster.zones.names")
	}
	seen := map[string]bool{}
	for i, name := range z.Names {
		key := fmt.Sprintf("cluster.zones.names[%d]", i)
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			c.fail(key, name, "not a zone name obs-stack can use: it ends the names of the per-zone StatefulSets (loki-ingester-<zone>), so it must be a DNS label: "+strings.Join(errs, "; "),
				"write the zone as the nodes' %s label gives it (e.g. eu-west-1a); zones named otherwise are not supported", z.NodeLabel)
		}
		if seen[name] {
			c.fail(key, name, "the zone is named twice", "name each zone once")
		}
		seen[name] = true
	}
	if n := len(z.Names); n > 1 && s.Cluster.Nodes >= 1 && s.Cluster.Nodes < n {
		c.fail("cluster.nodes", s.Cluster.Nodes, fmt.Sprintf("%d zones need a node each, and pods pinned to a zone without nodes stay Pending", n),
			"set obs-stack:cluster.nodes to the nodes of all %d zones (at least %d), or name fewer zones", n, n)
	}
	for _, zone := range slices.Sorted(maps.Keys(z.StorageClasses)) {
		key := "cluster.zones.storageClasses." + zone
		if !seen[zone] {
			c.fail(key, z.StorageClasses[zone], fmt.Sprintf("%q is not one of the zones (cluster.zones.names %v), so no PVC would use the class", zone, z.Names),
				"name the zone in obs-stack:cluster.zones.names, or remove the class")
			continue
		}
		check.DNSSubdomain(c, key, z.StorageClasses[zone])
	}
}
