package stacks_test

import (
	. "obs-stack/stacks"
	"obs-stack/stacks/load"
	"obs-stack/stacks/objstore"
	"slices"
	"strings"
	"testing"
)

// loadAndValidate is what a preview does with a stack's config.
func loadAndValidate(stack string, config map[string]string) ([]string, error) {
	s, err := load.Load(stack, config)
	if err != nil {
		return nil, err
	}
	_, warnings, err := s.Validate()
	return warnings, err
}

func TestPresetsAreValidAndQuiet(t *testing.T) {
	names := PresetNames()
	if !slices.Contains(names, "dev") || !slices.Contains(names, "prod") {
		t.Fatalf("presets = %v, want dev and prod among them", names)
	}
	for _, name := range names {
		warnings, err := loadAndValidate(name, nil)
		if err != nil || len(warnings) > 0 {
			t.Errorf("preset %s: err %v, warnings %v", name, err, warnings)
		}
	}
}

func TestDevPresetShape(t *testing.T) {
	d := Dev()
	if d.Loki.Mode != SingleBinary || d.Loki.ReplicationFactor != 1 || d.Loki.SingleBinary.Replicas != 1 ||
		d.Loki.Storage.Type != objstore.Filesystem || d.Loki.Caches.ChunksCache.Enabled || d.Loki.Caches.ResultsCache.Enabled {
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

// TestAllProblemsAreReportedAtOnce: three bad values give three problems, each naming its
// key and value, why the value is wrong and what to write instead.
func TestAllProblemsAreReportedAtOnce(t *testing.T) {
	_, err := loadAndValidate("dev", map[string]string{
		"obs-stack:loki":    `{"replicationFactor":3,"tenant":"x"}`,
		"obs-stack:cluster": `{"nodes":0}`,
	})
	if err == nil {
		t.Fatal("three bad values accepted")
	}
	want := map[string]struct{ reason, fix string }{
		"obs-stack:cluster.nodes = 0": {"a cluster has 1 to 5000 schedulable nodes", "set it to the number of nodes the stack may use"},
		`obs-stack:loki.tenant = "x"`: {`with loki.authEnabled false Loki ignores X-Scope-OrgID and stores everything in tenant "fake"`,
			"set obs-stack:loki.tenant to fake, or obs-stack:loki.authEnabled to true"},
		// dev runs one single-binary replica; a quorum of 3 is 2.
		"obs-stack:loki.replicationFactor = 3": {"writes need 2 live single-binary replicas but only 1 can run",
			"set obs-stack:loki.replicationFactor to at most 1, or run at least 3 single-binary replicas"},
	}
	problems := strings.Split(err.Error(), "\n")
	if len(problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(problems), len(want), err)
	}
	for _, p := range problems {
		keyValue, rest, _ := strings.Cut(p, ": ")
		reason, fix, hasFix := strings.Cut(rest, "; fix: ")
		w, ok := want[keyValue]
		if !ok {
			t.Errorf("unexpected problem %q", p)
			continue
		}
		delete(want, keyValue)
		if !strings.HasPrefix(reason, w.reason) {
			t.Errorf("%s: reason %q, want it to start %q", keyValue, reason, w.reason)
		}
		if !hasFix || !strings.HasPrefix(fix, w.fix) {
			t.Errorf("%s: fix %q, want it to start %q", keyValue, fix, w.fix)
		}
	}
	for keyValue := range want {
		t.Errorf("missing %s in:\n%v", keyValue, err)
	}
}

// TestNextLokiMajorWarnsAboutStorageClients: obs-stack renders Loki 3's legacy storage
// clients, which Loki's next major version ignores (Thanos clients by default,
// grafana/loki#22676); a Loki image of major 4 or more warns, naming loki.image, and 3.x (a
// v-prefixed tag included) stays quiet. It fails if the warning went or fired on 3.x.
func TestNextLokiMajorWarnsAboutStorageClients(t *testing.T) {
	for image, warns := range map[string]bool{
		"grafana/loki:4.0.0": true, "grafana/loki:v4.1.2": true, "grafana/loki:10.0.0": true,
		"grafana/loki:3.7.8": false, "grafana/loki:v3.6.0": false, "grafana/loki:main-abc123": false,
	} {
		warnings, err := loadAndValidate("dev", map[string]string{"obs-stack:loki.image": image})
		if err != nil {
			t.Fatalf("%s: %v", image, err)
		}
		got := slices.ContainsFunc(warnings, func(w string) bool {
			return strings.Contains(w, "obs-stack:loki.image") && strings.Contains(w, "ruler.storage")
		})
		if got != warns {
			t.Errorf("%s: warns %t, want %t (%v)", image, got, warns, warnings)
		}
	}
}
