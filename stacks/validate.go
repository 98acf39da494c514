package stacks

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Problem is one reason the spec cannot be deployed.
type Problem struct {
	Key    string // config key without the namespace, e.g. loki.ingester.replicas
	Value  any
	Reason string
	Fix    string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%s:%s = %v: %s; fix: %s", Namespace, p.Key, show(p.Value), p.Reason, p.Fix)
}

type checker struct {
	errs     []error
	warnings []string
}

func (c *checker) fail(key string, value any, reason, fix string, args ...any) {
	c.errs = append(c.errs, &Problem{Key: key, Value: value, Reason: reason, Fix: fmt.Sprintf(fix, args...)})
}

func (c *checker) warn(key string, value any, reason, fix string) {
	c.warnings = append(c.warnings, (&Problem{Key: key, Value: value, Reason: reason, Fix: fix}).Error())
}

// Validate checks the merged spec in one pass and returns every problem at once, plus
// warnings for things that deploy but deserve attention.
func (s Spec) Validate() (warnings []string, err error) {
	c := &checker{}
	s.checkCluster(c)
	s.checkLoki(c)
	s.checkGateway(c)
	s.checkGrafana(c)
	s.checkAlloy(c)
	s.checkKafka(c)
	s.checkCapacity(c)
	return c.warnings, errors.Join(c.errs...)
}

func (s Spec) checkCluster(c *checker) {
	cl := s.Cluster
	dnsLabel(c, "cluster.namespace", cl.Namespace)
	if cl.Nodes < 1 {
		c.fail("cluster.nodes", cl.Nodes, "a cluster needs at least one schedulable node", "set it to the number of nodes the stack may use")
	}
	positiveQuantity(c, "cluster.nodeCPU", cl.NodeCPU, "4")
	positiveQuantity(c, "cluster.nodeMemory", cl.NodeMemory, "8Gi")
	if cl.StorageClass != "" {
		dnsSubdomain(c, "cluster.storageClass", cl.StorageClass)
	}
	dnsSubdomain(c, "cluster.dnsService", cl.DNSService)
	dnsSubdomain(c, "cluster.domain", cl.Domain)
}

var (
	tenantID    = regexp.MustCompile(`^[a-zA-Z0-9!._*'()-]{1,150}$`)
	schemaNames = map[string]int{"v9": 9, "v10": 10, "v11": 11, "v12": 12, "v13": 13}
	bucketName  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

func (s Spec) checkLoki(c *checker) {
	l := s.Loki
	switch l.Mode {
	case SingleBinary, Distributed:
	case SimpleScalable:
		c.warn("loki.mode", l.Mode, "SimpleScalable (read/write/backend) is deprecated and Loki 4 refuses to start with these targets",
			"plan a move to Distributed (object storage first) before upgrading to Loki 4")
	default:
		c.fail("loki.mode", l.Mode, "unknown Loki deployment mode", "set it to SingleBinary, SimpleScalable or Distributed")
		return // everything below depends on the mode
	}
	required(c, "loki.image", l.Image, "grafana/loki:3.7.6")

	switch {
	case !l.AuthEnabled && l.Tenant != "fake":
		c.fail("loki.tenant", l.Tenant, "with loki.authEnabled false Loki ignores X-Scope-OrgID and stores everything in tenant \"fake\"",
			"set obs-stack:loki.tenant to fake, or obs-stack:loki.authEnabled to true")
	case l.AuthEnabled && !tenantID.MatchString(l.Tenant):
		c.fail("loki.tenant", l.Tenant, "with auth on every request needs a tenant id of 1-150 letters, digits or !-_.*'()",
			"set obs-stack:loki.tenant, e.g. to default")
	}

	targets := l.Targets()
	for _, t := range targets {
		key := "loki." + t.Key
		checkWorkload(c, key, t.Workload, t.Stateful, s.Cluster.Nodes)
		// Replicas that can run: hard anti-affinity places at most one per node.
		placeable := t.Workload.Replicas
		if t.Workload.AntiAffinity == AntiAffinityHard && s.Cluster.Nodes >= 1 {
			placeable = min(placeable, s.Cluster.Nodes)
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
		if t.Key == "compactor" && t.Workload.Replicas > 1 {
			c.fail(key+".replicas", t.Workload.Replicas, "only one compactor may run; more corrupt retention and the index", "set it to 1")
		}
	}
	if l.ReplicationFactor < 1 {
		c.fail("loki.replicationFactor", l.ReplicationFactor, "the replication factor must be at least 1", "set it to 1 (one replica) or 3 (HA)")
	}

	s.checkLokiStorage(c, targets)
	checkSchemas(c, l)
	checkLimits(c, l.Limits)
	checkCache(c, "loki.caches.chunksCache", l.Caches.ChunksCache, s.Cluster.Nodes)
	checkCache(c, "loki.caches.resultsCache", l.Caches.ResultsCache, s.Cluster.Nodes)
}

func (s Spec) checkLokiStorage(c *checker, targets []Target) {
	st := s.Loki.Storage
	switch st.Type {
	case StorageFilesystem:
		if s.Loki.Mode != SingleBinary {
			c.fail("loki.storage.type", st.Type, fmt.Sprintf("%s mode spreads data over several pods, which cannot share one filesystem", s.Loki.Mode),
				"set obs-stack:loki.storage.type to s3 (with loki.storage.s3.*), or obs-stack:loki.mode to SingleBinary")
		} else if n := targets[0].Workload.Replicas; n > 1 {
			c.fail("loki.singleBinary.replicas", n, "filesystem storage works with exactly one replica (each pod would see only its own PVC)",
				"set obs-stack:loki.singleBinary.replicas to 1, or obs-stack:loki.storage.type to s3 for HA monolithic")
		}
	case StorageS3:
		s3 := st.S3
		if s3.Endpoint == "" && s3.Region == "" {
			c.fail("loki.storage.s3.region", s3.Region, "s3 needs an endpoint or a region", "set obs-stack:loki.storage.s3.endpoint (MinIO etc.) or obs-stack:loki.storage.s3.region (AWS)")
		}
		for _, b := range []struct{ key, name string }{{"loki.storage.s3.buckets.chunks", s3.Buckets.Chunks}, {"loki.storage.s3.buckets.ruler", s3.Buckets.Ruler}} {
			if key, name := b.key, b.name; !bucketName.MatchString(name) {
				c.fail(key, name, "s3 needs a bucket name of 3-63 lower-case letters, digits, dots or hyphens", "set it to an existing bucket, e.g. loki-chunks")
			}
		}
		if s3.Buckets.Chunks != "" && s3.Buckets.Chunks == s3.Buckets.Ruler {
			c.fail("loki.storage.s3.buckets.ruler", s3.Buckets.Ruler, "rules and chunks in one bucket collide on their prefixes", "use a separate bucket, e.g. loki-ruler")
		}
		dnsSubdomain(c, "loki.storage.s3.credentialsSecret.name", s3.CredentialsSecret.Name)
		required(c, "loki.storage.s3.credentialsSecret.accessKeyIdKey", s3.CredentialsSecret.AccessKeyIDKey, "AWS_ACCESS_KEY_ID")
		required(c, "loki.storage.s3.credentialsSecret.secretAccessKeyKey", s3.CredentialsSecret.SecretAccessKeyKey, "AWS_SECRET_ACCESS_KEY")
	case "gcs", "azure", "swift":
		c.fail("loki.storage.type", st.Type, "obs-stack supports S3-compatible object storage only so far", "set it to s3 (GCS offers an S3-compatible XML API; MinIO can gateway the rest)")
	default:
		c.fail("loki.storage.type", st.Type, "unknown storage type", "set it to filesystem (SingleBinary, one replica) or s3")
	}
}

func checkSchemas(c *checker, l Loki) {
	if len(l.Schemas) == 0 {
		c.fail("loki.schemas", l.Schemas, "Loki needs at least one schema period", "add one: {from: 2024-04-01, store: tsdb, objectStore: %s, schema: v13, indexPrefix: index_, indexPeriod: 24h}", l.Storage.Type)
		return
	}
	var prev time.Time
	for i, p := range l.Schemas {
		key := fmt.Sprintf("loki.schemas[%d]", i)
		from, err := time.Parse(time.DateOnly, p.From)
		switch {
		case err != nil:
			c.fail(key+".from", p.From, "not a date", "write it as YYYY-MM-DD")
		case i > 0 && !from.After(prev):
			c.fail(key+".from", p.From, fmt.Sprintf("schema periods must start on strictly increasing dates, and the period before starts on %s", prev.Format(time.DateOnly)),
				"set a later date; to migrate an existing store add a new period with a future date")
		}
		prev = from
		switch p.Store {
		case "tsdb":
		case "boltdb-shipper":
			c.warn(key+".store", p.Store, "boltdb-shipper is deprecated and removed in Loki 4", "keep it only for old periods; add a tsdb v13 period with a future from date")
		default:
			c.fail(key+".store", p.Store, "unknown index store", "set it to tsdb")
		}
		if p.ObjectStore != l.Storage.Type && (l.Storage.Type == StorageFilesystem || l.Storage.Type == StorageS3) {
			c.fail(key+".objectStore", p.ObjectStore, fmt.Sprintf("the period stores into %q but loki.storage.type is %q", p.ObjectStore, l.Storage.Type),
				"set it to %s", l.Storage.Type)
		}
		if _, ok := schemaNames[p.Schema]; !ok {
			c.fail(key+".schema", p.Schema, "unknown schema version (Loki 3 knows v9 to v13)", "set it to v13")
		}
		required(c, key+".indexPrefix", p.IndexPrefix, "index_")
		period, err := model.ParseDuration(p.IndexPeriod)
		day := model.Duration(24 * time.Hour)
		switch {
		case err != nil || period <= 0 || period%day != 0:
			c.fail(key+".indexPeriod", p.IndexPeriod, "the index period must be a positive multiple of 24h", "set it to 24h")
		case p.Store == "tsdb" && period != day:
			c.fail(key+".indexPeriod", p.IndexPeriod, "the tsdb index requires a 24h period", "set it to 24h")
		}
	}
	// Loki checks the newest period: older ones may keep an old schema during a migration.
	last, key := l.Schemas[len(l.Schemas)-1], fmt.Sprintf("loki.schemas[%d]", len(l.Schemas)-1)
	_, knownSchema := schemaNames[last.Schema]
	if l.Limits.AllowStructuredMetadata {
		if knownSchema && last.Schema != "v13" {
			c.fail(key+".schema", last.Schema, "CONFIG ERROR: schema v13 is required to store structured metadata (loki.limits.allowStructuredMetadata is true)",
				"on a new install set obs-stack:%s.schema to v13 (with store tsdb); on an existing store add a v13 tsdb period with a future from date", key)
		}
		if last.Store == "boltdb-shipper" {
			c.fail(key+".store", last.Store, "CONFIG ERROR: the tsdb index type is required to store structured metadata (loki.limits.allowStructuredMetadata is true)",
				"set obs-stack:%s.store to tsdb, or add a tsdb v13 period with a future from date", key)
		}
	}
}

func checkLimits(c *checker, l LokiLimits) {
	if d, err := model.ParseDuration(l.RetentionPeriod); err != nil || d < 0 {
		c.fail("loki.limits.retentionPeriod", l.RetentionPeriod, "not a duration", "write it like 744h, 30d or 0s (keep forever)")
	}
	if l.IngestionRateMB < 1 {
		c.fail("loki.limits.ingestionRateMB", l.IngestionRateMB, "a rate below 1 MB/s rejects almost every push", "set it to at least 1, e.g. 4")
	}
	if l.IngestionBurstSizeMB < l.IngestionRateMB {
		c.fail("loki.limits.ingestionBurstSizeMB", l.IngestionBurstSizeMB, fmt.Sprintf("the burst must be at least the rate (%d MB)", l.IngestionRateMB), "set it to at least %d", l.IngestionRateMB)
	}
	if l.MaxQuerySeries < 1 {
		c.fail("loki.limits.maxQuerySeries", l.MaxQuerySeries, "every query would fail", "set it to at least 1, e.g. 500")
	}
}

// CacheMemoryMi is the pod memory (request = limit) of a memcached cache: 1.2 x its size.
func CacheMemoryMi(sizeMB int) int { return (sizeMB*6 + 4) / 5 }

func checkCache(c *checker, key string, cache Cache, nodes int) {
	if !cache.Enabled {
		return
	}
	if cache.SizeMB < 64 {
		c.fail(key+".sizeMB", cache.SizeMB, "a memcached cache below 64 MB evicts faster than it serves", "set it to at least 64, or disable the cache")
	}
	checkWorkload(c, key, cache.Workload(), false, nodes)
	required(c, key+".image", cache.Image, "memcached:1.6.39-alpine")
}

func (s Spec) checkGateway(c *checker) {
	required(c, "gateway.image", s.Gateway.Image, "nginxinc/nginx-unprivileged:1.29-alpine")
	if s.Gateway.RequireAuth && !s.Loki.AuthEnabled {
		c.fail("loki.authEnabled", s.Loki.AuthEnabled, "this stack requires auth on the gateway: without it anyone who reaches the gateway reads and writes every log",
			"set obs-stack:loki.authEnabled true; to run without auth on purpose, also set obs-stack:gateway.requireAuth false")
	}
	checkWorkload(c, "gateway", s.Gateway.Workload, false, s.Cluster.Nodes)
}

func (s Spec) checkGrafana(c *checker) {
	g := s.Grafana
	if g.Namespace != "" {
		dnsLabel(c, "grafana.namespace", g.Namespace)
	}
	if errs := validation.IsQualifiedName(g.SidecarLabel); len(errs) > 0 {
		c.fail("grafana.sidecarLabel", g.SidecarLabel, "not a label key: "+strings.Join(errs, "; "), "set it to the label Grafana's sidecar watches, e.g. grafana_datasource")
	}
	if errs := validation.IsValidLabelValue(g.SidecarLabelValue); len(errs) > 0 {
		c.fail("grafana.sidecarLabelValue", g.SidecarLabelValue, "not a label value: "+strings.Join(errs, "; "), "set it to e.g. \"1\"")
	}
	required(c, "grafana.datasourceName", g.DatasourceName, "Loki")
	if !regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`).MatchString(g.DatasourceUID) {
		c.fail("grafana.datasourceUid", g.DatasourceUID, "Grafana uids are 1-40 letters, digits, - or _", "set it to e.g. loki")
	}
	if g.MaxLines < 1 {
		c.fail("grafana.maxLines", g.MaxLines, "Grafana would show no log lines", "set it to at least 1, e.g. 1000")
	}
	if g.TimeoutSeconds < 1 {
		c.fail("grafana.timeoutSeconds", g.TimeoutSeconds, "queries would time out at once", "set it to a number of seconds, e.g. 60")
	}
}

func (s Spec) checkAlloy(c *checker) {
	a := s.Alloy
	required(c, "alloy.image", a.Image, "grafana/alloy:v1.18.1")
	if a.PodLogSource != "api" && a.PodLogSource != "file" {
		c.fail("alloy.podLogSource", a.PodLogSource, "unknown pod log source", "set it to api (loki.source.kubernetes, no host mounts) or file (/var/log/pods)")
	}
	if a.ConsumeKafka && !s.Kafka.Enabled {
		c.fail("alloy.consumeKafka", a.ConsumeKafka, "Alloy would consume topics of a Kafka the stack does not create", "set obs-stack:kafka.enabled to true, or obs-stack:alloy.consumeKafka to false")
	}
	checkWorkload(c, "alloy", a.Workload, false, s.Cluster.Nodes)
}

func (s Spec) checkKafka(c *checker) {
	k := s.Kafka
	if !k.Enabled {
		return
	}
	required(c, "kafka.image", k.Image, "apache/kafka:4.1.1")
	if k.ClusterID != "" && !regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`).MatchString(k.ClusterID) {
		c.fail("kafka.clusterId", k.ClusterID, "a KRaft cluster id is 16 bytes in URL-safe base64: 22 letters, digits, - or _",
			"leave it empty to generate one, or copy the id from meta.properties of the existing brokers")
	}
	checkWorkload(c, "kafka", k.Workload, true, s.Cluster.Nodes)
	brokers := k.Replicas
	for _, f := range []struct {
		key string
		rf  int
	}{{"kafka.offsetsReplicationFactor", k.OffsetsReplicationFactor}, {"kafka.transactionReplicationFactor", k.TransactionReplicationFactor}} {
		if key, rf := f.key, f.rf; rf < 1 || rf > brokers {
			c.fail(key, rf, fmt.Sprintf("an internal topic's replication factor must be between 1 and the broker count (%d)", brokers), "set it to %d", min(max(brokers, 1), 3))
		}
	}
	seen := map[string]bool{}
	for i, t := range k.Topics {
		key := fmt.Sprintf("kafka.topics[%d]", i)
		if !regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`).MatchString(t.Name) || t.Name == "." || t.Name == ".." {
			c.fail(key+".name", t.Name, "Kafka topic names are 1-249 letters, digits, '.', '_' or '-'", "rename the topic, e.g. logs")
		}
		if seen[t.Name] {
			c.fail(key+".name", t.Name, "the topic is listed twice", "remove one entry")
		}
		seen[t.Name] = true
		if t.Partitions < 1 {
			c.fail(key+".partitions", t.Partitions, "a topic needs at least one partition", "set it to at least 1")
		}
		if t.ReplicationFactor < 1 || t.ReplicationFactor > brokers {
			c.fail(key+".replicationFactor", t.ReplicationFactor, fmt.Sprintf("must be between 1 and the broker count (%d)", brokers), "set it to at most %d, or raise obs-stack:kafka.replicas", max(brokers, 1))
		}
	}
}

// checkWorkload checks the sizing of one set of pods.
func checkWorkload(c *checker, key string, w Workload, stateful bool, nodes int) {
	if w.Replicas < 1 {
		c.fail(key+".replicas", w.Replicas, "the mode runs this target, so it needs at least one replica", "set it to 1 or more")
	}
	r := w.Resources
	reqCPU := quantity(c, key+".resources.requests.cpu", r.Requests.CPU, "100m")
	limCPU := quantity(c, key+".resources.limits.cpu", r.Limits.CPU, "1")
	reqMem := quantity(c, key+".resources.requests.memory", r.Requests.Memory, "256Mi")
	limMem := quantity(c, key+".resources.limits.memory", r.Limits.Memory, "512Mi")
	if reqCPU != nil && limCPU != nil && reqCPU.Cmp(*limCPU) > 0 {
		c.fail(key+".resources.requests.cpu", r.Requests.CPU, "the request is above the limit "+r.Limits.CPU, "lower the request or raise obs-stack:%s.resources.limits.cpu", key)
	}
	if reqMem != nil && limMem != nil && reqMem.Cmp(*limMem) > 0 {
		c.fail(key+".resources.requests.memory", r.Requests.Memory, "the request is above the limit "+r.Limits.Memory, "lower the request or raise obs-stack:%s.resources.limits.memory", key)
	}
	if stateful {
		positiveQuantity(c, key+".storage", w.Storage, "10Gi")
	}
	switch w.AntiAffinity {
	case AntiAffinitySoft, AntiAffinityNone:
	case AntiAffinityHard:
		if nodes >= 1 && w.Replicas > nodes {
			c.fail(key+".antiAffinity", w.AntiAffinity,
				fmt.Sprintf("hard anti-affinity allows one pod per node, so %d of %d replicas would stay Pending on %d node(s)", w.Replicas-nodes, w.Replicas, nodes),
				"set obs-stack:%s.antiAffinity to soft, lower obs-stack:%s.replicas to %d, or add nodes (obs-stack:cluster.nodes)", key, key, nodes)
		}
	default:
		c.fail(key+".antiAffinity", w.AntiAffinity, "unknown anti-affinity", "set it to hard, soft or none")
	}
}

// quantity parses a Kubernetes quantity; an empty value is allowed (left unset).
func quantity(c *checker, key, value, example string) *resource.Quantity {
	if value == "" {
		return nil
	}
	q, err := resource.ParseQuantity(value)
	if err != nil {
		c.fail(key, value, "not a Kubernetes quantity", "write it like %s (memory uses Mi/Gi, CPU cores or millicores like 500m)", example)
		return nil
	}
	if q.Sign() < 0 {
		c.fail(key, value, "a quantity cannot be negative", "write it like %s", example)
		return nil
	}
	return &q
}

func positiveQuantity(c *checker, key, value, example string) {
	if value == "" {
		c.fail(key, value, "required", "set it, e.g. to %s", example)
		return
	}
	if q := quantity(c, key, value, example); q != nil && q.Sign() == 0 {
		c.fail(key, value, "must be more than zero", "set it, e.g. to %s", example)
	}
}

func required(c *checker, key, value, example string) {
	if strings.TrimSpace(value) == "" {
		c.fail(key, value, "required", "set it, e.g. to %s", example)
	}
}

func dnsLabel(c *checker, key, value string) {
	if value == "" {
		c.fail(key, value, "required", "set it to a DNS label, e.g. observability")
		return
	}
	if errs := validation.IsDNS1123Label(value); len(errs) > 0 {
		c.fail(key, value, "not a DNS label: "+strings.Join(errs, "; "), "use lower-case letters, digits and '-', at most 63 characters, e.g. observability")
	}
}

func dnsSubdomain(c *checker, key, value string) {
	if value == "" {
		c.fail(key, value, "required", "set it to a DNS name")
		return
	}
	if errs := validation.IsDNS1123Subdomain(value); len(errs) > 0 {
		c.fail(key, value, "not a DNS name: "+strings.Join(errs, "; "), "use lower-case letters, digits, '-' and '.'")
	}
}
