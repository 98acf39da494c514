package program

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/internal/mocktest"
	"obs-stack/stacks"
)

// TestBadConfigsRegisterNothing runs the whole bad-config catalogue (stacks/testdata) through
// the program: every case fails naming its keys, and not one resource is registered.
func TestBadConfigsRegisterNothing(t *testing.T) {
	raw, err := os.ReadFile("../stacks/testdata/bad-configs.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name   string            `json:"name"`
		Stack  string            `json:"stack"`
		Config map[string]string `json:"config"`
		Keys   []string          `json:"keys"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 50 {
		t.Fatalf("the catalogue has %d cases, want at least 50", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			rec, err := run(t, c.Stack, c.Config)
			if err == nil {
				t.Fatal("preview accepted a bad config")
			}
			for _, key := range c.Keys {
				if !strings.Contains(err.Error(), "obs-stack:"+key) {
					t.Errorf("error does not name obs-stack:%s: %v", key, err)
				}
			}
			for _, r := range rec.Resources {
				if r.Type != "pulumi:pulumi:Stack" {
					t.Errorf("registered %s %s", r.Type, r.Name)
				}
			}
		})
	}
}

// TestDataLossRefusedBeforeAnyObject: with a deployed dev stack on record, a mode switch off
// its filesystem PVC fails the preview before any Kubernetes object is declared.
func TestDataLossRefusedBeforeAnyObject(t *testing.T) {
	deployed := factsOutput(stacks.Dev())
	rec := &mocktest.Recorder{Previous: map[string]any{"dataFacts": deployed}}
	config := map[string]string{"obs-stack:loki": `{"mode":"SimpleScalable","storage":{"type":"s3","s3":{"buckets":{"chunks":"loki-c1","ruler":"loki-r1"},"credentialsSecret":{"name":"s3"}}},"schemas":[{"objectStore":"s3"}],"read":{"replicas":1},"write":{"replicas":1},"backend":{"replicas":1}}`}
	err := pulumi.RunErr(Run, pulumi.WithMocks("obs-stack", "dev", rec), func(info *pulumi.RunInfo) { info.Config = config })
	if err == nil || !strings.Contains(err.Error(), "obs-stack:loki.mode") || !strings.Contains(err.Error(), "allowDataLoss") {
		t.Fatalf("want a refusal naming loki.mode and allowDataLoss, got %v", err)
	}
	for _, r := range rec.Resources {
		if strings.HasPrefix(r.Type, "kubernetes:") {
			t.Errorf("declared %s %s before refusing", r.Type, r.Name)
		}
	}
}
