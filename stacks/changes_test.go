package stacks_test

import (
	. "obs-stack/stacks"
	"obs-stack/stacks/load"
	"obs-stack/stacks/objstore"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// mustSpec loads the config and validates it as preflight does before it checks the changes;
// a validation error is not this file's subject, and the parsed values it could read stay.
func mustSpec(t *testing.T, stack string, config map[string]string) Valid {
	t.Helper()
	s, err := load.Load(stack, config)
	if err != nil {
		t.Fatal(err)
	}
	v, _, _ := s.ValidateAt(now)
	return v
}

func TestChangesThatLoseDataAreRefused(t *testing.T) {
	deployed := mustSpec(t, "dev", nil).Facts()
	cases := []struct {
		name   string
		config map[string]string
		want   string
	}{
		{"mode switch off a filesystem PVC", map[string]string{"obs-stack:loki": `{"mode":"SimpleScalable","storage":{"type":"s3","s3":{"buckets":{"chunks":"c","ruler":"r"}}}}`},
			"obs-stack:loki.mode = \"SimpleScalable\": the deployed Loki (SingleBinary) keeps its logs on a filesystem PVC"},
		{"bigger Loki volume", map[string]string{"obs-stack:loki": `{"singleBinary":{"storage":"20Gi"}}`},
			"obs-stack:loki.singleBinary.storage = \"20Gi\": the deployed volume template of loki.singleBinary is 10Gi on the default class"},
		{"other Kafka storage class", map[string]string{"obs-stack:cluster": `{"storageClass":"fast"}`},
			"obs-stack:cluster.storageClass = \"fast\": the deployed volume template of kafka is 10Gi on the default class"},
		{"a Kafka cluster id replacing the generated one", map[string]string{"obs-stack:kafka": `{"clusterId":"MkU4OEVBMjU1OTJDNEI3Rg"}`},
			"obs-stack:kafka.clusterId = \"MkU4OEVBMjU1OTJDNEI3Rg\": the brokers' storage is formatted with cluster id the generated one"},
		{"new schema period starting today", map[string]string{"obs-stack:loki": `{"schemas":[{},{"from":"2026-11-26","store":"tsdb","objectStore":"filesystem","schema":"v13","indexPrefix":"index_","indexPeriod":"24h"}]}`},
			"obs-stack:loki.schemas[1].from = \"2026-11-26\": a schema period added to a running store must start in the future, or data already written under the old schema becomes unreadable; fix: set it to 2026-11-27 or later"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := mustSpec(t, "dev", c.config).CheckChanges(&deployed, now)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q in %v", c.want, err)
			}
		})
	}
}

func TestAcknowledgedOrHarmlessChangesPass(t *testing.T) {
	deployed := mustSpec(t, "dev", nil).Facts()
	for name, config := range map[string]map[string]string{
		"no change":              nil,
		"retention change":       {"obs-stack:loki": `{"limits":{"retentionPeriod":"72h"}}`},
		"future schema period":   {"obs-stack:loki": `{"schemas":[{},{"from":"2026-11-27","store":"tsdb","objectStore":"filesystem","schema":"v13","indexPrefix":"index_","indexPeriod":"24h"}]}`},
		"acknowledged data loss": {"obs-stack:allowDataLoss": "true", "obs-stack:loki": `{"singleBinary":{"storage":"20Gi"}}`},
	} {
		if err := mustSpec(t, "dev", config).CheckChanges(&deployed, now); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := mustSpec(t, "prod", nil).CheckChanges(nil, now); err != nil {
		t.Errorf("a first deployment has nothing to lose: %v", err)
	}
	// Switching modes is fine when the data already lives in object storage.
	prod := mustSpec(t, "prod", nil).Facts()
	if err := mustSpec(t, "prod", map[string]string{"obs-stack:loki": `{"mode":"SimpleScalable"}`}).CheckChanges(&prod, now); err != nil {
		t.Errorf("mode switch on s3: %v", err)
	}
}

// TestStartedPeriodsAreImmutable: at now (2026-11-26 10:00 UTC) a period from 2026-11-26 has
// started and holds data; one from 2026-11-27 holds nothing yet.
func TestStartedPeriodsAreImmutable(t *testing.T) {
	period := func(from, prefix string) string {
		return `{"from":"` + from + `","store":"tsdb","objectStore":"filesystem","schema":"v13","indexPrefix":"` + prefix + `","indexPeriod":"24h"}`
	}
	deployedWith := func(second string) Facts {
		return mustSpec(t, "dev", map[string]string{"obs-stack:loki": `{"schemas":[{},` + second + `]}`}).Facts()
	}
	cases := []struct {
		name     string
		deployed Facts
		schemas  string // the new loki.schemas
		refused  string // "" when the change must pass
	}{
		{"a started period edited", deployedWith(period("2026-11-26", "index_")), `[{},` + period("2026-11-26", "loki_") + `]`, "obs-stack:loki.schemas[1] = "},
		{"a started period removed", deployedWith(period("2026-11-26", "index_")), `[{}]`, "obs-stack:loki.schemas[1] = null"},
		{"a future period edited", deployedWith(period("2026-11-27", "index_")), `[{},` + period("2026-11-28", "loki_") + `]`, ""},
		{"a future period removed", deployedWith(period("2026-11-27", "index_")), `[{}]`, ""},
		{"a future period moved to today", deployedWith(period("2026-11-27", "index_")), `[{},` + period("2026-11-26", "index_") + `]`, "obs-stack:loki.schemas[1].from = \"2026-11-26\": a schema period added to a running store must start in the future"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := mustSpec(t, "dev", map[string]string{"obs-stack:loki": `{"schemas":` + c.schemas + `}`}).CheckChanges(&c.deployed, now)
			switch {
			case c.refused == "" && err != nil:
				t.Fatalf("want no refusal, got %v", err)
			case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
				t.Fatalf("want %q in %v", c.refused, err)
			}
		})
	}
	// Facts recorded before full periods were (dates only) still guard the dates.
	old := Facts{LokiMode: SingleBinary, LokiStorage: objstore.Filesystem, SchemaFroms: []string{"2024-04-01"}}
	if err := mustSpec(t, "dev", map[string]string{"obs-stack:loki": `{"schemas":[{"from":"2023-01-01"}]}`}).CheckChanges(&old, now); err == nil || !strings.Contains(err.Error(), "obs-stack:loki.schemas[0] = ") {
		t.Fatalf("an older record must still refuse a moved period: %v", err)
	}
}

// TestStorageSwitchAgainstAnOlderRecord: a dataFacts output recorded before full periods were
// (dates only) still refuses a storage switch without a new period.
func TestStorageSwitchAgainstAnOlderRecord(t *testing.T) {
	old := Facts{LokiMode: SingleBinary, LokiStorage: objstore.Filesystem, SchemaFroms: []string{"2024-04-01"}}
	s := mustSpec(t, "dev", map[string]string{"obs-stack:loki": `{"storage":{"type":"s3"}}`})
	if err := s.CheckChanges(&old, now); err == nil || !strings.Contains(err.Error(), `obs-stack:loki.storage.type = "s3"`) {
		t.Fatalf("want the storage switch refused, got %v", err)
	}
}
