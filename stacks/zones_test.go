package stacks

import (
	"math"
	"slices"
	"testing"
)

// TestZoneShares: how replicas and nodes are dealt to zones (the topology spread's at most one
// of skew, the first zones taking the rest) and how many replicas hard anti-affinity can
// place, at the edges. Every expected value is worked out by hand.
func TestZoneShares(t *testing.T) {
	three := Cluster{Nodes: 4, Zones: Zones{Names: []string{"a", "b", "c"}}}
	none := Cluster{Nodes: 4}
	for _, c := range []struct {
		cluster Cluster
		n       int
		want    []int
	}{
		{three, 0, []int{0, 0, 0}},
		{three, 1, []int{1, 0, 0}},
		{three, 2, []int{1, 1, 0}},
		{three, 3, []int{1, 1, 1}},
		{three, 4, []int{2, 1, 1}},
		{three, 5, []int{2, 2, 1}},
		{three, math.MaxInt, []int{math.MaxInt/3 + 1, math.MaxInt / 3, math.MaxInt / 3}}, // MaxInt = 3k+1
		{none, 5, []int{5}},
		{none, 0, []int{0}},
	} {
		var got []int
		for i := range c.cluster.ZoneCount() {
			got = append(got, c.cluster.ZoneShare(c.n, i))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%d over %v: %v, want %v", c.n, c.cluster.Zones.Names, got, c.want)
		}
	}
	// Nodes 4 over three zones: 2, 1, 1.
	for replicas, want := range map[int]int{0: 0, 1: 1, 3: 3, 4: 4, 5: 4, 6: 4, 100: 4} {
		if got := three.Placeable(replicas); got != want {
			t.Errorf("hard anti-affinity, %d replicas on 4 nodes over 3 zones: %d placeable, want %d", replicas, got, want)
		}
	}
	for replicas, want := range map[int]int{0: 0, 3: 3, 4: 4, 9: 4} {
		if got := none.Placeable(replicas); got != want {
			t.Errorf("hard anti-affinity, %d replicas on 4 nodes: %d placeable, want %d", replicas, got, want)
		}
	}
}

// TestZoneSets: the data target's StatefulSets per zone, named after the target and the zone,
// with an even share and the zone's own storage class or the stack's; other targets keep one.
func TestZoneSets(t *testing.T) {
	z := Zones{Names: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}, StorageClasses: map[string]string{"eu-west-1b": "gp3-b"}}
	ingester := Target{TargetKind: TargetKind{Name: "ingester", HoldsData: true, Stateful: true}, Workload: Workload{Replicas: 6}}
	want := []ZoneSet{
		{Name: "loki-ingester-eu-west-1a", Zone: "eu-west-1a", Replicas: 2, StorageClass: "standard"},
		{Name: "loki-ingester-eu-west-1b", Zone: "eu-west-1b", Replicas: 2, StorageClass: "gp3-b"},
		{Name: "loki-ingester-eu-west-1c", Zone: "eu-west-1c", Replicas: 2, StorageClass: "standard"},
	}
	if got := z.Sets(ingester, "standard"); !slices.Equal(got, want) {
		t.Errorf("zoned ingester sets %+v, want %+v", got, want)
	}
	compactor := Target{TargetKind: TargetKind{Name: "compactor", Stateful: true}, Workload: Workload{Replicas: 1}}
	if got, want := z.Sets(compactor, ""), []ZoneSet{{Name: "loki-compactor", Replicas: 1}}; !slices.Equal(got, want) {
		t.Errorf("compactor sets %+v, want %+v", got, want)
	}
	if got, want := (Zones{}).Sets(ingester, "x"), []ZoneSet{{Name: "loki-ingester", Replicas: 6, StorageClass: "x"}}; !slices.Equal(got, want) {
		t.Errorf("ingester sets without zones %+v, want %+v", got, want)
	}
}
