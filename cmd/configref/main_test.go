package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"obs-stack/stacks"
	"obs-stack/stacks/load"
)

const root = "../.."

// TestReferenceIsCurrent: docs/configuration.md is what the generator makes of today's spec,
// presets and catalogue; a key, doc comment, default or catalogue case changed without
// `go run ./cmd/configref` fails here.
func TestReferenceIsCurrent(t *testing.T) {
	want, err := Reference(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, Output))
	if err != nil {
		t.Fatalf("%v; fix: go run ./cmd/configref", err)
	}
	if string(got) != want {
		t.Errorf("%s is stale; fix: go run ./cmd/configref and commit the result", Output)
	}
}

// TestDefaultsLiveInThePresetsOnly: a doc comment that states a default restates what the
// presets say, and drifts from it (it did: the S3 endpoint's host, insecure).
func TestDefaultsLiveInThePresetsOnly(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(root, "stacks", "spec.go"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "//") && strings.Contains(line, "Default:") {
			t.Errorf("stacks/spec.go:%d states a default (%s); defaults live in stacks/presets.go and the generated reference shows them", i+1, strings.TrimSpace(line))
		}
	}
}

// TestEveryCatalogueKeyIsAReferenceKey: read independently of the generator, every key the
// bad-config catalogue names is a heading of the reference, so no refused key goes unlisted.
func TestEveryCatalogueKeyIsAReferenceKey(t *testing.T) {
	ref, err := os.ReadFile(filepath.Join(root, Output))
	if err != nil {
		t.Fatal(err)
	}
	headings := regexp.MustCompile("(?m)^## `([^`]+)`\n\n- type: (.*)$").FindAllStringSubmatch(string(ref), -1)
	var listed, maps []string // maps: keys whose entries are <key>.<name>
	for _, h := range headings {
		listed = append(listed, h[1])
		if strings.HasPrefix(h[2], "map of") {
			maps = append(maps, h[1])
		}
	}
	for _, want := range []string{"loki.mode", "loki.schemas[*].from", "gateway.replicas", "kafka.topics[*].partitions", "monitoring.canary.image"} {
		if !slices.Contains(listed, want) {
			t.Errorf("the reference lacks %s", want)
		}
	}
	src, err := os.ReadFile(filepath.Join(root, "stacks", "testdata", "bad-configs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	idx := regexp.MustCompile(`\[\d+\]`)
	for _, m := range regexp.MustCompile(`(?m)^  keys: \[(.*)\]$`).FindAllStringSubmatch(string(src), -1) {
		for _, k := range strings.Split(m[1], ",") {
			k = strings.TrimSuffix(idx.ReplaceAllString(strings.Trim(strings.TrimSpace(k), `"`), "[*]"), "[*]")
			if slices.Contains(listed, k) || slices.ContainsFunc(maps, func(m string) bool { return strings.HasPrefix(k, m+".") }) {
				continue
			}
			// Not listed: only a misspelt key the loader refuses as unknown may be missing.
			asSet := strings.ReplaceAll(k, "[*]", "[0]") // as a user sets it
			if _, err := load.Load("dev", map[string]string{stacks.Namespace + ":" + asSet: "1"}); err == nil || !strings.Contains(err.Error(), "unknown config key") {
				t.Errorf("the catalogue refuses %s, which the reference does not list (load: %v)", k, err)
			}
		}
	}
}
