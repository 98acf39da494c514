package stacks_test

import (
	"strings"
	"testing"

	. "obs-stack/stacks"
	"obs-stack/stacks/load"
)

// TestForVolume checks figures computed by hand from stacks/volume-table.yaml and its rule
// (replicas and total requests interpolated between the anchors around the volume, each pod
// its share of the total and never less than the upper anchor's pod):
//   - 50 GB/day is the 1x.pico anchor itself;
//   - 300 GB/day lies halfway between 1x.extra-small (3 x 1 CPU / 5.25Gi) and 1x.small
//     (3 x 2.5 CPU / 13.25Gi): 5.25 CPU and 27.75Gi in all over 3 pods is below the upper pod,
//     so each pod requests 2.5 CPU / 13.25Gi (13568Mi);
//   - 2500 GB/day lies halfway between 1x.medium (3 x 6 CPU / 30Gi) and Grafana's 3 TB tier
//     (6 x 2 CPU / 4Gi): ceil(4.5) = 5 pods share 15 CPU and 57Gi, 3 CPU and 11673.6Mi each, and
//     ceil(6.5) = 7 queriers (3 to 10); 300 queries/s at 1x.medium's 75 on 3 make 12;
//   - a key set in the config keeps its value, and the ingestion rate covers 3x the average.
//
// It fails if the interpolation, the rounding or the explicit-key rule changed.
func TestForVolume(t *testing.T) {
	for _, c := range []struct {
		config                map[string]string
		replicas              int
		cpu, memory, limitMem string
		queriers              int
		rateMB                float64
	}{
		{map[string]string{"obs-stack:loki.ingestGBPerDay": "50"}, 3, "500m", "3Gi", "6Gi", 2, 4},
		{map[string]string{"obs-stack:loki.ingestGBPerDay": "300"}, 3, "2500m", "13568Mi", "27136Mi", 2, 11},
		{map[string]string{"obs-stack:loki.ingestGBPerDay": "2500"}, 5, "3", "11674Mi", "23348Mi", 7, 87},
		{map[string]string{"obs-stack:loki.ingestGBPerDay": "2500", "obs-stack:loki.queriesPerSecond": "300"}, 5, "3", "11674Mi", "23348Mi", 12, 87},
		{map[string]string{"obs-stack:loki": `{"ingestGBPerDay": 2500, "ingester": {"replicas": 9}}`, "obs-stack:loki.limits.ingestionRateMB": "40"}, 9, "3", "11674Mi", "23348Mi", 7, 40},
	} {
		spec, derived, err := load.Explain("prod", c.config)
		if err != nil {
			t.Fatal(err)
		}
		in := spec.Loki.Ingester
		if in.Replicas != c.replicas || in.Resources.Requests.CPU != c.cpu || in.Resources.Requests.Memory != c.memory || in.Resources.Limits.Memory != c.limitMem {
			t.Errorf("%v: ingester %d x %s / %s (limit %s), want %d x %s / %s (limit %s)", c.config, in.Replicas, in.Resources.Requests.CPU, in.Resources.Requests.Memory,
				in.Resources.Limits.Memory, c.replicas, c.cpu, c.memory, c.limitMem)
		}
		if spec.Loki.Querier.Replicas != c.queriers || spec.Loki.Limits.IngestionRateMB != c.rateMB {
			t.Errorf("%v: %d queriers, rate %g MB/s; want %d, %g", c.config, spec.Loki.Querier.Replicas, spec.Loki.Limits.IngestionRateMB, c.queriers, c.rateMB)
		}
		for _, d := range derived {
			if d.Key == "loki.ingester.replicas" && (d.Kept != (c.replicas == 9) || d.Kept && !strings.Contains(d.Why, "set in the stack's config")) {
				t.Errorf("%v: %+v", c.config, d)
			}
		}
	}
	// No volume declared: the preset's figures stand.
	spec, derived, err := load.Explain("prod", nil)
	if err != nil || len(derived) != 0 || spec.Loki.Ingester.Replicas != Prod().Loki.Ingester.Replicas {
		t.Errorf("without a volume nothing is derived: %v, %d derived", err, len(derived))
	}
}
