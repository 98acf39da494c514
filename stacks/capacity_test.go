package stacks_test

import (
	. "obs-stack/stacks"
	"strings"
	"testing"
)

// The field failure behind this project: SimpleScalable with read 2 / write 3 / backend 1,
// replication factor 3, hard anti-affinity and the chart's 8192 MB chunks cache on one
// k3d node of 4 CPU / 8Gi.
var historical = map[string]string{
	"obs-stack:cluster": `{"nodes":1,"nodeCPU":"4","nodeMemory":"8Gi"}`,
	"obs-stack:loki": `{"mode":"SimpleScalable","replicationFactor":3,
		"read":{"replicas":2,"antiAffinity":"hard"},"write":{"replicas":3,"antiAffinity":"hard"},"backend":{"replicas":1,"antiAffinity":"hard"},
		"caches":{"chunksCache":{"enabled":true,"sizeMB":8192,"replicas":1}}}`,
}

func TestHistoricalFailureIsCaughtAtPreview(t *testing.T) {
	_, err := loadAndValidate("prod", historical)
	if err == nil {
		t.Fatal("the historical one-node SimpleScalable setup was accepted")
	}
	for _, want := range []string{
		"obs-stack:loki.write.antiAffinity = \"hard\"",                                               // 2 of 3 writers stay Pending
		"obs-stack:loki.read.antiAffinity = \"hard\"",                                                // 1 of 2 readers stays Pending
		"obs-stack:loki.caches.chunksCache.sizeMB = 8192: one loki-chunks-cache pod requests 9831Mi", // 1.2 x 8192 MB on an 8Gi node
		"obs-stack:loki.replicationFactor = 3",                                                       // 1 placeable writer < quorum of 2
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestDevFitsTheSameNodeWithHeadroom(t *testing.T) {
	warnings, err := loadAndValidate("dev", map[string]string{"obs-stack:cluster": historical["obs-stack:cluster"]})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("dev on one 4 CPU / 8Gi node: err %v, warnings %v", err, warnings)
	}
	// dev's pods, by hand: single-binary 200m / 256Mi, gateway 50m / 32Mi, Kafka 250m / 512Mi,
	// and Alloy 100m / 128Mi on the one node: 600m and 928Mi, 11% of 8Gi.
	if req := Dev().Requested(); req.MilliCPU != 600 || req.MemoryBytes != 928<<20 {
		t.Errorf("dev requests %dm CPU and %d bytes, want 600m and 928Mi", req.MilliCPU, req.MemoryBytes)
	}
}

func TestCapacityChecks(t *testing.T) {
	cases := []struct {
		name   string
		config map[string]string
		want   string
	}{
		{"one pod bigger than a node", map[string]string{"obs-stack:loki": `{"singleBinary":{"resources":{"requests":{"memory":"12Gi"},"limits":{"memory":"12Gi"}}}}`},
			"obs-stack:loki.singleBinary.resources.requests.memory = \"12Gi\": one loki-single-binary pod requests 12Gi"},
		{"cpu above a node", map[string]string{"obs-stack:kafka": `{"resources":{"requests":{"cpu":"6"},"limits":{"cpu":"6"}}}`},
			"obs-stack:kafka.resources.requests.cpu = \"6\""},
		// 1 node of 4 CPU: Alloy 100m, then single-binary 3 (the largest share, 3/4), leaves 900m
		// for kafka's 1 CPU; the totals (4150m of 4) are added to the reason.
		{"everything together above the cluster", map[string]string{"obs-stack:loki": `{"singleBinary":{"resources":{"requests":{"memory":"3Gi","cpu":"3"},"limits":{"memory":"4Gi","cpu":"4"}}}}`,
			"obs-stack:kafka": `{"resources":{"requests":{"memory":"3Gi","cpu":"1"},"limits":{"memory":"4Gi","cpu":"2"}}}`},
			"obs-stack:kafka.resources.requests.cpu = \"1\": 1 of 1 kafka pods finds no node among 1 node(s) of 4 CPU / 8Gi beside Alloy (one pod per node) and the pods placed before (largest first): \"0/1 nodes are available: 1 Insufficient cpu\", so it stays Pending (in all the stack requests 4150m CPU and 6.2Gi, the nodes offer 4 CPU and 8.0Gi); fix: lower obs-stack:kafka.resources.requests.cpu, or add nodes (obs-stack:cluster.nodes)"},
		{"cache cpu above a node names the cache's cpu key", map[string]string{"obs-stack:loki": `{"caches":{"resultsCache":{"enabled":true,"cpu":"5"}}}`},
			"obs-stack:loki.caches.resultsCache.cpu = \"5\": one loki-results-cache pod requests 5 CPU"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadAndValidate("dev", c.config)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q in %v", c.want, err)
			}
		})
	}
	warnings, err := loadAndValidate("dev", map[string]string{"obs-stack:loki": `{"singleBinary":{"resources":{"requests":{"memory":"6Gi"},"limits":{"memory":"6Gi"}}}}`})
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "obs-stack:cluster.minHeadroomPercent") {
		t.Fatalf("low headroom should warn, not fail: err %v, warnings %v", err, warnings)
	}
}
