package stacks

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
)

// PodGroup is one set of identical pods the stack runs.
type PodGroup struct {
	// Component names the pods, e.g. loki-ingester.
	Component string `json:"component"`
	// Key is the config key that sizes them, e.g. loki.ingester.
	Key       string    `json:"key"`
	Replicas  int       `json:"replicas"`
	Resources Resources `json:"resources"`
	// Storage is the PVC size per pod; empty for stateless pods.
	Storage      string `json:"storage,omitempty"`
	AntiAffinity string `json:"antiAffinity"`
}

// Sizing lists every pod the spec runs: the Loki targets of its mode, enabled caches, the
// gateway, Alloy (one per node) and Kafka.
func (s Spec) Sizing() []PodGroup {
	var groups []PodGroup
	add := func(component, key string, w Workload, stateful bool) {
		g := PodGroup{Component: component, Key: key, Replicas: w.Replicas, Resources: w.Resources, AntiAffinity: w.AntiAffinity}
		if stateful {
			g.Storage = w.Storage
		}
		groups = append(groups, g)
	}
	for _, t := range s.Loki.Targets() {
		add("loki-"+t.Name, "loki."+t.Key, t.Workload, t.Stateful)
	}
	for _, c := range []struct {
		name, key string
		cache     Cache
	}{{"loki-chunks-cache", "loki.caches.chunksCache", s.Loki.Caches.ChunksCache}, {"loki-results-cache", "loki.caches.resultsCache", s.Loki.Caches.ResultsCache}} {
		if c.cache.Enabled {
			add(c.name, c.key, c.cache.Workload(), false)
		}
	}
	add("loki-gateway", "gateway", s.Gateway.Workload, false)
	alloy := s.Alloy.Workload
	alloy.Replicas, alloy.AntiAffinity = s.Cluster.Nodes, "one per node" // a DaemonSet
	add("alloy", "alloy", alloy, false)
	if s.Kafka.Enabled {
		add("kafka", "kafka", s.Kafka.Workload, true)
	}
	return groups
}

// Workload is the cache's pod sizing: memory request = limit = 1.2 x its size, so the two
// can never disagree.
func (c Cache) Workload() Workload {
	memory := fmt.Sprintf("%dMi", CacheMemoryMi(c.SizeMB))
	q := Quantities{CPU: c.CPU, Memory: memory}
	return Workload{Replicas: c.Replicas, Resources: Resources{Requests: q, Limits: q}, AntiAffinity: c.AntiAffinity}
}

// Totals are summed requests of a set of pods, in millicores and bytes.
type Totals struct {
	MilliCPU, MemoryBytes int64
}

func parse(q string) (resource.Quantity, bool) {
	if q == "" {
		return resource.Quantity{}, false
	}
	v, err := resource.ParseQuantity(q)
	return v, err == nil
}

// Requests of one pod of the group.
func (g PodGroup) Requests() Totals {
	cpu, _ := parse(g.Resources.Requests.CPU)
	mem, _ := parse(g.Resources.Requests.Memory)
	return Totals{MilliCPU: cpu.MilliValue(), MemoryBytes: mem.Value()}
}

// Allocatable is what the cluster section says the nodes offer, per node and in all.
func (c Cluster) Allocatable() (perNode, total Totals, ok bool) {
	cpu, okCPU := parse(c.NodeCPU)
	mem, okMem := parse(c.NodeMemory)
	if !okCPU || !okMem || c.Nodes < 1 {
		return Totals{}, Totals{}, false
	}
	perNode = Totals{MilliCPU: cpu.MilliValue(), MemoryBytes: mem.Value()}
	return perNode, Totals{MilliCPU: perNode.MilliCPU * int64(c.Nodes), MemoryBytes: perNode.MemoryBytes * int64(c.Nodes)}, true
}

// Requested sums the requests of every pod of the stack.
func (s Spec) Requested() Totals {
	var t Totals
	for _, g := range s.Sizing() {
		r := g.Requests()
		t.MilliCPU += r.MilliCPU * int64(g.Replicas)
		t.MemoryBytes += r.MemoryBytes * int64(g.Replicas)
	}
	return t
}

func cpuString(milli int64) string {
	return resource.NewMilliQuantity(milli, resource.DecimalSI).String()
}
func memString(bytes int64) string {
	return fmt.Sprintf("%.1fGi", float64(bytes)/(1<<30))
}

// checkCapacity fits the stack's pods onto the nodes the cluster section describes.
func (s Spec) checkCapacity(c *checker) {
	perNode, total, ok := s.Cluster.Allocatable()
	if !ok {
		return // the cluster section's own problems are reported already
	}
	for _, g := range s.Sizing() {
		r := g.Requests()
		memKey, cpuKey := g.Key+".resources.requests.memory", g.Key+".resources.requests.cpu"
		var memValue any = g.Resources.Requests.Memory
		memFix := fmt.Sprintf("lower obs-stack:%s or use nodes with more memory (obs-stack:cluster.nodeMemory)", memKey)
		if cache, ok := s.cacheByKey(g.Key); ok {
			memKey, memValue = g.Key+".sizeMB", cache.SizeMB
			memFix = fmt.Sprintf("lower obs-stack:%s (pod memory is 1.2 x the cache size) or use bigger nodes", memKey)
		}
		if r.MemoryBytes > perNode.MemoryBytes {
			c.fail(memKey, memValue,
				fmt.Sprintf("one %s pod requests %s of memory but a node has %s allocatable, so it stays Pending (\"Insufficient memory\")", g.Component, g.Resources.Requests.Memory, s.Cluster.NodeMemory),
				"%s", memFix)
		}
		if r.MilliCPU > perNode.MilliCPU {
			c.fail(cpuKey, g.Resources.Requests.CPU,
				fmt.Sprintf("one %s pod requests %s CPU but a node has %s allocatable, so it stays Pending (\"Insufficient cpu\")", g.Component, g.Resources.Requests.CPU, s.Cluster.NodeCPU),
				"lower obs-stack:%s or use bigger nodes (obs-stack:cluster.nodeCPU)", cpuKey)
		}
	}
	req := s.Requested()
	if req.MilliCPU > total.MilliCPU || req.MemoryBytes > total.MemoryBytes {
		c.fail("cluster.nodes", s.Cluster.Nodes,
			fmt.Sprintf("the stack requests %s CPU and %s memory but %d node(s) of %s CPU / %s provide %s CPU and %s",
				cpuString(req.MilliCPU), memString(req.MemoryBytes), s.Cluster.Nodes, s.Cluster.NodeCPU, s.Cluster.NodeMemory, cpuString(total.MilliCPU), memString(total.MemoryBytes)),
			"%s", capacityFix(s.Loki.Mode))
		return
	}
	cpuLeft := 100 - 100*req.MilliCPU/total.MilliCPU
	memLeft := 100 - 100*req.MemoryBytes/total.MemoryBytes
	if left := min(cpuLeft, memLeft); left < int64(s.Cluster.MinHeadroomPercent) {
		c.warn("cluster.minHeadroomPercent", s.Cluster.MinHeadroomPercent,
			fmt.Sprintf("only %d%% of the cluster's CPU or memory stays free after the stack's requests (%s CPU, %s of %s CPU, %s)",
				left, cpuString(req.MilliCPU), memString(req.MemoryBytes), cpuString(total.MilliCPU), memString(total.MemoryBytes)),
			"add nodes or lower requests; rolling updates and other workloads need room")
	}
}

func capacityFix(mode string) string {
	if mode == SingleBinary {
		return "add nodes (obs-stack:cluster.nodes) or lower requests"
	}
	return "set obs-stack:loki.mode SingleBinary, add nodes (obs-stack:cluster.nodes) or lower replicas and requests"
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
