package stacks_test

import (
	"fmt"
	. "obs-stack/stacks"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Expectations below are worked out by hand from the scheduler's rules (requests fit the
// node's allocatable minus what it runs; Alloy runs on every node; hard anti-affinity allows
// one pod of the group per node), never by calling the code under test.

const gi = float64(1 << 30)

func TestThreeLargePodsOnTwoNodesAreRefusedThoughTheTotalsFit(t *testing.T) {
	kafka := `{"replicas":3,"resources":{"requests":{"memory":"4.9Gi"},"limits":{"memory":"5Gi"}}}`
	// dev: single-binary 256Mi, gateway 32Mi, Alloy 128Mi on each node, and 3 Kafka brokers:
	// 3 x 4.9 + 0.25 + 0.03125 + 2 x 0.125 = 15.23Gi, within the 16Gi of two nodes, so the
	// problem carries no totals clause ("in all the stack requests ...") before its fix.
	// A node holds 8 - 0.125 = 7.875Gi besides Alloy: one 4.9Gi broker, not two (9.8Gi).
	_, err := loadAndValidate("dev", map[string]string{"obs-stack:cluster": `{"nodes":2}`, "obs-stack:kafka": kafka})
	want := `obs-stack:kafka.resources.requests.memory = "4.9Gi": 1 of 3 kafka pods finds no node among 2 node(s) of 4 CPU / 8Gi` +
		` beside Alloy (one pod per node) and the pods placed before (largest first): "0/2 nodes are available: 2 Insufficient memory", so it stays Pending;` +
		` fix: lower obs-stack:kafka.resources.requests.memory or obs-stack:kafka.replicas to 2, or add nodes (obs-stack:cluster.nodes) or use nodes with more memory (obs-stack:cluster.nodeMemory)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want\n%s\nin\n%v", want, err)
	}
	if strings.Contains(err.Error(), "obs-stack:cluster.nodes =") {
		t.Errorf("the node count did not change, the brokers grew; it must not be blamed: %v", err)
	}

	warnings, err := loadAndValidate("dev", map[string]string{"obs-stack:cluster": `{"nodes":3}`, "obs-stack:kafka": kafka})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("one broker per node on 3 nodes fits (15.4Gi of 24Gi): err %v, warnings %v", err, warnings)
	}
}

func TestPodsPerNode(t *testing.T) {
	s := Dev()
	s.Cluster.Nodes = 3
	s.Kafka.Replicas, s.Kafka.Resources = 3, res("250m", "4.9Gi", "1", "5Gi")
	p, ok := s.Place()
	if !ok || len(p.Pending) > 0 {
		t.Fatalf("placement %+v, ok %v", p, ok)
	}
	// Largest first: a broker on each node, then single-binary and gateway on the first.
	var pods []int
	for _, n := range p.Nodes {
		pods = append(pods, n.Pods)
	}
	if fmt.Sprint(pods) != "[4 2 2]" {
		t.Errorf("pods per node = %v, want [4 2 2] (Alloy + broker, + single-binary + gateway on node 1)", pods)
	}
	if want := int64(100 + 250 + 200 + 50); p.Nodes[0].MilliCPU != want {
		t.Errorf("node 1 requests %dm CPU, want %dm", p.Nodes[0].MilliCPU, want)
	}
}

func TestAlloyIsCountedOnEveryNode(t *testing.T) {
	// 3 nodes of 8Gi, 2 brokers of 6.95Gi: the totals fit with Alloy on all three nodes (3 x
	// 1.1 + 2 x 6.95 + 0.28 = 17.5Gi of 24), but beside a 1.1Gi Alloy pod a node keeps 6.9Gi.
	config := func(alloyMemory string) map[string]string {
		return map[string]string{
			"obs-stack:cluster": `{"nodes":3}`,
			"obs-stack:alloy":   fmt.Sprintf(`{"resources":{"requests":{"memory":%q},"limits":{"memory":%[1]q}}}`, alloyMemory),
			"obs-stack:kafka":   `{"replicas":2,"resources":{"requests":{"memory":"6.95Gi"},"limits":{"memory":"7Gi"}}}`,
		}
	}
	_, err := loadAndValidate("dev", config("1.1Gi"))
	want := `obs-stack:kafka.resources.requests.memory = "6.95Gi": 2 of 2 kafka pods find no node among 3 node(s) of 4 CPU / 8Gi beside Alloy (one pod per node) and the pods placed before (largest first): "0/3 nodes are available: 3 Insufficient memory", so they stay Pending`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want\n%s\nin\n%v", want, err)
	}
	// With a 1Gi Alloy pod 7Gi stay free per node: 6.95Gi fits.
	if warnings, err := loadAndValidate("dev", config("1Gi")); err != nil || len(warnings) > 0 {
		t.Fatalf("err %v, warnings %v", err, warnings)
	}
}

func TestHardAntiAffinity(t *testing.T) {
	t.Run("more replicas than nodes is reported once, by its own check", func(t *testing.T) {
		_, err := loadAndValidate("dev", map[string]string{"obs-stack:cluster": `{"nodes":2}`, "obs-stack:gateway": `{"replicas":3,"antiAffinity":"hard"}`})
		want := `obs-stack:gateway.antiAffinity = "hard": hard anti-affinity allows one pod per node, so 1 of 3 replicas would stay Pending on 2 node(s)`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want %q in %v", want, err)
		}
		if strings.Contains(err.Error(), "finds no node") {
			t.Errorf("the replica beyond the nodes is reported twice: %v", err)
		}
	})
	t.Run("a node with room but a pod of the group refuses by anti-affinity", func(t *testing.T) {
		// 2 nodes: single-binary 7Gi (7/8 of a node) goes first, on node 1, which keeps
		// 8 - 0.125 - 7 = 0.875Gi; broker 1 (2Gi) goes to node 2; broker 2 finds node 1 short of
		// memory and node 2, which has 5.875Gi free, holding broker 1.
		_, err := loadAndValidate("dev", map[string]string{
			"obs-stack:cluster": `{"nodes":2}`,
			"obs-stack:loki":    `{"singleBinary":{"resources":{"requests":{"memory":"7Gi"},"limits":{"memory":"7Gi"}}}}`,
			"obs-stack:kafka":   `{"replicas":2,"antiAffinity":"hard","resources":{"requests":{"memory":"2Gi"},"limits":{"memory":"2Gi"}}}`,
		})
		for _, want := range []string{
			`obs-stack:kafka.resources.requests.memory = "2Gi": 1 of 2 kafka pods finds no node`,
			`"0/2 nodes are available: 1 Insufficient memory, 1 node(s) didn't match pod anti-affinity rules"`,
			`fix: lower obs-stack:kafka.resources.requests.memory or obs-stack:kafka.replicas to 1, or add nodes`,
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("want %q in %v", want, err)
			}
		}
	})
	t.Run("soft anti-affinity is ignored for fit", func(t *testing.T) {
		// 3 gateways of 32Mi share the one node.
		if warnings, err := loadAndValidate("dev", map[string]string{"obs-stack:gateway": `{"replicas":3,"antiAffinity":"soft"}`}); err != nil || len(warnings) > 0 {
			t.Fatalf("err %v, warnings %v", err, warnings)
		}
	})
}

func TestRolloutOfHardSpreadDeploymentOnEveryNodeWarns(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]string
		warning string // "" for none
	}{
		{"gateway 2 on 2 nodes", map[string]string{"obs-stack:cluster": `{"nodes":2}`, "obs-stack:gateway": `{"replicas":2,"antiAffinity":"hard"}`},
			`obs-stack:gateway.antiAffinity = "hard": 2 loki-gateway replicas on 2 node(s) under hard anti-affinity leave no node for the surge pod a rolling update of the Deployment adds first (maxUnavailable 25% rounds down to 0), so the pod stays Pending and every rollout hangs; fix: set obs-stack:gateway.antiAffinity to soft, or add a node (obs-stack:cluster.nodes), or lower obs-stack:gateway.replicas to 1`},
		{"one gateway on one node", map[string]string{"obs-stack:gateway": `{"antiAffinity":"hard"}`},
			`obs-stack:gateway.antiAffinity = "hard": 1 loki-gateway replicas on 1 node(s)`},
		{"a cache is a Deployment", map[string]string{"obs-stack:cluster": `{"nodes":2}`, "obs-stack:loki": `{"caches":{"resultsCache":{"enabled":true,"replicas":2,"antiAffinity":"hard"}}}`},
			`obs-stack:loki.caches.resultsCache.antiAffinity = "hard": 2 loki-results-cache replicas on 2 node(s)`},
		{"a stateless Loki target", map[string]string{"obs-stack:loki": `{"querier":{"antiAffinity":"hard"}}`},
			`obs-stack:loki.querier.antiAffinity = "hard": 3 loki-querier replicas on 3 node(s)`},
		{"a spare node takes the surge pod", map[string]string{"obs-stack:cluster": `{"nodes":3}`, "obs-stack:gateway": `{"replicas":2,"antiAffinity":"hard"}`}, ""},
		// 4 replicas: maxUnavailable is 1, the rollout removes an old pod first.
		{"4 replicas on 4 nodes", map[string]string{"obs-stack:cluster": `{"nodes":4}`, "obs-stack:gateway": `{"replicas":4,"antiAffinity":"hard"}`}, ""},
		// A StatefulSet replaces its pods one by one in place.
		{"a StatefulSet", map[string]string{"obs-stack:kafka": `{"antiAffinity":"hard"}`}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stack := "dev"
			if strings.Contains(c.warning, "querier") {
				stack = "prod" // 3 queriers on 3 nodes
			}
			warnings, err := loadAndValidate(stack, c.config)
			if err != nil {
				t.Fatalf("a rollout problem must warn, not fail: %v", err)
			}
			got := strings.Join(warnings, "\n")
			if c.warning == "" && strings.Contains(got, "antiAffinity") || c.warning != "" && !strings.Contains(got, c.warning) {
				t.Fatalf("want %q in warnings %v", c.warning, warnings)
			}
		})
	}
}

// negative matches a negative number, the sign of a wrapped multiplication.
var negative = regexp.MustCompile(`(^|[^\w.])-\d`)

func TestHugeValuesNeitherWrapNorHang(t *testing.T) {
	cases := []struct {
		name   string
		stack  string
		config map[string]string
		want   []string
	}{
		{"2^62 replicas", "prod", map[string]string{"obs-stack:loki": `{"querier":{"replicas":4611686018427387904}}`}, nil},
		{"1e15 replicas as a stack file writes them", "prod", map[string]string{"obs-stack:loki": `{"ingester":{"replicas":1e15}}`}, nil},
		{"1e15 replicas of every group", "prod", map[string]string{
			"obs-stack:loki":    `{"distributor":{"replicas":1e15},"ingester":{"replicas":1e15},"querier":{"replicas":1e15},"caches":{"chunksCache":{"replicas":1e15}}}`,
			"obs-stack:gateway": `{"replicas":1e15}`, "obs-stack:kafka": `{"replicas":1e15}`}, nil},
		// The loader refuses counts beyond 32 bits; the spec below it must stay safe anyway
		// (TestHugeSpecValuesStaySafe sets them directly).
		{"cache of 9e15 MB", "prod", map[string]string{"obs-stack:loki": `{"caches":{"chunksCache":{"sizeMB":9e15}}}`},
			[]string{"obs-stack:loki.caches.chunksCache.sizeMB = 9000000000000000: expected a 32-bit whole number"}},
		{"cache of 2147483647 MB", "prod", map[string]string{"obs-stack:loki": `{"caches":{"chunksCache":{"sizeMB":2147483647}}}`},
			[]string{"obs-stack:loki.caches.chunksCache.sizeMB = 2147483647: a memcached cache is 64 MB"}},
		{"9999999Ei of memory", "prod", map[string]string{"obs-stack:loki": `{"ingester":{"resources":{"requests":{"memory":"9999999Ei"},"limits":{"memory":"9999999Ei"}}}}`},
			[]string{`obs-stack:loki.ingester.resources.requests.memory = "9999999Ei": one loki-ingester pod requests 9999999Ei of memory but a node has 32Gi allocatable`}},
		// Quantity.Value() reads 9999999E as 0 and MilliValue() 8Ei as -1000: both must stay huge.
		{"9999999E of memory and 8Ei CPU", "dev", map[string]string{"obs-stack:kafka": `{"resources":{"requests":{"memory":"9999999E","cpu":"8Ei"},"limits":{"memory":"9999999E","cpu":"8Ei"}}}`},
			[]string{`obs-stack:kafka.resources.requests.memory = "9999999E": one kafka pod requests 9999999E of memory but a node has 8Gi allocatable`,
				`obs-stack:kafka.resources.requests.cpu = "8Ei": one kafka pod requests 8Ei CPU but a node has 4 allocatable`}},
		{"2^62 nodes", "prod", map[string]string{"obs-stack:cluster": `{"nodes":4611686018427387904}`}, nil},
		{"2^62 nodes and replicas", "prod", map[string]string{"obs-stack:cluster": `{"nodes":4611686018427387904}`, "obs-stack:gateway": `{"replicas":4611686018427387904,"antiAffinity":"hard"}`}, nil},
		{"9999999Ei nodes", "prod", map[string]string{"obs-stack:cluster": `{"nodeMemory":"9999999Ei","nodeCPU":"9999999E"}`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			warnings, err := loadAndValidate(c.stack, c.config)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			text := strings.Join(warnings, "\n")
			if err != nil {
				text += "\n" + err.Error()
			}
			if negative.MatchString(text) {
				t.Errorf("a negative (wrapped) number in:\n%s", text)
			}
			for _, want := range c.want {
				if !strings.Contains(text, want) {
					t.Errorf("want %q in:\n%s", want, text)
				}
			}
			if strings.Contains(text, "finds no node") || strings.Contains(text, "find no node") {
				t.Errorf("placement ran on a group its bound check reports:\n%s", text)
			}
		})
	}
}

// TestHugeSpecValuesStaySafe: values the loader would refuse, set on the spec directly (as a
// program or test could), still size without wrapping: 4e18 MB x 1.2 = 4.8e18 Mi, where x 6
// passes 2^63.
func TestHugeSpecValuesStaySafe(t *testing.T) {
	s := Prod()
	s.Loki.Caches.ChunksCache.SizeMB = 4e18
	s.Loki.Querier.Replicas = 1 << 62
	start := time.Now()
	_, warnings, err := s.ValidateAt(now)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	text := strings.Join(warnings, "\n") + "\n" + fmt.Sprint(err)
	if negative.MatchString(text) {
		t.Errorf("a negative (wrapped) number in:\n%s", text)
	}
	for _, want := range []string{"one loki-chunks-cache pod requests 4800000000000000000Mi of memory", "obs-stack:loki.querier.replicas = 4611686018427387904"} {
		if !strings.Contains(text, want) {
			t.Errorf("want %q in:\n%s", want, text)
		}
	}
}

func TestSumsSaturate(t *testing.T) {
	s := Prod()
	s.Loki.Querier.Replicas = 1 << 62
	s.Cluster.Nodes = 1 << 62
	req := s.Requested()
	// 250m x 2^62 alone is above 2^63 millicores: the sum sticks at the ceiling.
	if !Saturated(req.MilliCPU) || !Saturated(req.MemoryBytes) {
		t.Errorf("requests = %+v, want saturated", req)
	}
	if _, _, ok := s.Headroom(); ok {
		t.Error("a headroom share of saturated sums is unknown")
	}
	if got := FormatBytes(req.MemoryBytes); got != "over 8Ei" {
		t.Errorf("FormatBytes = %q", got)
	}
	s.Loki.Ingester.Replicas = 1e15 // 20Gi x 1e15 = 2e16Gi, above 8Ei (8 x 2^30 Gi)
	if got := s.RequestedStorage(); !Saturated(got) {
		t.Errorf("storage = %d, want saturated", got)
	}
}

func TestPlacementEdges(t *testing.T) {
	s := Dev()
	s.Cluster.Nodes = 0
	if _, ok := s.Place(); ok {
		t.Error("placed pods on 0 nodes (cluster.nodes is reported by the cluster checks)")
	}
	if _, _, err := s.Validate(); err == nil || strings.Count(err.Error(), "obs-stack:cluster.nodes = 0") != 1 {
		t.Errorf("0 nodes should be reported once, by the cluster checks: %v", err)
	}

	s = Dev() // 1 node: all 4 pods on it
	if p, ok := s.Place(); !ok || len(p.Nodes) != 1 || p.Nodes[0].Pods != 4 {
		t.Errorf("one node: %+v", p)
	}

	s.Cluster.NodeMemory = "9999999Ei"
	if _, warnings, err := s.Validate(); err != nil || len(warnings) > 0 {
		t.Errorf("huge node memory: err %v, warnings %v", err, warnings)
	}

	// 1000 nodes and 1000 queriers: one per node under hard anti-affinity.
	s = Prod()
	s.Cluster.Nodes, s.Loki.Querier.Replicas, s.Loki.Querier.AntiAffinity = MaxReplicas, MaxReplicas, AntiAffinityHard
	if p, ok := s.Place(); !ok || len(p.Pending) > 0 || p.Nodes[MaxReplicas-1].Pods != 2 {
		t.Errorf("1000 hard-spread queriers on 1000 nodes: node 1000 runs %d pods, want Alloy and a querier; pending %+v", p.Nodes[len(p.Nodes)-1].Pods, p.Pending)
	}
}

func TestPlacementStaysCheapAtTheBounds(t *testing.T) {
	// Every group at MaxReplicas with pods of 60% of a node (one per node) on a cluster of
	// as many nodes as pods: about 16000 pods and nodes.
	s := Prod()
	big := Workload{Replicas: MaxReplicas, Resources: res("100m", "19Gi", "1", "20Gi"), Storage: "1Gi", AntiAffinity: AntiAffinitySoft}
	l := &s.Loki
	for _, w := range []*Workload{&l.Distributor, &l.Ingester, &l.Querier, &l.QueryFrontend, &l.QueryScheduler, &l.IndexGateway, &l.Compactor, &l.Ruler, &s.Gateway.Workload, &s.Kafka.Workload} {
		*w = big
	}
	l.Caches.ChunksCache.Replicas, l.Caches.ChunksCache.SizeMB = MaxReplicas, 16000 // 19200Mi
	l.Caches.ResultsCache.Replicas, l.Caches.ResultsCache.SizeMB = MaxReplicas, 16000
	s.Cluster.Nodes = 12 * MaxReplicas
	start := time.Now()
	p, ok := s.Place()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("placing 12000 pods took %v", d)
	}
	if !ok || len(p.Pending) > 0 || len(p.Nodes) != 12*MaxReplicas {
		t.Errorf("12000 pods of 19Gi on 12000 nodes of 32Gi: %d nodes used, pending %+v", len(p.Nodes), p.Pending)
	}
	s.Cluster.Nodes--
	if p, _ := s.Place(); len(p.Pending) != 1 || p.Pending[0].Pods != 1 {
		t.Errorf("one node less: pending %+v, want one pod of one group", p.Pending)
	}
}

func TestOnlyTheFirstGroupLeftPendingIsBlamed(t *testing.T) {
	// prod on 3 nodes of 2 CPU / 8Gi; Alloy leaves 1900m per node. Largest share of a node first:
	// chunks cache x2 (2458Mi/8Gi = 0.30) on node 1 (900m left); then 0.25 in spec order:
	// ingesters (hard) one per node (400m, 1400m, 1400m), results cache x2 on node 2 (400m),
	// brokers (500m, hard): node 3 takes one, the next finds nodes 1-2 short of CPU and node 3
	// holding a broker. Later: distributors fit (150m, 150m, 650m), then 1 querier,
	// 2 index gateways, the compactor, 1 query scheduler and 2 rulers (100m) find no room.
	// Monitoring off: its exporters and canary are placed by TestMonitoringPodsArePlaced.
	_, err := loadAndValidate("prod", map[string]string{"obs-stack:cluster": `{"nodes":3,"nodeCPU":"2","nodeMemory":"8Gi"}`,
		"obs-stack:monitoring": `{"enabled":false,"canary":{"enabled":false}}`})
	if err == nil {
		t.Fatal("8250m of requests on 6 CPU accepted")
	}
	if n := strings.Count(err.Error(), "no node among"); n != 1 {
		t.Errorf("%d placement problems, want one:\n%v", n, err)
	}
	for _, want := range []string{
		`obs-stack:kafka.resources.requests.cpu = "500m": 2 of 3 kafka pods find no node among 3 node(s) of 2 CPU / 8Gi`,
		`"0/3 nodes are available: 2 Insufficient cpu, 1 node(s) didn't match pod anti-affinity rules", so they stay Pending;` +
			` 7 more pods of loki-querier, loki-index-gateway, loki-compactor, loki-query-scheduler, loki-ruler stay Pending after it` +
			` (in all the stack requests 8250m CPU and 20.4Gi, the nodes offer 6 CPU and 24.0Gi)`,
		"fix: lower obs-stack:kafka.resources.requests.cpu or obs-stack:kafka.replicas to 1, or add nodes (obs-stack:cluster.nodes) or use nodes with more CPU (obs-stack:cluster.nodeCPU)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

// TestMonitoringPodsArePlaced: the exporters and the canary are counted like any pod: the
// sidecars in their pods' requests, the Kafka exporter and the canary as pod groups of their own.
func TestMonitoringPodsArePlaced(t *testing.T) {
	// Monitoring adds, by hand from the presets: 4 memcached sidecars x 50m, 2 gateway sidecars
	// x 10m, the Kafka exporter 50m and the canary 10m = 280m of CPU.
	base := Prod()
	base.Monitoring.Enabled, base.Monitoring.Canary.Enabled = false, false
	with := Prod()
	got := with.Requested().MilliCPU - base.Requested().MilliCPU
	if got != 280 {
		t.Errorf("monitoring adds %dm CPU of requests, want 280m (4x50m + 2x10m + 50m + 10m)", got)
	}
	var names []string
	for _, g := range with.Sizing() {
		if len(g.Sidecars) > 0 || g.Component == "kafka-exporter" || g.Component == "loki-canary" {
			names = append(names, g.Component)
		}
	}
	if want := "loki-chunks-cache loki-results-cache loki-gateway kafka-exporter loki-canary"; strings.Join(names, " ") != want {
		t.Errorf("pod groups monitoring changes: %q, want %q", strings.Join(names, " "), want)
	}
}

func res(cpuReq, memReq, cpuLim, memLim string) Resources {
	return Resources{Requests: Quantities{CPU: cpuReq, Memory: memReq}, Limits: Quantities{CPU: cpuLim, Memory: memLim}}
}
