package program

import (
	"encoding/json"
	"fmt"
	"testing"

	"obs-stack/internal/mocktest"
)

// The program's cost: the whole resource graph of a stack built against the mocks (preflight,
// validation, every component, every rendered config), per run. cmd/bench runs these with
// -benchmem and fits the slope of ns/op and allocs/op against the size of the scaled specs:
//
//	go test -run '^$' -bench Graph -benchmem ./program
//
// What the spec can express: Kafka topics (all created by one topic Job, listed in Alloy's
// config), replicas of every Loki target, nodes, and tenants (each a gateway user, password
// and Secret, an Alloy writer, a Grafana datasource, a runtime-config entry). It has no zones,
// so those are not scaled.

// benchSpec is a stack and its config overrides (full keys to raw or JSON values).
type benchSpec struct {
	name, stack string
	size        int // the x of the slope fit; 0 for the presets
	config      map[string]string
}

// scaled is prod on n nodes big enough for everything, with n Kafka topics and n ingesters
// and queriers: the graph's one knob.
func scaled(family string, n int) benchSpec {
	config := map[string]string{
		"obs-stack:cluster.nodes":      fmt.Sprint(max(n, 3)),
		"obs-stack:cluster.nodeCPU":    "64",
		"obs-stack:cluster.nodeMemory": "256Gi",
	}
	if family == "topics" || family == "scaled" {
		var topics []map[string]any
		for i := range n {
			topics = append(topics, map[string]any{"name": fmt.Sprintf("logs-%03d", i), "partitions": 6, "replicationFactor": 3})
		}
		b, _ := json.Marshal(topics)
		config["obs-stack:kafka.topics"] = string(b)
	}
	if family == "tenants" {
		var tenants []map[string]any
		for i := range n {
			tenants = append(tenants, map[string]any{"name": fmt.Sprintf("team-%03d", i), "namespaces": []string{fmt.Sprintf("team-%03d", i)},
				"limits": map[string]any{"ingestionRateMB": 8, "ingestionBurstSizeMB": 16}, "retention": map[string]any{"period": "720h"}})
		}
		b, _ := json.Marshal(tenants)
		config["obs-stack:loki.tenants"] = string(b)
	}
	if family == "replicas" || family == "scaled" {
		for _, target := range []string{"ingester", "querier", "distributor"} {
			config["obs-stack:loki."+target+".replicas"] = fmt.Sprint(max(n, 3))
		}
	}
	return benchSpec{name: fmt.Sprintf("%s=%d", family, n), stack: "prod", size: n, config: config}
}

// BenchSpecs are the specs BenchmarkGraph runs, in order.
func benchSpecs() []benchSpec {
	specs := []benchSpec{{name: "dev", stack: "dev"}, {name: "prod", stack: "prod"}}
	for _, n := range []int{1, 25, 50, 100} {
		specs = append(specs, scaled("topics", n))
	}
	for _, n := range []int{3, 10, 20, 30} {
		specs = append(specs, scaled("replicas", n))
	}
	for _, n := range []int{1, 10, 25, 50} {
		specs = append(specs, scaled("tenants", n))
	}
	return append(specs, scaled("scaled", 100)) // 100 topics, 100 ingesters/queriers/distributors on 100 nodes
}

// graphRunner writes the stack file once and returns one run of the program against mocks.
func graphRunner(tb testing.TB, s benchSpec) func() (*mocktest.Recorder, error) {
	tb.Helper()
	return runner(tb, s.stack, s.config)
}

func BenchmarkGraph(b *testing.B) {
	for _, s := range benchSpecs() {
		b.Run(s.name, func(b *testing.B) {
			run := graphRunner(b, s)
			rec, err := run()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rec.Resources)), "resources")
		})
	}
}

// TestBenchSpecsBuild keeps the benchmark specs valid: each builds its graph once.
func TestBenchSpecsBuild(t *testing.T) {
	for _, s := range benchSpecs() {
		rec, err := graphRunner(t, s)()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if len(rec.Resources) < 10 {
			t.Fatalf("%s registered %d resources", s.name, len(rec.Resources))
		}
	}
}
