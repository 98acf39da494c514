package program

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/internal/mocktest"
)

// TestConfigFromTheEngineOnly: keys that no file of the project holds (an ESC environment's,
// --config-file's) reach the program only in the config the engine hands over, which the
// language host passes in PULUMI_CONFIG. Each is read and checked like a stack file's: a dotted
// key is applied, a misspelt one and a kubernetes: one are refused with nothing registered.
// It fails if the program went back to reading only the sections and the stack file's keys
// (the dotted key would be ignored, the misspelt one silently dropped).
func TestConfigFromTheEngineOnly(t *testing.T) {
	runEngine := func(t *testing.T, config map[string]string) (*mocktest.Recorder, error) {
		raw, err := json.Marshal(config)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(pulumi.EnvConfig, string(raw))
		dir := t.TempDir() // no stack file, no project file
		rec := &mocktest.Recorder{}
		return rec, pulumi.RunErr(Run, pulumi.WithMocks("obs-stack", "dev", rec), func(info *pulumi.RunInfo) { info.Config, info.RootDirectory = config, dir })
	}

	rec, err := runEngine(t, map[string]string{"obs-stack:loki.limits.retentionPeriod": "168h"})
	if err != nil {
		t.Fatal(err)
	}
	if got := lokiConfig(t, rec)["limits_config"].(map[string]any)["retention_period"]; got != "168h" {
		t.Errorf("retention_period = %v, want the engine's 168h", got)
	}

	for key, says := range map[string]string{
		"obs-stack:loki.limits.retentionPeriodd": "did you mean obs-stack:loki.limits.retentionPeriod?",
		"obs-stack:lokki":                        "unknown config key",
		"kubernetes:context":                     "obs-stack:cluster.kubeContext",
	} {
		t.Run(key, func(t *testing.T) {
			rec, err := runEngine(t, map[string]string{key: "168h"})
			if err == nil || !strings.Contains(err.Error(), key+" = ") || !strings.Contains(err.Error(), says) {
				t.Fatalf("want %s refused (%q), got %v", key, says, err)
			}
			for _, r := range rec.Resources {
				if strings.HasPrefix(r.Type, "kubernetes:") {
					t.Errorf("declared %s %s before refusing", r.Type, r.Name)
				}
			}
		})
	}
}

// TestProjectFileConfigApplies: a value in Pulumi.yaml's config reaches the spec under the
// stack file's (the engine's order), read by key from the project file, with no stack file.
func TestProjectFileConfigApplies(t *testing.T) {
	dir := t.TempDir()
	project := "name: obs-stack\nruntime: go\nconfig:\n  loki.limits.retentionPeriod: 96h\n"
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(project), 0o644); err != nil {
		t.Fatal(err)
	}
	config := map[string]string{}
	applyProjectConfig(t, project, config)
	rec := &mocktest.Recorder{}
	if err := pulumi.RunErr(Run, pulumi.WithMocks("obs-stack", "dev", rec), func(info *pulumi.RunInfo) { info.Config, info.RootDirectory = config, dir }); err != nil {
		t.Fatal(err)
	}
	if got := lokiConfig(t, rec)["limits_config"].(map[string]any)["retention_period"]; got != "96h" {
		t.Errorf("retention_period = %v, want the project file's 96h", got)
	}
}

// TestCanaryFollowsLoki: with no canary image set, the canary runs loki-canary at Loki's
// registry and tag. The expected references are written by hand from how Grafana publishes the
// pair (grafana/loki:X and grafana/loki-canary:X); it fails if the canary kept a preset tag of
// its own, or dropped the registry.
func TestCanaryFollowsLoki(t *testing.T) {
	for lokiImage, want := range map[string]string{
		"":                             "grafana/loki-canary:3.7.8", // the preset's Loki
		"grafana/loki:3.7.7":           "grafana/loki-canary:3.7.7",
		"docker.io/grafana/loki:3.6.4": "grafana/loki-canary:3.6.4",
		"registry.example.com:5000/mirror/grafana/loki:3.7.7@sha256:0b1c6a6c4f2a4b2e5d4e3f1a9c8b7a6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b": "registry.example.com:5000/mirror/grafana/loki-canary:3.7.7",
	} {
		config := map[string]string{}
		if lokiImage != "" {
			config["obs-stack:loki.image"] = lokiImage
		}
		rec := mustRun(t, "prod", config)
		var got []string
		for _, d := range rec.OfType("kubernetes:apps/v1:Deployment") {
			if d.Name == "canary" {
				got = append(got, mocktest.Dig(d.Inputs, "spec", "template", "spec", "containers", 0, "image").(string))
			}
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("loki.image %q: canary image %v, want %s", lokiImage, got, want)
		}
	}
}
