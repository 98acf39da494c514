package program

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
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
