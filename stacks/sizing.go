package stacks

import (
	"fmt"
	"math"
	"math/big"

	"k8s.io/apimachinery/pkg/api/resource"
)

// MaxReplicas is a sane maximum of replicas per pod group, far below int32 (a Deployment's
// or StatefulSet's replicas field). Capacity checks skip a group above it (its own bound check
// reports it), so they never loop or allocate per pod of an absurd count.
const MaxReplicas = 1000

// Workload kinds a pod group runs as.
const (
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
	KindDaemonSet   = "DaemonSet"
)

// PodGroup is one set of identical pods the stack runs.
type PodGroup struct {
	// Component names the pods, e.g. loki-ingester.
	Component string `json:"component"`
	// Key is the config key that sizes them, e.g. loki.ingester.
	Key string `json:"key"`
	// Kind is the workload that runs them: Deployment, StatefulSet or DaemonSet.
	Kind     string `json:"kind"`
	Replicas int    `json:"replicas"`
	// ReplicasKey is the key under Key that sets Replicas: replicas, or autoscaling.maxReplicas
	// for a group sized at its autoscaler's most.
	ReplicasKey string    `json:"-"`
	Resources   Resources `json:"resources"`
	// Storage is the PVC size per pod; empty for stateless pods.
	Storage      string `json:"storage,omitempty"`
	AntiAffinity string `json:"antiAffinity"`
	// Sidecars are the resources of the pod's other containers (monitoring's exporters);
	// Requests counts them, the scheduler sums a pod's containers.
	Sidecars []Resources `json:"sidecars,omitempty"`
}

// Sizing lists every pod the spec runs: the Loki targets of its mode, enabled caches, the
// gateway, Alloy (one per node), Kafka, and monitoring's Kafka exporter and canary, with the
// exporter sidecars of memcached and the gateway.
func (s Spec) Sizing() []PodGroup {
	var groups []PodGroup
	monitored := s.Monitoring.Enabled
	add := func(component, key, kind string, w Workload, sidecars ...Resources) {
		// Under an autoscaler the group is sized at its most replicas.
		g := PodGroup{Component: component, Key: key, Kind: kind, Replicas: w.Peak(), ReplicasKey: "replicas", Resources: w.Resources, AntiAffinity: w.AntiAffinity}
		if w.Autoscaling.On() {
			g.ReplicasKey = "autoscaling.maxReplicas"
		}
		if kind == KindStatefulSet {
			g.Storage = w.Storage
		}
		if monitored {
			g.Sidecars = sidecars
		}
		groups = append(groups, g)
	}
	for _, t := range s.Loki.Targets() {
		kind := KindDeployment
		if t.Stateful {
			kind = KindStatefulSet
		}
		add(LokiObjectName(t.Name), "loki."+t.Key, kind, t.Workload)
	}
	for _, c := range []struct {
		name, key string
		cache     Cache
	}{{"loki-chunks-cache", "loki.caches.chunksCache", s.Loki.Caches.ChunksCache}, {"loki-results-cache", "loki.caches.resultsCache", s.Loki.Caches.ResultsCache}} {
		if c.cache.Enabled {
			add(c.name, c.key, KindDeployment, c.cache.Workload(), MemcachedExporterResources)
		}
	}
	add("loki-gateway", "gateway", KindDeployment, s.Gateway.Workload, NginxExporterResources)
	alloy := s.Alloy.Workload
	alloy.Replicas, alloy.AntiAffinity = s.Cluster.Nodes, "one per node"
	add("alloy", "alloy", KindDaemonSet, alloy)
	if s.Kafka.Enabled {
		add("kafka", "kafka", KindStatefulSet, s.Kafka.Workload)
	}
	if monitored && s.Kafka.Enabled {
		add("kafka-exporter", "monitoring.kafkaExporterImage", KindDeployment, Workload{Replicas: 1, Resources: KafkaExporterResources, AntiAffinity: AntiAffinityNone})
	}
	if s.Monitoring.Canary.Enabled {
		add("loki-canary", "monitoring.canary", KindDeployment, Workload{Replicas: 1, Resources: s.Monitoring.Canary.Resources, AntiAffinity: AntiAffinityNone})
	}
	return groups
}

// Workload is the cache's pod sizing: memory request = limit = 1.2 x its size, so the two
// can never disagree.
func (c Cache) Workload() Workload {
	q := Quantities{CPU: c.CPU, Memory: cacheMemory(c.SizeMB)}
	return Workload{Replicas: c.Replicas, Resources: Resources{Requests: q, Limits: q}, AntiAffinity: c.AntiAffinity}
}

// cacheMemory is the pod memory (request = limit) of a memcached cache: 1.2 x its size in
// Mi, rounded up; the one place this rule lives. It is computed in big integers where
// sizeMB x 6 would overflow, so an absurd size reads as the absurd size it is, never a
// wrapped one.
func cacheMemory(sizeMB int) string {
	if sizeMB <= math.MaxInt/6 {
		return fmt.Sprintf("%dMi", (sizeMB*6+4)/5)
	}
	mi := new(big.Int).Mul(big.NewInt(int64(sizeMB)), big.NewInt(6))
	return new(big.Int).Quo(mi.Add(mi, big.NewInt(4)), big.NewInt(5)).String() + "Mi"
}

// Totals are summed requests of a set of pods, in millicores and bytes. Sums saturate at
// math.MaxInt64 (Saturated), so an absurd config never wraps to a small or negative total.
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

var (
	maxBytes = *resource.NewQuantity(math.MaxInt64, resource.BinarySI)
	maxMilli = *resource.NewMilliQuantity(math.MaxInt64, resource.DecimalSI)
)

// amount is a quantity in bytes (or millicores), 0 when unset, invalid or negative (those are
// reported by checkWorkload), saturated at math.MaxInt64 where Value() would wrap.
func amount(s string, milli bool) int64 {
	q, ok := parse(s)
	switch {
	case !ok || q.Sign() <= 0:
		return 0
	case milli && q.Cmp(maxMilli) >= 0, !milli && q.Cmp(maxBytes) >= 0:
		return math.MaxInt64
	case milli:
		return q.MilliValue()
	}
	return q.Value()
}

// Saturated tells whether a value hit the math.MaxInt64 ceiling of the sizing arithmetic.
func Saturated(v int64) bool { return v == math.MaxInt64 }

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// Requests of one pod of the group. Like the API server, an unset request defaults to the
// limit.
func (g PodGroup) Requests() Totals {
	var t Totals
	for _, r := range append([]Resources{g.Resources}, g.Sidecars...) {
		t.MilliCPU = satAdd(t.MilliCPU, amount(effective(r.Requests.CPU, r.Limits.CPU), true))
		t.MemoryBytes = satAdd(t.MemoryBytes, amount(effective(r.Requests.Memory, r.Limits.Memory), false))
	}
	return t
}

// effective is the request the scheduler sees: the limit when no request is set.
func effective(request, limit string) string {
	if request == "" {
		return limit
	}
	return request
}

// Allocatable is what the cluster section says the nodes offer, per node and in all.
func (c Cluster) Allocatable() (perNode, total Totals, ok bool) {
	_, okCPU := parse(c.NodeCPU)
	_, okMem := parse(c.NodeMemory)
	if !okCPU || !okMem || c.Nodes < 1 {
		return Totals{}, Totals{}, false
	}
	perNode = Totals{MilliCPU: amount(c.NodeCPU, true), MemoryBytes: amount(c.NodeMemory, false)}
	nodes := int64(c.Nodes)
	return perNode, Totals{MilliCPU: satMul(perNode.MilliCPU, nodes), MemoryBytes: satMul(perNode.MemoryBytes, nodes)}, true
}

// Requested sums the requests of every pod of the stack.
func (s Spec) Requested() Totals {
	var t Totals
	for _, g := range s.Sizing() {
		r, n := g.Requests(), int64(g.Replicas)
		t.MilliCPU = satAdd(t.MilliCPU, satMul(r.MilliCPU, n))
		t.MemoryBytes = satAdd(t.MemoryBytes, satMul(r.MemoryBytes, n))
	}
	return t
}

// RequestedStorage sums the PVC sizes of every pod of the stack, in bytes.
func (s Spec) RequestedStorage() int64 {
	var total int64
	for _, g := range s.Sizing() {
		total = satAdd(total, satMul(amount(g.Storage, false), int64(g.Replicas)))
	}
	return total
}

// FormatCPU prints millicores as a quantity; a saturated sum reads as "over ...".
func FormatCPU(milli int64) string {
	if Saturated(milli) {
		return "over 9e15"
	}
	return resource.NewMilliQuantity(milli, resource.DecimalSI).String()
}

// FormatBytes prints bytes in Gi with one decimal; a saturated sum reads as "over 8Ei".
func FormatBytes(bytes int64) string {
	if Saturated(bytes) {
		return "over 8Ei"
	}
	return fmt.Sprintf("%.1fGi", float64(bytes)/(1<<30))
}

// percentUsed is 100 x used / of, rounded down, in floating point so it cannot overflow.
func percentUsed(used, of int64) int64 {
	if of <= 0 {
		return 100
	}
	return int64(min(math.Floor(100*float64(used)/float64(of)), 100))
}

// Headroom is the share of the cluster's CPU and memory left free after the stack's requests,
// in percent (0 when the requests exceed the cluster); not ok without nodes, or when a sum
// saturated and the share is unknown.
func (s Spec) Headroom() (cpuPercent, memoryPercent int64, ok bool) {
	_, total, ok := s.Cluster.Allocatable()
	req := s.Requested()
	if !ok || Saturated(total.MilliCPU) || Saturated(total.MemoryBytes) || Saturated(req.MilliCPU) || Saturated(req.MemoryBytes) {
		return 0, 0, false
	}
	return 100 - percentUsed(req.MilliCPU, total.MilliCPU), 100 - percentUsed(req.MemoryBytes, total.MemoryBytes), true
}
