package stacks

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/prometheus/common/model"
)

var tenantID = regexp.MustCompile(`^[a-zA-Z0-9!._*'()-]{1,150}$`)

// validTenantID is Loki's rule for a tenant id: 1-150 letters, digits or !-_.*'(), not . or ..
func validTenantID(id string) bool {
	return tenantID.MatchString(id) && id != "." && id != ".."
}

func (s Spec) checkLoki(c *checker) {
	l := s.Loki
	switch l.Mode {
	case SingleBinary, Distributed:
	case SimpleScalable:
		c.warn("loki.mode", l.Mode, "SimpleScalable (read/write/backend) is deprecated and Loki 4 refuses to start with these targets",
			"plan a move to Distributed (object storage first) before upgrading to Loki 4")
	default:
		// Reported, and every other check still runs: an unknown mode simply runs no targets.
		c.fail("loki.mode", l.Mode, "unknown Loki deployment mode", "set it to SingleBinary, SimpleScalable or Distributed")
	}
	image(c, "loki.image", l.Image, defaults.Loki.Image)

	switch {
	case !l.AuthEnabled && l.Tenant != "fake":
		c.fail("loki.tenant", l.Tenant, "with loki.authEnabled false Loki ignores X-Scope-OrgID and stores everything in tenant \"fake\"",
			"set obs-stack:loki.tenant to fake, or obs-stack:loki.authEnabled to true")
	case l.AuthEnabled && !validTenantID(l.Tenant):
		c.fail("loki.tenant", l.Tenant, "with auth on every request needs a tenant id of 1-150 letters, digits or !-_.*'() other than \".\" and \"..\" (Loki refuses those)",
			"set obs-stack:loki.tenant, e.g. to default")
	}

	targets := l.Targets()
	for _, t := range targets {
		key := "loki." + t.Key
		checkWorkload(c, key, t.Workload, t.Stateful, t.Autoscales, s.Cluster, minLokiMemory)
		// Replicas that can run: hard anti-affinity places at most one per node.
		placeable := t.Workload.Replicas
		if t.Workload.AntiAffinity == AntiAffinityHard && s.Cluster.Nodes >= 1 && placeable <= MaxReplicas {
			placeable = s.Cluster.Placeable(placeable)
		}
		if s.Cluster.Zones.ZoneAware(t) {
			s.checkZoneAware(c, t)
		}
		if t.HoldsData && l.ReplicationFactor > placeable && placeable > 0 {
			quorum := l.ReplicationFactor/2 + 1
			reason := fmt.Sprintf("writes need %d live %s replicas but only %d can run, so every push fails (\"too many unhealthy instances in the ring\")",
				quorum, t.Name, placeable)
			if placeable >= quorum {
				reason = fmt.Sprintf("only %d %s replicas hold data, so each stream has fewer copies than the factor promises and losing %d pod(s) stops writes",
					placeable, t.Name, placeable-quorum+1)
			}
			c.fail("loki.replicationFactor", l.ReplicationFactor, reason,
				"set obs-stack:loki.replicationFactor to at most %d, or run at least %d %s replicas (obs-stack:%s.replicas, with room to place them)", placeable, l.ReplicationFactor, t.Name, key)
		}
		if t.Singleton && t.Workload.Replicas > 1 && t.Workload.Replicas <= MaxReplicas {
			c.fail(key+".replicas", t.Workload.Replicas, "only one compactor may run; more corrupt retention and the index", "set it to 1")
		}
	}
	if l.ReplicationFactor < 1 || l.ReplicationFactor > MaxReplicas {
		c.fail("loki.replicationFactor", l.ReplicationFactor, fmt.Sprintf("the replication factor must be between 1 and %d", MaxReplicas), "set it to 1 (one replica) or 3 (HA)")
	}

	s.checkQueueScaling(c)
	s.checkLokiStorage(c)
	checkVolume(c, l)
	checkSchemas(c, l)
	checkLimits(c, l.Limits)
	s.checkTenants(c)
	checkCache(c, "loki.caches.chunksCache", l.Caches.ChunksCache, s.Cluster)
	checkCache(c, "loki.caches.resultsCache", l.Caches.ResultsCache, s.Cluster)
}

// maxStatefulSetName: a StatefulSet's pods carry the label controller-revision-hash
// <name>-<hash of up to 10 characters>, and a label value has at most 63 characters.
const maxStatefulSetName = 63 - 11

// checkZoneAware: the zone-aware data target t keeps each stream's copies in different zones,
// so losing one zone must leave a write quorum (replication factor 3 or more, and as many
// zones), and its replicas divide evenly into one StatefulSet per zone.
func (s Spec) checkZoneAware(c *checker, t Target) {
	z, rf, key := s.Cluster.Zones, s.Loki.ReplicationFactor, "loki."+t.Key
	n := len(z.Names)
	if n < 2 {
		return // reported on cluster.zones.names
	}
	switch quorum := rf/2 + 1; {
	case rf >= 1 && rf-1 < quorum:
		c.fail("loki.replicationFactor", rf,
			fmt.Sprintf("with zones each stream keeps %d %s, one per zone; losing a zone leaves %d, below the write quorum of %d, so pushes of its streams fail (and with no copy left its logs cannot be read) until the zone is back",
				rf, plural(rf, "copy", "copies"), rf-1, quorum),
			"set obs-stack:loki.replicationFactor to 3 (with %s.replicas a multiple of %d), or remove obs-stack:cluster.zones.names", key, n)
	case rf > n && rf <= MaxReplicas:
		c.fail("cluster.zones.names", z.Names,
			fmt.Sprintf("zone-aware replication puts each of the %d copies of a stream in a different zone, so %d zones hold only %d copies and the rest are never written", rf, n, n),
			"name at least %d zones, or set obs-stack:loki.replicationFactor to %d", rf, n)
	}
	if r := t.Workload.Replicas; r >= 1 && r <= MaxReplicas && r%n != 0 {
		lower, upper := r/n*n, (r/n+1)*n
		fix := fmt.Sprintf("set obs-stack:%s.replicas to %d", key, upper)
		if lower > 0 {
			fix = fmt.Sprintf("set obs-stack:%s.replicas to %d or %d", key, lower, upper)
		}
		c.fail(key+".replicas", r, fmt.Sprintf("the %s replicas run as one StatefulSet per zone, each with the same share, and %d do not divide into %d zones", t.Name, r, n), "%s", fix)
	}
	for i, set := range z.Sets(t, "") {
		if len(set.Name) > maxStatefulSetName {
			c.fail(fmt.Sprintf("cluster.zones.names[%d]", i), set.Zone,
				fmt.Sprintf("the zone's StatefulSet %s has %d characters, and a StatefulSet's name has at most %d (its pods' controller-revision-hash label adds 11)", set.Name, len(set.Name), maxStatefulSetName),
				"name the zone with at most %d characters", maxStatefulSetName-len(set.Name)+len(set.Zone))
		}
	}
}

// MaxIngestionMB bounds the per-tenant rate and burst (MB/s): far above any real tenant.
const MaxIngestionMB = 100000

func checkLimits(c *checker, l LokiLimits) {
	d, err := model.ParseDuration(l.RetentionPeriod)
	c.valid.Retention = time.Duration(d)
	switch {
	case err != nil || d < 0:
		c.fail("loki.limits.retentionPeriod", l.RetentionPeriod, "not a duration", "write it like 744h, 30d or 0s (keep forever)")
	case d > 0 && d < model.Duration(24*time.Hour):
		c.fail("loki.limits.retentionPeriod", l.RetentionPeriod, "Loki's retention works in whole index periods, and 24h is its documented minimum",
			"set it to 24h or more, or 0s to keep logs forever")
	}
	if l.IngestionRateMB <= 0 || l.IngestionRateMB > MaxIngestionMB {
		c.fail("loki.limits.ingestionRateMB", l.IngestionRateMB, fmt.Sprintf("the rate must be above 0 and at most %d MB/s (a rate of 0 rejects every push)", MaxIngestionMB), "set it to e.g. 4 (fractions such as 0.5 work)")
	}
	if l.IngestionBurstSizeMB < l.IngestionRateMB || l.IngestionBurstSizeMB > MaxIngestionMB {
		c.fail("loki.limits.ingestionBurstSizeMB", l.IngestionBurstSizeMB, fmt.Sprintf("the burst must be at least the rate (%g MB) and at most %d MB", l.IngestionRateMB, MaxIngestionMB),
			"set it to at least %g", max(l.IngestionRateMB, 0))
	}
	if l.MaxQuerySeries < 1 {
		c.fail("loki.limits.maxQuerySeries", l.MaxQuerySeries, "every query would fail", "set it to at least 1, e.g. 500")
	}
}

func checkCache(c *checker, key string, cache Cache, cl Cluster) {
	if !cache.Enabled {
		return
	}
	if cache.SizeMB < 64 || cache.SizeMB > MaxCacheMB {
		c.fail(key+".sizeMB", cache.SizeMB, fmt.Sprintf("a memcached cache is 64 MB (below that it evicts faster than it serves) to %d MB", MaxCacheMB), "set it to e.g. 1024, or disable the cache")
	}
	checkWorkload(c, key, cache.Workload(), false, false, cl, "")
	image(c, key+".image", cache.Image, defaults.Loki.Caches.ChunksCache.Image)
}

// checkVolume: a declared volume and query rate are numbers the sizing table can size, and
// the mode can carry the volume (Grafana's ranges per mode, ModeRanges).
func checkVolume(c *checker, l Loki) {
	gb, qps := l.IngestGBPerDay, l.QueriesPerSecond
	if math.IsNaN(gb) || gb < 0 || gb > MaxGBPerDay {
		c.fail("loki.ingestGBPerDay", gb, fmt.Sprintf("a volume in GB a day, from 0 (not declared) to %d (ten times the largest any source sizes)", MaxGBPerDay), "set the volume the stack must carry, e.g. 300")
		return
	}
	if math.IsNaN(qps) || qps < 0 || qps > 100000 {
		c.fail("loki.queriesPerSecond", qps, "queries a second, from 0 (not declared) to 100000", "set the rate the stack must answer, e.g. 20")
	}
	if qps > 0 && gb == 0 {
		c.fail("loki.queriesPerSecond", qps, "the queriers are sized from the volume and the query rate together, and no volume is declared", "set obs-stack:loki.ingestGBPerDay too, or remove the query rate")
	}
	limit, ok := ModeRanges[l.Mode]
	switch {
	case !ok || gb == 0:
	case gb > limit*RangeLimit:
		c.fail("loki.ingestGBPerDay", gb, fmt.Sprintf("%s carries about %g GB a day (Grafana's deployment modes), and %g is more than %d times that", l.Mode, limit, gb, RangeLimit),
			"set obs-stack:loki.mode Distributed (with object storage), or declare the volume the stack really carries")
	case gb > limit:
		c.warn("loki.ingestGBPerDay", gb, fmt.Sprintf("%s carries about %g GB a day (Grafana's deployment modes), and this is above it", l.Mode, limit),
			"plan a move to obs-stack:loki.mode Distributed")
	}
	if top := VolumeTable[len(VolumeTable)-1].GBPerDay; gb > top {
		c.warn("loki.ingestGBPerDay", gb, fmt.Sprintf("beyond the largest volume any source sizes (%g GB a day): the replicas are scaled in proportion", top), "check the figures with go run ./cmd/sizing")
	}
}

// QueueTargets are the targets whose queriers pull from the query scheduler's queue.
var QueueTargets = []string{"querier", "read"}

// checkQueueScaling: scaling on the scheduler's queue needs a Loki target that runs the
// queriers, and a Prometheus that scrapes the scheduler and that KEDA can ask.
func (s Spec) checkQueueScaling(c *checker) {
	for _, t := range s.Loki.Targets() {
		key := "loki." + t.Key + ".autoscaling.onQueue"
		if !t.Workload.Autoscaling.OnQueue {
			continue
		}
		switch {
		case !slices.Contains(QueueTargets, t.Key):
			c.fail(key, true, "only the queriers pull from the query scheduler's queue", "scale this target on CPU: set it to false")
		case !s.Monitoring.Enabled:
			c.fail(key, true, "KEDA reads loki_query_scheduler_inflight_requests from Prometheus, which scrapes Loki only with monitoring", "set obs-stack:monitoring.enabled true, or scale on CPU")
		case s.Grafana.PrometheusURL == "":
			c.fail(key, true, "KEDA needs the Prometheus to ask, and grafana.prometheusURL names none", "set obs-stack:grafana.prometheusURL, e.g. http://prometheus-operated.monitoring.svc:9090")
		}
	}
}
