package stacks

import (
	_ "embed"
	"fmt"
	"maps"
	"math"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// volumeTableYAML is the sizing table by ingest volume, with its sources (volume-table.yaml).
//
//go:embed volume-table.yaml
var volumeTableYAML []byte

// VolumeAnchor is one row of the sizing table: a volume and the Distributed sizing a source
// gives for it.
type VolumeAnchor struct {
	GBPerDay     float64 `json:"gbPerDay"`
	Source       string  `json:"source"`
	OperatorSize string  `json:"operatorSize"`
	// QPS is the most queries per second the source sizes the anchor for (0: not given).
	QPS float64 `json:"qps"`
	// IngestionRateMB and IngestionBurstSizeMB are the source's per-tenant limits (0: none).
	IngestionRateMB      float64                 `json:"ingestionRateMB"`
	IngestionBurstSizeMB float64                 `json:"ingestionBurstSizeMB"`
	Targets              map[string]AnchorTarget `json:"targets"`
}

// AnchorTarget is one target's replicas and per-pod requests at an anchor.
type AnchorTarget struct {
	Replicas int    `json:"replicas"`
	CPU      string `json:"cpu"`
	Memory   string `json:"memory"`
}

// VolumeTable is the sizing table, in volume order.
var VolumeTable = func() []VolumeAnchor {
	var t struct{ Anchors []VolumeAnchor }
	if err := yaml.UnmarshalStrict(volumeTableYAML, &t); err != nil {
		panic("stacks/volume-table.yaml: " + err.Error())
	}
	return t.Anchors
}()

// Volume ranges of the modes Grafana gives (Loki's "Deployment modes" page): monolithic up to
// about 20 GB a day, simple scalable up to about 1 TB a day. Preview warns above a range and
// refuses beyond RangeLimit times it.
var ModeRanges = map[string]float64{SingleBinary: 20, SimpleScalable: 1000}

// RangeLimit is how far past its range a mode is refused.
const RangeLimit = 5

// MaxGBPerDay bounds loki.ingestGBPerDay: ten times the largest volume any source sizes.
const MaxGBPerDay = 300000

// Assumptions obs-stack adds where the sources are silent, named in cmd/sizing.
const (
	// PeakFactor: the busiest hour carries this many times the day's average rate.
	PeakFactor = 3.0
	// PartitionMBps is what one Kafka partition is sized to carry, in MB/s.
	PartitionMBps = 10.0
	// LimitFactor: limits are this many times the requests the sources give.
	LimitFactor = 2
)

// Derived is one figure sized from the declared volume and why; Kept marks a key set
// explicitly, whose value stands.
type Derived struct {
	Key, Value, Why string
	Kept            bool
}

// ForVolume sizes the spec for loki.ingestGBPerDay and loki.queriesPerSecond from the
// sizing table: Distributed targets (SimpleScalable: write from the ingester row, read from the
// querier row), the ingestion limits and the Kafka partitions. explicit reports the keys set in
// the stack's config, which keep their values. Nothing changes when no volume is declared, or
// a volume validation refuses.
func (s Spec) ForVolume(explicit func(key string) bool) (Spec, []Derived) {
	gb := s.Loki.IngestGBPerDay
	if !(gb > 0 && gb <= MaxGBPerDay) {
		return s, nil
	}
	var out []Derived
	// take records a figure and reports whether it applies: a key set in the config keeps
	// its current value.
	take := func(key, why string, value, current any) bool {
		if explicit(key) {
			out = append(out, Derived{Key: key, Value: fmt.Sprint(current), Why: "set in the stack's config", Kept: true})
			return false
		}
		out = append(out, Derived{Key: key, Value: fmt.Sprint(value), Why: why})
		return true
	}
	l := &s.Loki
	targets := map[string]*Workload{"distributor": &l.Distributor, "ingester": &l.Ingester, "querier": &l.Querier, "queryFrontend": &l.QueryFrontend,
		"queryScheduler": &l.QueryScheduler, "indexGateway": &l.IndexGateway, "compactor": &l.Compactor, "ruler": &l.Ruler}
	rows := map[string]string{}
	switch l.Mode {
	case Distributed:
		for name := range targets {
			rows[name] = name
		}
	case SimpleScalable:
		targets = map[string]*Workload{"write": &l.Write, "read": &l.Read}
		rows = map[string]string{"write": "ingester", "read": "querier"}
	default:
		targets = nil
	}
	for _, name := range slices.Sorted(maps.Keys(targets)) {
		w, key := targets[name], "loki."+name
		t, why, ok := sizeTarget(rows[name], gb)
		if !ok {
			out = append(out, Derived{Key: key, Value: fmt.Sprint(w.Replicas), Why: "no source sizes it at this volume: the preset's figures stand", Kept: true})
			continue
		}
		if name == "querier" || name == "read" {
			if n, qwhy := queriersFor(s.Loki.QueriesPerSecond, gb); n > t.Replicas {
				t.Replicas, why = n, qwhy
			}
		}
		if rows[name] == "ingester" && t.Replicas < l.ReplicationFactor {
			t.Replicas, why = l.ReplicationFactor, fmt.Sprintf("%s; raised to the replication factor %d", why, l.ReplicationFactor)
		}
		r := &w.Resources
		limitCPU, limitMemory := scale(t.CPU, LimitFactor, false), scale(t.Memory, LimitFactor, true)
		limitWhy := fmt.Sprintf("%d x the request (the sources give requests only)", LimitFactor)
		if take(key+".replicas", why, t.Replicas, w.Replicas) {
			w.Replicas = t.Replicas
		}
		if take(key+".resources.requests.cpu", why, t.CPU, r.Requests.CPU) {
			r.Requests.CPU = t.CPU
		}
		if take(key+".resources.requests.memory", why, t.Memory, r.Requests.Memory) {
			r.Requests.Memory = t.Memory
		}
		if take(key+".resources.limits.cpu", limitWhy, limitCPU, r.Limits.CPU) {
			r.Limits.CPU = limitCPU
		}
		if take(key+".resources.limits.memory", limitWhy, limitMemory, r.Limits.Memory) {
			r.Limits.Memory = limitMemory
		}
	}

	// Ingestion limits: no tenant is rate-limited at the declared volume's busiest hour.
	peak := gb * 1000 / 86400 * PeakFactor // MB/s
	anchor := anchorAt(gb, func(a VolumeAnchor) bool { return a.IngestionRateMB > 0 })
	rate := math.Max(math.Ceil(peak), anchor.IngestionRateMB)
	rateWhy := fmt.Sprintf("%.0f GB/day is %.2f MB/s on average, %.0fx at the busiest hour; at least %s's %g", gb, gb*1000/86400, PeakFactor, anchor.Source, anchor.IngestionRateMB)
	if take("loki.limits.ingestionRateMB", rateWhy, rate, l.Limits.IngestionRateMB) {
		l.Limits.IngestionRateMB = rate
	}
	burst := math.Max(anchor.IngestionBurstSizeMB, math.Ceil(l.Limits.IngestionRateMB*1.5))
	if take("loki.limits.ingestionBurstSizeMB", fmt.Sprintf("1.5 x the rate, at least %s's %g", anchor.Source, anchor.IngestionBurstSizeMB), burst, l.Limits.IngestionBurstSizeMB) {
		l.Limits.IngestionBurstSizeMB = burst
	}

	if s.Kafka.Enabled {
		need := int(math.Ceil(peak / PartitionMBps))
		for i := range s.Kafka.Topics {
			t := &s.Kafka.Topics[i]
			if need > t.Partitions && take(fmt.Sprintf("kafka.topics[%d].partitions", i),
				fmt.Sprintf("%.1f MB/s at the busiest hour over %g MB/s per partition", peak, PartitionMBps), need, t.Partitions) {
				t.Partitions = need
			}
		}
	}
	return s, out
}

// sizeTarget is a row's sizing at gb GB/day: replicas and total requests interpolated
// linearly between the anchors around it, each pod requesting its share of the total and never
// less than the upper anchor's pod. A row an anchor lacks carries the last anchor's that has it.
func sizeTarget(row string, gb float64) (AnchorTarget, string, bool) {
	type point struct {
		gb           float64
		source       string
		t            AnchorTarget
		milli, bytes float64
	}
	var pts []point
	var last point // the last anchor that has the row
	for _, a := range VolumeTable {
		t, ok := a.Targets[row]
		if !ok {
			if last.source == "" {
				continue
			}
			p := last
			p.gb, p.source = a.GBPerDay, a.Source+" (carried from "+last.source+")"
			pts = append(pts, p)
			continue
		}
		cpu, mem := resource.MustParse(t.CPU), resource.MustParse(t.Memory)
		last = point{gb: a.GBPerDay, source: a.Source, t: t,
			milli: float64(cpu.MilliValue() * int64(t.Replicas)), bytes: float64(mem.Value() * int64(t.Replicas))}
		pts = append(pts, last)
	}
	if len(pts) == 0 || gb < pts[0].gb && pts[0].gb != VolumeTable[0].GBPerDay {
		return AnchorTarget{}, "", false
	}
	switch i := slices.IndexFunc(pts, func(p point) bool { return p.gb >= gb }); {
	case i == 0 || pts[i].gb == gb:
		i = max(i, 0)
		return pts[i].t, fmt.Sprintf("%s (%g GB/day)", pts[i].source, pts[i].gb), true
	case i < 0: // beyond the last anchor: in proportion
		p := pts[len(pts)-1]
		f := gb / p.gb
		t := p.t
		t.Replicas = int(math.Ceil(float64(t.Replicas) * f))
		return t, fmt.Sprintf("%s scaled by %.2f: %g GB/day is beyond every source", p.source, f, gb), true
	default:
		lo, hi := pts[i-1], pts[i]
		f := (gb - lo.gb) / (hi.gb - lo.gb)
		lerp := func(a, b float64) float64 { return a + (b-a)*f }
		t := hi.t
		t.Replicas = int(math.Ceil(lerp(float64(lo.t.Replicas), float64(hi.t.Replicas))))
		cpu, mem := resource.MustParse(hi.t.CPU), resource.MustParse(hi.t.Memory)
		t.CPU = resource.NewMilliQuantity(int64(math.Ceil(math.Max(float64(cpu.MilliValue()), lerp(lo.milli, hi.milli)/float64(t.Replicas)))), resource.DecimalSI).String()
		t.Memory = mebibytes(math.Max(float64(mem.Value()), lerp(lo.bytes, hi.bytes)/float64(t.Replicas)))
		return t, fmt.Sprintf("interpolated between %s (%g GB/day) and %s (%g GB/day)", lo.source, lo.gb, hi.source, hi.gb), true
	}
}

// queriersFor is how many queriers answer qps at gb GB/day: the queries per querier of the
// anchor with a QPS figure at or below the volume (the first one below it).
func queriersFor(qps, gb float64) (int, string) {
	if qps <= 0 {
		return 0, ""
	}
	a := anchorAt(gb, func(a VolumeAnchor) bool { return a.QPS > 0 })
	per := a.QPS / float64(a.Targets["querier"].Replicas)
	return int(math.Ceil(qps / per)), fmt.Sprintf("%g queries/s at %g per querier (%s: %g QPS on %d queriers)", qps, per, a.Source, a.QPS, a.Targets["querier"].Replicas)
}

// anchorAt is the last anchor at or below gb that has what has asks for (else the first that has it).
func anchorAt(gb float64, has func(VolumeAnchor) bool) VolumeAnchor {
	var found VolumeAnchor
	for _, a := range VolumeTable {
		if has(a) && (a.GBPerDay <= gb || found.Source == "") {
			found = a
		}
	}
	return found
}

// scale multiplies a quantity; memory is written in Mi.
func scale(q string, by int, memory bool) string {
	v := resource.MustParse(q)
	if memory {
		return mebibytes(float64(v.Value() * int64(by)))
	}
	return resource.NewMilliQuantity(v.MilliValue()*int64(by), resource.DecimalSI).String()
}

// mebibytes writes bytes as whole Mi, rounded up (as Gi when whole).
func mebibytes(b float64) string {
	mi := int64(math.Ceil(b / (1 << 20)))
	if mi%1024 == 0 {
		return fmt.Sprintf("%dGi", mi/1024)
	}
	return fmt.Sprintf("%dMi", mi)
}
