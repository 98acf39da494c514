package program

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"obs-stack/internal/mocktest"
)

// TestZonesPlaceEveryPod: prod over three zones, as a stack file sets them. Every expected
// value is written by hand from the Kubernetes API (node affinity, topology spread), the Helm
// chart's zone-aware ingesters (one StatefulSet per zone) and Loki's common.ring keys
// (pkg/util/ring/ring_config.go).
func TestZonesPlaceEveryPod(t *testing.T) {
	zones := []any{"eu-west-1a", "eu-west-1b", "eu-west-1c"}
	rec := mustRun(t, "prod", map[string]string{
		"obs-stack:cluster": `{"zones": {"names": ["eu-west-1a", "eu-west-1b", "eu-west-1c"], "storageClasses": {"eu-west-1b": "gp3-b"}}}`,
	})
	nodeZones := func(r mocktest.Resource) any {
		return mocktest.Dig(r.Inputs, "spec", "template", "spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
			"nodeSelectorTerms", 0, "matchExpressions", 0)
	}
	spreadKeys := func(r mocktest.Resource) []string {
		var keys []string
		list, _ := mocktest.Dig(r.Inputs, "spec", "template", "spec", "topologySpreadConstraints").([]any)
		for _, c := range list {
			c := c.(map[string]any)
			if c["maxSkew"] != 1.0 {
				t.Errorf("%s: maxSkew %v, want 1", r.Name, c["maxSkew"])
			}
			keys = append(keys, fmt.Sprint(c["topologyKey"], " ", c["whenUnsatisfiable"]))
		}
		return keys
	}
	allZones := map[string]any{"key": "topology.kubernetes.io/zone", "operator": "In", "values": zones}
	bothSpreads := []string{"topology.kubernetes.io/zone DoNotSchedule", "kubernetes.io/hostname ScheduleAnyway"}

	ingesters := map[string]mocktest.Resource{}
	checked := 0
	for _, typ := range []string{"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"} {
		for _, r := range rec.OfType(typ) {
			if strings.HasPrefix(r.Name, "loki-ingester") {
				ingesters[r.Name] = r
				continue
			}
			checked++
			if got := nodeZones(r); fmt.Sprint(got) != fmt.Sprint(allZones) {
				t.Errorf("%s: node affinity %v, want %v", r.Name, got, allZones)
			}
			replicas := mocktest.Dig(r.Inputs, "spec", "replicas")
			if got := spreadKeys(r); replicas.(float64) > 1 && !slices.Equal(got, bothSpreads) || replicas.(float64) == 1 && got != nil {
				t.Errorf("%s (%v replicas): topology spread %v, want %v for more than one replica, none for one", r.Name, replicas, got, bothSpreads)
			}
		}
	}
	if checked < 12 {
		t.Errorf("only %d Deployments and StatefulSets besides the ingesters", checked)
	}
	if _, ok := ingesters["loki-ingester"]; ok || len(ingesters) != 3 {
		t.Fatalf("ingester StatefulSets %v, want one per zone and no loki-ingester", slices.Sorted(func(yield func(string) bool) {
			for k := range ingesters {
				yield(k)
			}
		}))
	}
	for i, zone := range zones {
		name := "loki-ingester-" + zone.(string)
		r, ok := ingesters[name]
		if !ok {
			t.Fatalf("no StatefulSet %s", name)
		}
		for _, c := range []struct {
			path []any
			want any
		}{
			{[]any{"replicas"}, 1.0},
			{[]any{"selector", "matchLabels", "obs-stack.io/zone"}, zone},
			{[]any{"selector", "matchLabels", "app.kubernetes.io/component"}, "ingester"},
			{[]any{"template", "metadata", "labels", "obs-stack.io/zone"}, zone},
		} {
			if got := mocktest.Dig(r.Inputs, append([]any{"spec"}, c.path...)...); got != c.want {
				t.Errorf("%s: spec.%v = %v, want %v", name, c.path, got, c.want)
			}
		}
		if got, want := nodeZones(r), map[string]any{"key": "topology.kubernetes.io/zone", "operator": "In", "values": []any{zone}}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: node affinity %v, want %v", name, got, want)
		}
		if got := spreadKeys(r); got != nil {
			t.Errorf("%s: one replica, spread %v", name, got)
		}
		env := fmt.Sprint(mocktest.Dig(r.Inputs, "spec", "template", "spec", "containers", 0, "env"))
		if !strings.Contains(env, "name:LOKI_ZONE value:"+zone.(string)) {
			t.Errorf("%s: env %s lacks LOKI_ZONE=%s", name, env, zone)
		}
		class := mocktest.Dig(r.Inputs, "spec", "volumeClaimTemplates", 0, "spec", "storageClassName")
		if want := map[bool]any{true: "gp3-b", false: nil}[zone == "eu-west-1b"]; class != want {
			t.Errorf("%s: storage class %v, want %v", name, class, want)
		}
		// One zone at a time: each zone's set waits for the one before it.
		if i > 0 {
			before := "loki-ingester-" + zones[i-1].(string)
			if !slices.ContainsFunc(r.Dependencies, func(urn string) bool { return strings.HasSuffix(urn, "::"+before) }) {
				t.Errorf("%s depends on %v, want %s among them", name, r.Dependencies, before)
			}
		}
	}
	var pdbs []string
	for _, pdb := range rec.OfType("kubernetes:policy/v1:PodDisruptionBudget") {
		if mocktest.Dig(pdb.Inputs, "spec", "selector", "matchLabels", "app.kubernetes.io/component") == "ingester" {
			pdbs = append(pdbs, pdb.Name)
			if z := mocktest.Dig(pdb.Inputs, "spec", "selector", "matchLabels", "obs-stack.io/zone"); z != nil {
				t.Errorf("the ingesters' PDB selects zone %v only", z)
			}
		}
	}
	if len(pdbs) != 1 {
		t.Errorf("ingester PDBs %v, want one over every zone (one ingester down at a time)", pdbs)
	}
	if aff := mocktest.Dig(rec.One(t, "kubernetes:apps/v1:DaemonSet").Inputs, "spec", "template", "spec", "affinity"); aff != nil {
		t.Errorf("Alloy runs on every node, yet has affinity %v", aff)
	}

	var config struct {
		Common struct {
			Ring map[string]any `json:"ring"`
		} `json:"common"`
	}
	for _, cm := range rec.OfType("kubernetes:core/v1:ConfigMap") {
		if text, ok := mocktest.Dig(cm.Inputs, "data", "config.yaml").(string); ok && strings.Contains(text, "schema_config") {
			if err := yaml.Unmarshal([]byte(text), &config); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := config.Common.Ring; got["zone_awareness_enabled"] != true || got["instance_availability_zone"] != "${LOKI_ZONE}" {
		t.Errorf("common.ring = %v, want zone_awareness_enabled true and instance_availability_zone ${LOKI_ZONE}", got)
	}
}
