package stacks

import (
	"strings"
	"testing"
)

func TestLoadPicksPresetByStackNameOrKey(t *testing.T) {
	dev, err := Load("dev", nil)
	if err != nil || dev.Loki.Mode != SingleBinary {
		t.Fatalf("dev: mode %q, err %v", dev.Loki.Mode, err)
	}
	staging, err := Load("staging", map[string]string{PresetKey: "prod"})
	if err != nil || staging.Loki.Mode != Distributed {
		t.Fatalf("staging with preset prod: mode %q, err %v", staging.Loki.Mode, err)
	}
	_, err = Load("staging", nil)
	if err == nil || !strings.Contains(err.Error(), "obs-stack:preset") {
		t.Fatalf("a stack without a preset must name obs-stack:preset, got %v", err)
	}
}

func TestOverridesDeepMergeOntoPreset(t *testing.T) {
	// What `pulumi config set --path` writes: one JSON object per section.
	s, err := Load("prod", map[string]string{
		"obs-stack:loki":        `{"ingester":{"replicas":"5","resources":{"limits":{"memory":"8Gi"}}},"authEnabled":"false","tenant":"fake"}`,
		"obs-stack:cluster":     `{"nodes":5,"nodeCPU":16}`,
		"kubernetes:context":    "ignored", // other namespaces belong to providers
		"obs-stack:kafka.image": "apache/kafka:4.1.0",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Prod()
	if s.Loki.Ingester.Replicas != 5 || s.Loki.Ingester.Resources.Limits.Memory != "8Gi" {
		t.Errorf("ingester not overridden: %+v", s.Loki.Ingester)
	}
	if s.Loki.Ingester.Resources.Requests != want.Loki.Ingester.Resources.Requests || s.Loki.Ingester.Storage != want.Loki.Ingester.Storage {
		t.Errorf("fields next to the override must keep the preset's values: %+v", s.Loki.Ingester)
	}
	if s.Loki.AuthEnabled || s.Loki.Tenant != "fake" {
		t.Errorf("bool/string overrides lost: auth %v tenant %q", s.Loki.AuthEnabled, s.Loki.Tenant)
	}
	if s.Cluster.Nodes != 5 || s.Cluster.NodeCPU != "16" || s.Cluster.NodeMemory != want.Cluster.NodeMemory {
		t.Errorf("cluster merge wrong: %+v", s.Cluster)
	}
	if s.Kafka.Image != "apache/kafka:4.1.0" {
		t.Errorf("dotted key (set without --path) not applied: %q", s.Kafka.Image)
	}
	if s.Kafka.Replicas != want.Kafka.Replicas {
		t.Errorf("embedded workload fields must survive: %d", s.Kafka.Replicas)
	}
}

func TestListOverridesMergeByIndex(t *testing.T) {
	s, err := Load("dev", map[string]string{
		"obs-stack:loki": `{"schemas":[{"schema":"v13"},{"from":"2030-01-01","store":"tsdb","objectStore":"filesystem","schema":"v13","indexPrefix":"index_","indexPeriod":"24h"}]}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Loki.Schemas) != 2 || s.Loki.Schemas[0].From != "2024-04-01" || s.Loki.Schemas[1].From != "2030-01-01" {
		t.Fatalf("schemas = %+v", s.Loki.Schemas)
	}
}

func TestUnknownKeysSuggestTheClosestKey(t *testing.T) {
	cases := map[string]struct{ key, value, want string }{
		"typo in a field":     {"obs-stack:loki", `{"replicationFactr":1}`, "obs-stack:loki.replicationFactr = 1: unknown config key; fix: did you mean obs-stack:loki.replicationFactor?"},
		"typo in a section":   {"obs-stack:lokki", `{"mode":"SingleBinary"}`, "did you mean obs-stack:loki?"},
		"wrong case":          {"obs-stack:loki", `{"Mode":"Distributed"}`, "did you mean obs-stack:loki.mode?"},
		"deep typo":           {"obs-stack:loki", `{"ingester":{"resources":{"limits":{"memroy":"1Gi"}}}}`, "did you mean obs-stack:loki.ingester.resources.limits.memory?"},
		"far from any key":    {"obs-stack:loki", `{"zzzzzzzzzz":1}`, "valid keys here: mode, image"},
		"embedded field typo": {"obs-stack:gateway", `{"replica":2}`, "did you mean obs-stack:gateway.replicas?"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load("dev", map[string]string{c.key: c.value})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q in error, got %v", c.want, err)
			}
		})
	}
}

func TestTypeErrorsNameTheKey(t *testing.T) {
	_, err := Load("dev", map[string]string{
		"obs-stack:loki":    `{"singleBinary":{"replicas":"three"},"authEnabled":"maybe","schemas":{"from":"x"}}`,
		"obs-stack:cluster": `"observability"`,
	})
	for _, want := range []string{
		`obs-stack:loki.singleBinary.replicas = "three": expected a 32-bit whole number`,
		`obs-stack:loki.authEnabled = "maybe": expected true or false`,
		`obs-stack:loki.schemas = {"from":"x"}: expected a list`,
		`obs-stack:cluster = "observability": expected an object`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in error, got %v", want, err)
		}
	}
}

func TestUntimestamp(t *testing.T) {
	for in, want := range map[string]string{
		"2024-04-01 00:00:00 +0000 UTC":       "2024-04-01",
		"2024-04-01 10:00:00 +0000 UTC":       "2024-04-01T10:00:00Z",
		"2024-04-01 00:00:00 +0200 +0200":     "2024-04-01T00:00:00+02:00",
		"2024-04-01 10:00:00.5 +0000 UTC":     "2024-04-01T10:00:00.5Z",
		"2024-04-01":                          "2024-04-01",
		"not a time":                          "not a time",
		"2024-04-01 00:00:00 +0000 UTC extra": "2024-04-01 00:00:00 +0000 UTC extra",
	} {
		if got := untimestamp(in); got != want {
			t.Errorf("untimestamp(%q) = %q, want %q", in, got, want)
		}
	}
}
