package program

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/encoding"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"sigs.k8s.io/yaml"

	"obs-stack/internal/mocktest"
	"obs-stack/preflight"
	"obs-stack/stacks"
	"obs-stack/stacks/load"
)

// catalogueCase is one stack as a user writes it: its stack file, maybe the stack file of its
// last update (whose dataFacts are then on record) and the other stacks of the project.
type catalogueCase struct {
	Name  string `json:"name"`
	Stack string `json:"stack"`
	File  string `json:"file"`
	// Deployed is the stack file of the last update; empty: a first deployment.
	Deployed string `json:"deployed"`
	// Others are the project's other stack files, by stack name.
	Others map[string]string `json:"others"`
	// Project is the project file (Pulumi.yaml) when its config: section matters.
	Project string `json:"project"`
	// Keys must each have a problem of their own (bad cases).
	Keys []string `json:"keys"`
	// Says is text the error must hold, e.g. a value exactly as the user wrote it.
	Says []string `json:"says"`
}

func readCatalogue(t *testing.T, name string) []catalogueCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "stacks", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var cases []catalogueCase
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cases
}

// runStackFile runs a preview of the case the way the engine does: the stack file decoded by
// Pulumi's own loader, the project's stack files beside it, and the last update's outputs.
func runStackFile(t *testing.T, c catalogueCase) (*mocktest.Recorder, error) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{c.Stack: c.File}
	for stack, file := range c.Others {
		files[stack] = file
	}
	for stack, file := range files {
		if err := os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config, err := preflight.DecodeStackFile("Pulumi."+c.Stack+".yaml", []byte(c.File))
	if err != nil {
		t.Fatalf("the stack file does not decode: %v", err)
	}
	if c.Project != "" {
		if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(c.Project), 0o644); err != nil {
			t.Fatal(err)
		}
		applyProjectConfig(t, c.Project, config)
	}
	rec := &mocktest.Recorder{}
	if c.Deployed != "" {
		deployedConfig, err := preflight.DecodeStackFile("Pulumi."+c.Stack+".yaml", []byte(c.Deployed))
		if err != nil {
			t.Fatalf("the deployed stack file does not decode: %v", err)
		}
		deployed, err := load.Load(c.Stack, deployedConfig)
		if err != nil {
			t.Fatalf("the deployed stack file does not load: %v", err)
		}
		rec.Previous = map[string]any{"dataFacts": factsOutput(deployed)}
	}
	withConfig := func(info *pulumi.RunInfo) { info.Config, info.RootDirectory = config, dir }
	return rec, pulumi.RunErr(Run, pulumi.WithMocks("obs-stack", c.Stack, rec), withConfig)
}

// applyProjectConfig adds the project file's config values under the stack's, as the engine
// does before it runs the program: Pulumi's loader reads the file (shorthand values become a
// default for the project's own keys and a value for other namespaces), a key without a
// namespace is the project's, and a key the stack file sets keeps the stack file's value.
func applyProjectConfig(t *testing.T, raw string, config map[string]string) {
	t.Helper()
	project, err := workspace.LoadProjectBytes([]byte(raw), "Pulumi.yaml", encoding.YAML)
	if err != nil {
		t.Fatalf("the project file does not load: %v", err)
	}
	for key, c := range project.Config {
		value := c.Value
		if value == nil {
			value = c.Default
		}
		if !strings.Contains(key, ":") {
			key = project.Name.String() + ":" + key
		}
		if _, set := config[key]; set || value == nil {
			continue
		}
		if str, ok := value.(string); ok {
			config[key] = str
			continue
		}
		b, err := json.Marshal(value)
		if err != nil {
			t.Fatal(err)
		}
		config[key] = string(b)
	}
}

var (
	// problemLine is one problem: the key (the namespace dropped when it is obs-stack), the
	// value, the reason and the fix.
	problemLine    = regexp.MustCompile(`^(?:obs-stack:(\S+)|(kubernetes:\S+)) = (.+?): (.+); fix: (.+)$`)
	multiErrorLine = regexp.MustCompile(`^\d+ errors? occurred:$`)
	headerLine     = regexp.MustCompile(`^stack "[^"]+"( cannot be deployed|: this change would lose data or cannot be applied to the deployed stack):$`)
)

// TestBadConfigsRegisterNothing runs the bad-config catalogue through the whole program: every
// case fails, every line of the message is a header or a problem naming key, value, reason
// and fix, every listed key has a problem, and not one resource is registered (the read of the
// stack's own last outputs aside).
func TestBadConfigsRegisterNothing(t *testing.T) {
	cases := readCatalogue(t, "bad-configs.yaml")
	if len(cases) < 120 {
		t.Fatalf("the catalogue has %d cases, want at least 120", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel() // each case runs the program against mocks of its own
			if len(c.Keys) == 0 {
				t.Fatal("a bad case lists the keys it must be refused for")
			}
			rec, err := runStackFile(t, c)
			if err == nil {
				t.Fatal("preview accepted a bad config")
			}
			var named []string
			for _, line := range strings.Split(err.Error(), "\n") {
				// The SDK wraps the program's error in a multierror: "1 error occurred:\n\t* ...".
				line = strings.TrimPrefix(line, "\t* ")
				if line == "" || multiErrorLine.MatchString(line) {
					continue
				}
				if m := problemLine.FindStringSubmatch(line); m != nil {
					named = append(named, m[1]+m[2])
				} else if !headerLine.MatchString(line) {
					t.Errorf("not a problem with key, value, reason and fix: %q", line)
				}
			}
			for _, key := range c.Keys {
				if !slices.Contains(named, key) {
					t.Errorf("no problem for obs-stack:%s in:\n%v", key, err)
				}
			}
			for _, text := range c.Says {
				if !strings.Contains(err.Error(), text) {
					t.Errorf("want %q in:\n%v", text, err)
				}
			}
			for _, r := range rec.Resources {
				if r.Type != "pulumi:pulumi:Stack" && r.Type != "pulumi:pulumi:StackReference" {
					t.Errorf("registered %s %s", r.Type, r.Name)
				}
			}
		})
	}
}

// TestValidConfigsAreAccepted: stack files users write that must pass, first deployments and
// second updates alike.
func TestValidConfigsAreAccepted(t *testing.T) {
	for _, c := range readCatalogue(t, "valid-configs.yaml") {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			rec, err := runStackFile(t, c)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.OfType("kubernetes:apps/v1:StatefulSet")) == 0 {
				t.Error("nothing deployed")
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

// TestStackFileAsUsersWriteIt: a stack file decoded by Pulumi's own loader, as the engine
// hands it over, lands on the spec with the values the user wrote.
func TestStackFileAsUsersWriteIt(t *testing.T) {
	config, err := preflight.DecodeStackFile("Pulumi.dev.yaml", []byte(`config:
  obs-stack:loki:
    schemas:
      - from: 2024-04-01
      - from: 2099-01-01
        objectStore: filesystem
    limits:
      ingestionRateMB: 0.5
  obs-stack:loki.schemas[1].schema: v13
  obs-stack:kafka.topics[0].partitions: 3
  obs-stack:kafka.topics[1].name: audit
  obs-stack:cluster.nodes: "2"
  obs-stack:gateway["replicas"]: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := config["obs-stack:loki"]; !strings.Contains(got, `"2024-04-01 00:00:00 +0000 UTC"`) {
		t.Fatalf("Pulumi's loader no longer turns unquoted dates into Go time strings (%s): revisit untimestamp", got)
	}
	s, err := load.Load("dev", config)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Loki.Schemas) != 2 || s.Loki.Schemas[0].From != "2024-04-01" || s.Loki.Schemas[1].From != "2099-01-01" ||
		s.Loki.Schemas[1].Schema != "v13" || s.Loki.Schemas[0].Store != "tsdb" {
		t.Errorf("schemas = %+v", s.Loki.Schemas)
	}
	if s.Loki.Limits.IngestionRateMB != 0.5 {
		t.Errorf("ingestionRateMB = %v", s.Loki.Limits.IngestionRateMB)
	}
	if len(s.Kafka.Topics) != 2 || s.Kafka.Topics[0] != (stacks.KafkaTopic{Name: "logs", Partitions: 3, ReplicationFactor: 1}) || s.Kafka.Topics[1].Name != "audit" {
		t.Errorf("topics = %+v", s.Kafka.Topics)
	}
	if s.Cluster.Nodes != 2 || s.Gateway.Replicas != 2 {
		t.Errorf("nodes %d, gateway replicas %d", s.Cluster.Nodes, s.Gateway.Replicas)
	}
}
