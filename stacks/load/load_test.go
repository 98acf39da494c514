package load

import (
	"encoding/json"
	"errors"
	"maps"
	"obs-stack/stacks"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestLoadPicksPresetByStackNameOrKey(t *testing.T) {
	dev, err := Load("dev", nil)
	if err != nil || dev.Loki.Mode != stacks.SingleBinary {
		t.Fatalf("dev: mode %q, err %v", dev.Loki.Mode, err)
	}
	staging, err := Load("staging", map[string]string{PresetKey: "prod"})
	if err != nil || staging.Loki.Mode != stacks.Distributed {
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
		"random:anything":       "ignored", // other namespaces belong to providers
		"obs-stack:kafka.image": "apache/kafka:4.1.0",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := stacks.Prod()
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

// TestMapsLoadMergeAndSetByPath: a map in the spec (per-tenant limits, per-zone settings) loads
// from a nested stack-file object, merges onto the preset's entries key by key, and takes a
// `pulumi config set --path` key with a bracketed entry name, type errors named by their key.
func TestMapsLoadMergeAndSetByPath(t *testing.T) {
	type limits struct {
		Rate   float64 `json:"rate"`
		Period string  `json:"period"`
	}
	type tenant struct {
		Limits limits `json:"limits"`
	}
	type spec struct {
		Tenants map[string]tenant `json:"tenants"`
	}
	preset := spec{Tenants: map[string]tenant{"team-a": {Limits: limits{Rate: 4, Period: "168h"}}}}
	load := func(path string, raw string) (spec, []error) {
		s := spec{Tenants: maps.Clone(preset.Tenants)}
		var value any
		if err := json.Unmarshal([]byte(raw), &value); err != nil {
			value = raw
		}
		p, err := resource.ParsePropertyPath(path)
		if err != nil {
			t.Fatal(err)
		}
		return s, set(reflect.ValueOf(&s).Elem(), p, value, stacks.Namespace+":")
	}

	// Nested, as a stack file holds it: team-a's rate merges, its period stays; team-b is new.
	s, errs := load("tenants", `{"team-a":{"limits":{"rate":8}},"team-b":{"limits":{"period":"24h"}}}`)
	want := map[string]tenant{"team-a": {Limits: limits{Rate: 8, Period: "168h"}}, "team-b": {Limits: limits{Period: "24h"}}}
	if len(errs) > 0 || !reflect.DeepEqual(s.Tenants, want) {
		t.Errorf("nested: got %+v, errors %v; want %+v", s.Tenants, errs, want)
	}
	// As `pulumi config set --path 'obs-stack:tenants["team.c"].limits.rate' 2.5` keys it (a
	// dotted entry name in brackets), and as the CLI stores the number: a string.
	s, errs = load(`tenants["team.c"].limits.rate`, "2.5")
	if len(errs) > 0 || s.Tenants["team.c"].Limits.Rate != 2.5 || s.Tenants["team-a"] != preset.Tenants["team-a"] {
		t.Errorf("set --path: got %+v, errors %v", s.Tenants, errs)
	}
	// The preset was not written through the map the loader merged onto.
	if preset.Tenants["team-a"].Limits.Rate != 4 {
		t.Errorf("the preset's map changed: %+v", preset.Tenants)
	}
	// Bad values name their key, entry included, and keep the entry's other values.
	for path, raw := range map[string]string{
		`tenants["team-a"].limits.rate`: `"fast"`,
		`tenants`:                       `["team-a"]`,
		`tenants["team-a"].limts`:       `{}`,
	} {
		_, errs := load(path, raw)
		if len(errs) != 1 {
			t.Errorf("%s = %s: want one error, got %v", path, raw, errs)
			continue
		}
		var p *stacks.Problem
		if !errors.As(errs[0], &p) || !strings.HasPrefix(p.Key, "tenants") || p.Fix == "" {
			t.Errorf("%s = %s: %v does not name the key and a fix", path, raw, errs[0])
		}
	}
}
