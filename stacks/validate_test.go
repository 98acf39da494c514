package stacks

import (
	"encoding/json"
	"errors"
	"os"
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

// TestBadConfigs: each case is a stack config that must fail before any resource exists,
// with every listed key named in the error. The catalogue lives in testdata/bad-configs.json
// so that the program's tests can run the same cases through a whole preview.
func TestBadConfigs(t *testing.T) {
	cases := loadCatalogue(t)
	if len(cases) < 50 {
		t.Fatalf("the catalogue needs at least 50 cases, has %d", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			_, err := loadAndValidate(c.Stack, c.Config)
			if err == nil {
				t.Fatal("accepted a bad config")
			}
			for _, key := range c.Keys {
				if !strings.Contains(err.Error(), "obs-stack:"+key) {
					t.Errorf("error does not name obs-stack:%s:\n%v", key, err)
				}
			}
			var p *Problem
			if errors.As(err, &p) && (p.Reason == "" || p.Fix == "") {
				t.Errorf("problem without a reason or fix: %+v", p)
			}
		})
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

// badConfig is one case of testdata/bad-configs.json.
type badConfig struct {
	Name   string            `json:"name"`
	Stack  string            `json:"stack"`
	Config map[string]string `json:"config"`
	Keys   []string          `json:"keys"`
}

func loadCatalogue(t *testing.T) []badConfig {
	t.Helper()
	raw, err := os.ReadFile("testdata/bad-configs.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []badConfig
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}
