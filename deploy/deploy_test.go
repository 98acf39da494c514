package deploy

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// TestProtectedResources reads the output of a real destroy preview of prod on the local plane
// (`pulumi destroy --preview-only --stack prod` after ./scripts/up.sh with STACK=prod; the
// plugin-path warnings removed): the engine refuses five protected StatefulSets, some of them
// more than once.
func TestProtectedResources(t *testing.T) {
	raw, err := os.ReadFile("testdata/destroy-preview-protected.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"StatefulSet loki-index-gateway", "StatefulSet kafka", "StatefulSet loki-compactor", "StatefulSet loki-ingester", "StatefulSet loki-ruler"}
	if got := protectedResources(string(raw)); !slices.Equal(got, want) {
		t.Errorf("protected = %q, want %q", got, want)
	}
	for output, want := range map[string][]string{
		"":                     nil,
		"error: update failed": nil,
		// A resource without a parent component has no $ in its type.
		`resource "urn:pulumi:dev::obs-stack::kubernetes:core/v1:Namespace::observability-dev" cannot be deleted`:                         {"Namespace observability-dev"},
		`resource "urn:pulumi:prod::obs-stack::obs-stack:kafka:Kafka$random:index/randomId:RandomId::kafka-cluster-id" cannot be deleted`: {"RandomId kafka-cluster-id"},
	} {
		if got := protectedResources(output); !slices.Equal(got, want) {
			t.Errorf("protectedResources(%q) = %q, want %q", output, got, want)
		}
	}
}

func TestWithoutSidecars(t *testing.T) {
	for backend, want := range map[string]string{
		"file:///home/me/obs-stack/.state":    "file:///home/me/obs-stack/.state?metadata=skip",
		"file:///home/me/obs stack/.state":    "file:///home/me/obs stack/.state?metadata=skip", // the file backend reads the path raw
		"file:///srv/.state?no_tmp_dir=false": "file:///srv/.state?no_tmp_dir=false&metadata=skip",
		"file:///srv/.state?metadata=skip":    "file:///srv/.state?metadata=skip",
		"file:///srv/.state?metadata=":        "file:///srv/.state?metadata=", // the user's choice stays
		"file:///srv/.state/render-dev":       "file:///srv/.state/render-dev?metadata=skip",
		"file:///srv/%zz":                     "file:///srv/%zz", // not a URL: left for Pulumi to refuse
	} {
		if got := withoutSidecars(backend); got != want {
			t.Errorf("withoutSidecars(%q) = %q, want %q", backend, got, want)
		}
	}
}

// TestChanges: the stack's read of its own outputs and the unchanged resources are not changes.
func TestChanges(t *testing.T) {
	got := Changes(map[apitype.OpType]int{apitype.OpSame: 86, apitype.OpRead: 1, apitype.OpUpdate: 2, apitype.OpCreate: 0, apitype.OpReplace: 1})
	if fmt.Sprint(got) != "map[replace:1 update:2]" {
		t.Errorf("Changes = %v, want map[replace:1 update:2]", got)
	}
	if got := UpChanges(auto.UpdateSummary{}); len(got) != 0 {
		t.Errorf("an update without a summary of changes changed %v", got)
	}
}
