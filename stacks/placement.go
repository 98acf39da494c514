package stacks

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Placement is where the kube-scheduler would put the stack's pods on the nodes the cluster
// section describes: Alloy's DaemonSet pod on every node first, then the other groups,
// largest pods first, each pod on the first node with room for its CPU and memory requests
// and, under hard anti-affinity, no pod of its own group yet.
//
// First-fit decreasing is a heuristic: in rare cases it refuses a packing that exists (the
// scheduler, placing pods in creation order, is no smarter). Soft anti-affinity is only a
// preference, so it is ignored for fit.
type Placement struct {
	// Nodes are the nodes pods landed on, in order; the cluster's other nodes run Alloy only.
	// This is the tightest packing, not where the scheduler (which spreads) puts the pods.
	Nodes []NodeLoad
	// Pending are the groups with pods that found no node, in placement order.
	Pending []Pending
}

// NodeLoad is what one node runs, Alloy included.
type NodeLoad struct {
	Pods int
	Totals
}

// Pending is a group whose last pods find no node; the scheduler's reasons count the nodes
// that refuse them ("0/3 nodes are available: 3 Insufficient memory").
type Pending struct {
	Group PodGroup
	// Zone is the zone the pods were placed in ("" without zones); Replicas is the group's share
	// of it and Nodes its nodes.
	Zone                   string
	Replicas, Nodes        int
	Pods, Placed           int
	NoCPU, NoMemory, Taken int // nodes short of CPU, of memory, holding a pod of the group (hard anti-affinity)
}

// placing is one group queued for placement: pods identical pods of size.
type placing struct {
	group PodGroup
	size  Totals
	pods  int
	share float64 // the larger fraction of a node's CPU or memory one pod takes
}

// Place places the stack's pods; ok is false when the cluster section gives no nodes to place
// on (its own checks report that). Groups that are reported elsewhere are left out: replicas
// below 1 or above MaxReplicas, a pod bigger than an empty node, and under hard anti-affinity
// the replicas beyond one per node. Work and memory are bounded by MaxReplicas per group,
// whatever cluster.nodes says.
//
// With zones, each zone is placed on its own: its share of cluster.nodes (dealt in turn) takes
// its share of every group's replicas (Cluster.ZoneShare, as the topology spread and the
// per-zone StatefulSets put them), the first zones taking the pods that do not divide evenly.
func (s Spec) Place() (p Placement, ok bool) {
	perNode, _, ok := s.Cluster.Allocatable()
	zones := s.Cluster.ZoneCount()
	if !ok || perNode.MilliCPU <= 0 || perNode.MemoryBytes <= 0 || s.Cluster.Nodes < zones {
		return Placement{}, false
	}
	for i := range zones {
		zone := ""
		if s.Cluster.Zoned() {
			zone = s.Cluster.Zones.Names[i]
		}
		zp := s.placeZone(perNode, zone, s.Cluster.ZoneShare(s.Cluster.Nodes, i), func(replicas int) int { return s.Cluster.ZoneShare(replicas, i) })
		p.Nodes = append(p.Nodes, zp.Nodes...)
		p.Pending = append(p.Pending, zp.Pending...)
	}
	return p, true
}

// placeZone places, on nodeCount nodes of zone, each group's share of its replicas.
func (s Spec) placeZone(perNode Totals, zone string, nodeCount int, share func(replicas int) int) (p Placement) {
	var daemon Totals
	daemonPods := 0 // Alloy stays Pending everywhere, taking nothing, when its pod is bigger than a node
	var queue []placing
	podCount := 0
	for _, g := range s.Sizing() {
		size := g.Requests()
		bigger := size.MilliCPU > perNode.MilliCPU || size.MemoryBytes > perNode.MemoryBytes
		switch {
		case g.Kind == KindDaemonSet:
			if !bigger {
				daemon, daemonPods = size, 1
			}
		case g.Replicas < 1 || g.Replicas > MaxReplicas || bigger || share(g.Replicas) == 0:
		default:
			pods := share(g.Replicas)
			if g.AntiAffinity == AntiAffinityHard {
				pods = min(pods, nodeCount)
			}
			share := max(float64(size.MilliCPU)/float64(perNode.MilliCPU), float64(size.MemoryBytes)/float64(perNode.MemoryBytes))
			queue = append(queue, placing{group: g, size: size, pods: pods, share: share})
			podCount += pods
		}
	}
	sort.SliceStable(queue, func(i, j int) bool { return queue[i].share > queue[j].share })

	// Untouched nodes are all alike, and a pod that fits none of them fits no untouched node:
	// one node more than there are pods stands for every node beyond (weight), so a huge
	// cluster.nodes costs nothing.
	simulated := min(nodeCount, podCount+1)
	weight := func(i int) int {
		if i == simulated-1 {
			return nodeCount - simulated + 1
		}
		return 1
	}
	nodes := make([]NodeLoad, simulated)
	for i := range nodes {
		nodes[i] = NodeLoad{Pods: daemonPods, Totals: daemon}
	}
	used := 0 // nodes that run more than Alloy
	for _, q := range queue {
		hard := q.group.AntiAffinity == AntiAffinityHard
		taken := make(map[int]bool)
		noCPU := func(n NodeLoad) bool { return q.size.MilliCPU > perNode.MilliCPU-n.MilliCPU }
		noMemory := func(n NodeLoad) bool { return q.size.MemoryBytes > perNode.MemoryBytes-n.MemoryBytes }
		// Loads only grow, so the nodes before the one the group's last pod took refuse this
		// identical pod too: each group scans the nodes once.
		from := 0
		for placed := 0; placed < q.pods; placed++ {
			node := -1
			for i := from; i < len(nodes); i++ {
				if n := nodes[i]; !noCPU(n) && !noMemory(n) && !(hard && taken[i]) {
					node = i
					break
				}
			}
			if node < 0 { // the pods left are identical and the nodes unchanged: all of them stay Pending
				pending := Pending{Group: q.group, Zone: zone, Replicas: share(q.group.Replicas), Nodes: nodeCount, Pods: q.pods - placed, Placed: placed}
				for i, n := range nodes {
					// The scheduler's resource filter runs before the affinity filter.
					switch {
					case noCPU(n) || noMemory(n):
						if noCPU(n) {
							pending.NoCPU += weight(i)
						}
						if noMemory(n) {
							pending.NoMemory += weight(i)
						}
					case hard && taken[i]:
						pending.Taken += weight(i)
					}
				}
				p.Pending = append(p.Pending, pending)
				break
			}
			taken[node], from = true, node
			nodes[node].Pods++
			nodes[node].MilliCPU += q.size.MilliCPU // below perNode: the fit check above
			nodes[node].MemoryBytes += q.size.MemoryBytes
			used = max(used, node+1)
		}
	}
	p.Nodes = nodes[:used]
	return p
}

// checkCapacity fits the stack's pods onto the nodes the cluster section describes.
func (s Spec) checkCapacity(c *checker) {
	s.checkRollouts(c)
	perNode, _, ok := s.Cluster.Allocatable()
	if !ok {
		return // the cluster section's own problems are reported already
	}
	for _, g := range s.Sizing() {
		r := g.Requests()
		k := s.sizingKeys(g)
		if r.MemoryBytes > perNode.MemoryBytes {
			c.fail(k.memory, k.memoryValue,
				fmt.Sprintf("one %s pod requests %s of memory but a node has %s allocatable, so it stays Pending (\"Insufficient memory\")", g.Component, effective(g.Resources.Requests.Memory, g.Resources.Limits.Memory), s.Cluster.NodeMemory),
				"%s", k.memoryFix)
		}
		if r.MilliCPU > perNode.MilliCPU {
			c.fail(k.cpu, k.cpuValue,
				fmt.Sprintf("one %s pod requests %s CPU but a node has %s allocatable, so it stays Pending (\"Insufficient cpu\")", g.Component, effective(g.Resources.Requests.CPU, g.Resources.Limits.CPU), s.Cluster.NodeCPU),
				"lower obs-stack:%s or use bigger nodes (obs-stack:cluster.nodeCPU)", k.cpu)
		}
	}
	placement, ok := s.Place()
	if !ok {
		return
	}
	if len(placement.Pending) > 0 {
		s.blame(c, placement.Pending)
		return
	}
	cpuLeft, memLeft, ok := s.Headroom()
	if left := min(cpuLeft, memLeft); ok && left < int64(s.Cluster.MinHeadroomPercent) {
		req := s.Requested()
		_, total, _ := s.Cluster.Allocatable()
		c.warn("cluster.minHeadroomPercent", s.Cluster.MinHeadroomPercent,
			fmt.Sprintf("only %d%% of the cluster's CPU or memory stays free after the stack's requests (%s CPU, %s of %s CPU, %s)",
				left, FormatCPU(req.MilliCPU), FormatBytes(req.MemoryBytes), FormatCPU(total.MilliCPU), FormatBytes(total.MemoryBytes)),
			"add nodes or lower requests; rolling updates and other workloads need room")
	}
}

// blame fails the first group, in placement order, whose pods find no node: the pods placed
// before it are Alloy and larger ones, so it is the group that grew past the room left. Its
// own key is named (the request the nodes are short of), never cluster.nodes.
func (s Spec) blame(c *checker, pending []Pending) {
	p, g := pending[0], pending[0].Group
	k := s.sizingKeys(g)
	key, value, short, nodeKey := k.memory, k.memoryValue, "memory", "cluster.nodeMemory"
	if p.NoCPU > p.NoMemory {
		key, value, short, nodeKey = k.cpu, k.cpuValue, "CPU", "cluster.nodeCPU"
	}
	var refusals []string
	for _, r := range []struct {
		nodes  int
		reason string
	}{{p.NoCPU, "Insufficient cpu"}, {p.NoMemory, "Insufficient memory"}, {p.Taken, "node(s) didn't match pod anti-affinity rules"}} {
		if r.nodes > 0 {
			refusals = append(refusals, fmt.Sprintf("%d %s", r.nodes, r.reason))
		}
	}
	cl := s.Cluster
	where := ""
	if p.Zone != "" {
		where = fmt.Sprintf(" in zone %s (its share of the %d replicas)", p.Zone, g.Replicas)
	}
	reason := fmt.Sprintf("%d of %d %s pods%s %s no node among %d node(s) of %s CPU / %s beside Alloy (one pod per node) and the pods placed before (largest first): \"0/%d nodes are available: %s\", so %s Pending",
		p.Pods, p.Replicas, g.Component, where, plural(p.Pods, "finds", "find"), p.Nodes, cl.NodeCPU, cl.NodeMemory, p.Nodes, strings.Join(refusals, ", "), plural(p.Pods, "it stays", "they stay"))
	if len(pending) > 1 {
		pods, components := 0, []string{}
		for _, other := range pending[1:] {
			pods += other.Pods
			if !slices.Contains(components, other.Group.Component) { // a group of every zone
				components = append(components, other.Group.Component)
			}
		}
		reason += fmt.Sprintf("; %d more %s of %s stay Pending after it", pods, plural(pods, "pod", "pods"), strings.Join(components, ", "))
	}
	if req, total := s.Requested(), s.totalAllocatable(); req.MilliCPU > total.MilliCPU || req.MemoryBytes > total.MemoryBytes {
		reason += fmt.Sprintf(" (in all the stack requests %s CPU and %s, the nodes offer %s CPU and %s)",
			FormatCPU(req.MilliCPU), FormatBytes(req.MemoryBytes), FormatCPU(total.MilliCPU), FormatBytes(total.MemoryBytes))
	}
	fix := "lower obs-stack:" + key
	if p.Placed > 0 {
		fix += fmt.Sprintf(" or obs-stack:%s.%s to %d", g.Key, g.ReplicasKey, p.Placed)
	}
	c.fail(key, value, reason, "%s, or add nodes (obs-stack:cluster.nodes) or use nodes with more %s (obs-stack:%s)", fix, short, nodeKey)
}

func (s Spec) totalAllocatable() Totals {
	_, total, _ := s.Cluster.Allocatable()
	return total
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// checkRollouts warns about Deployments whose rolling update cannot complete: the default
// strategy adds a surge pod (maxSurge 25%, rounded up) before it removes an old one when
// maxUnavailable (25%, rounded down) is 0, i.e. below 4 replicas; under hard anti-affinity
// with a pod on every node, that surge pod has no node. Hard anti-affinity is possible on the
// gateway, the stateless Loki targets and the memcached caches; StatefulSets replace pods in
// place and Alloy is a DaemonSet.
func (s Spec) checkRollouts(c *checker) {
	nodes := s.Cluster.Nodes
	for _, g := range s.Sizing() {
		if g.Kind != KindDeployment || g.AntiAffinity != AntiAffinityHard || g.Replicas != nodes || nodes < 1 || g.Replicas/4 > 0 {
			continue
		}
		fix := fmt.Sprintf("set obs-stack:%s.antiAffinity to soft, or add a node (obs-stack:cluster.nodes)", g.Key)
		if nodes > 1 {
			fix += fmt.Sprintf(", or lower obs-stack:%s.%s to %d", g.Key, g.ReplicasKey, nodes-1)
		}
		c.warn(g.Key+".antiAffinity", g.AntiAffinity,
			fmt.Sprintf("%d %s replicas on %d node(s) under hard anti-affinity leave no node for the surge pod a rolling update of the Deployment adds first (maxUnavailable 25%% rounds down to 0), so the pod stays Pending and every rollout hangs",
				g.Replicas, g.Component, nodes), fix)
	}
}

// sizingKeys are the config keys, values and fix of a group's memory and CPU: a cache is
// sized by sizeMB and cpu, everything else by its resources.requests.
type sizingKeys struct {
	memory, cpu           string
	memoryValue, cpuValue any
	memoryFix             string
}

func (s Spec) sizingKeys(g PodGroup) sizingKeys {
	k := sizingKeys{
		memory: g.Key + ".resources.requests.memory", memoryValue: g.Resources.Requests.Memory,
		cpu: g.Key + ".resources.requests.cpu", cpuValue: g.Resources.Requests.CPU,
	}
	k.memoryFix = fmt.Sprintf("lower obs-stack:%s or use nodes with more memory (obs-stack:cluster.nodeMemory)", k.memory)
	if cache, ok := s.cacheByKey(g.Key); ok {
		k.memory, k.memoryValue = g.Key+".sizeMB", cache.SizeMB
		k.cpu, k.cpuValue = g.Key+".cpu", cache.CPU
		k.memoryFix = fmt.Sprintf("lower obs-stack:%s (pod memory is 1.2 x the cache size) or use bigger nodes", k.memory)
	}
	return k
}

func (s Spec) cacheByKey(key string) (Cache, bool) {
	switch key {
	case "loki.caches.chunksCache":
		return s.Loki.Caches.ChunksCache, true
	case "loki.caches.resultsCache":
		return s.Loki.Caches.ResultsCache, true
	}
	return Cache{}, false
}
