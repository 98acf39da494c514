package stacks

import (
	"strings"
	"testing"
)

// loadAndValidate is what a preview does with a stack's config.
func loadAndValidate(stack string, config map[string]string) ([]string, error) {
	s, err := Load(stack, config)
	if err != nil {
		return nil, err
	}
	return s.Validate()
}

func TestPresetsAreValidAndQuiet(t *testing.T) {
	for _, name := range PresetNames() {
		warnings, err := loadAndValidate(name, nil)
		if err != nil || len(warnings) > 0 {
			t.Errorf("preset %s: err %v, warnings %v", name, err, warnings)
		}
	}
}

func TestDevPresetShape(t *testing.T) {
	d := Dev()
	if d.Loki.Mode != SingleBinary || d.Loki.ReplicationFactor != 1 || d.Loki.SingleBinary.Replicas != 1 ||
		d.Loki.Storage.Type != StorageFilesystem || d.Loki.Caches.ChunksCache.Enabled || d.Loki.Caches.ResultsCache.Enabled {
		t.Errorf("dev preset drifted: %+v", d.Loki)
	}
	if r := d.Loki.SingleBinary.Resources; r != res("200m", "256Mi", "500m", "512Mi") {
		t.Errorf("dev Loki resources = %+v", r)
	}
	if p := d.Loki.Schemas[0]; p.Schema != "v13" || p.Store != "tsdb" {
		t.Errorf("dev schema = %+v", p)
	}
}

func TestSimpleScalableWarnsDeprecated(t *testing.T) {
	warnings, err := loadAndValidate("prod", map[string]string{"obs-stack:loki": `{"mode":"SimpleScalable"}`})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "obs-stack:loki.mode") || !strings.Contains(warnings[0], "deprecated") {
		t.Fatalf("warnings = %v", warnings)
	}
}

func TestSchemaMigrationWithANewV13PeriodIsValid(t *testing.T) {
	warnings, err := loadAndValidate("dev", map[string]string{"obs-stack:loki": `{"schemas":[
		{"from":"2022-01-01","store":"boltdb-shipper","objectStore":"filesystem","schema":"v11","indexPrefix":"index_","indexPeriod":"24h"},
		{"from":"2024-04-01","store":"tsdb","objectStore":"filesystem","schema":"v13","indexPrefix":"index_","indexPeriod":"24h"}]}`})
	if err != nil {
		t.Fatalf("an old period may keep v11 when the newest is v13 tsdb: %v", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "loki.schemas[0].store") {
		t.Fatalf("boltdb-shipper should warn: %v", warnings)
	}
}

func TestAllProblemsAreReportedAtOnce(t *testing.T) {
	_, err := loadAndValidate("dev", map[string]string{
		"obs-stack:loki":    `{"replicationFactor":3,"tenant":"x"}`,
		"obs-stack:cluster": `{"nodes":0}`,
	})
	for _, key := range []string{"loki.replicationFactor", "loki.tenant", "cluster.nodes"} {
		if err == nil || !strings.Contains(err.Error(), "obs-stack:"+key+" = ") {
			t.Errorf("missing %s in %v", key, err)
		}
	}
}
