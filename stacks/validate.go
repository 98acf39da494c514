package stacks

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
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
	now      time.Time
}

func (c *checker) fail(key string, value any, reason, fix string, args ...any) {
	c.errs = append(c.errs, &Problem{Key: key, Value: value, Reason: reason, Fix: fmt.Sprintf(fix, args...)})
}

func (c *checker) warn(key string, value any, reason, fix string) {
	c.warnings = append(c.warnings, (&Problem{Key: key, Value: value, Reason: reason, Fix: fix}).Error())
}

// Validate checks the merged spec in one pass and returns every problem at once, plus
// warnings for things that deploy but deserve attention.
func (s Spec) Validate() (warnings []string, err error) { return s.ValidateAt(time.Now()) }

// ValidateAt is Validate on the day of now (schema periods are checked against today, UTC).
func (s Spec) ValidateAt(now time.Time) (warnings []string, err error) {
	c := &checker{now: now.UTC()}
	s.checkCluster(c)
	s.checkLoki(c)
	s.checkGateway(c)
	s.checkGrafana(c)
	s.checkAlloy(c)
	s.checkKafka(c)
	s.checkCapacity(c)
	return c.warnings, errors.Join(c.errs...)
}

// Bounds of the counts in the spec: far below int32, so that no sizing sum can overflow.
const (
	MaxNodes      = 5000 // the largest cluster Kubernetes supports
	MaxCacheMB    = 1 << 20
	MaxPartitions = 100000
)

// clusterNamespaces belong to the cluster itself: the stack never owns them or denies traffic there.
var clusterNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

func (s Spec) checkCluster(c *checker) {
	cl := s.Cluster
	dnsLabel(c, "cluster.namespace", cl.Namespace)
	if slices.Contains(clusterNamespaces, cl.Namespace) && (cl.CreateNamespace || cl.NetworkPolicies) {
		c.fail("cluster.namespace", cl.Namespace, "the namespace belongs to the cluster: the stack would own it (and delete it on destroy) or put a default-deny NetworkPolicy over the cluster's own pods",
			"use a namespace of the stack's own, e.g. observability-%s", "<stack>")
	}
	if cl.Nodes < 1 || cl.Nodes > MaxNodes {
		c.fail("cluster.nodes", cl.Nodes, fmt.Sprintf("a cluster has 1 to %d schedulable nodes", MaxNodes), "set it to the number of nodes the stack may use")
	}
	if cl.MinHeadroomPercent < 0 || cl.MinHeadroomPercent > 99 {
		c.fail("cluster.minHeadroomPercent", cl.MinHeadroomPercent, "a share of the cluster is 0 to 99 percent", "set it to e.g. 20 (0 turns the warning off)")
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
	tenantID      = regexp.MustCompile(`^[a-zA-Z0-9!._*'()-]{1,150}$`)
	schemaNames   = map[string]int{"v9": 9, "v10": 10, "v11": 11, "v12": 12, "v13": 13}
	bucketName    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	grafanaUID    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)
	kafkaID       = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
	kafkaTopicRe  = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
	supportedObjs = []string{StorageFilesystem, StorageS3}
)

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
	image(c, "loki.image", l.Image, "grafana/loki:3.7.6")

	switch {
	case !l.AuthEnabled && l.Tenant != "fake":
		c.fail("loki.tenant", l.Tenant, "with loki.authEnabled false Loki ignores X-Scope-OrgID and stores everything in tenant \"fake\"",
			"set obs-stack:loki.tenant to fake, or obs-stack:loki.authEnabled to true")
	case l.AuthEnabled && (!tenantID.MatchString(l.Tenant) || l.Tenant == "." || l.Tenant == ".."):
		c.fail("loki.tenant", l.Tenant, "with auth on every request needs a tenant id of 1-150 letters, digits or !-_.*'() other than \".\" and \"..\" (Loki refuses those)",
			"set obs-stack:loki.tenant, e.g. to default")
	}

	targets := l.Targets()
	for _, t := range targets {
		key := "loki." + t.Key
		checkWorkload(c, key, t.Workload, t.Stateful, s.Cluster.Nodes, minLokiMemory)
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
		if t.Key == "compactor" && t.Workload.Replicas > 1 && t.Workload.Replicas <= MaxReplicas {
			c.fail(key+".replicas", t.Workload.Replicas, "only one compactor may run; more corrupt retention and the index", "set it to 1")
		}
	}
	if l.ReplicationFactor < 1 || l.ReplicationFactor > MaxReplicas {
		c.fail("loki.replicationFactor", l.ReplicationFactor, fmt.Sprintf("the replication factor must be between 1 and %d", MaxReplicas), "set it to 1 (one replica) or 3 (HA)")
	}

	s.checkLokiStorage(c)
	checkSchemas(c, l)
	checkLimits(c, l.Limits)
	checkCache(c, "loki.caches.chunksCache", l.Caches.ChunksCache, s.Cluster.Nodes)
	checkCache(c, "loki.caches.resultsCache", l.Caches.ResultsCache, s.Cluster.Nodes)
}

// ObjectStores are the object stores Loki must be configured for: loki.storage.type, where
// new data goes, and every store a schema period names (an older period may keep another
// store while a migration runs). Sorted, without repeats.
func (l Loki) ObjectStores() []string {
	stores := []string{l.Storage.Type}
	for _, p := range l.Schemas {
		stores = append(stores, p.ObjectStore)
	}
	slices.Sort(stores)
	return slices.Compact(stores)
}

func (s Spec) checkLokiStorage(c *checker) {
	l := s.Loki
	st := l.Storage
	switch st.Type {
	case StorageFilesystem, StorageS3:
	case "gcs", "azure", "swift":
		c.fail("loki.storage.type", st.Type, "obs-stack supports S3-compatible object storage only so far", "set it to s3 (GCS offers an S3-compatible XML API; MinIO can gateway the rest)")
	default:
		c.fail("loki.storage.type", st.Type, "unknown storage type", "set it to filesystem (SingleBinary, one replica) or s3")
	}
	stores := l.ObjectStores()
	if slices.Contains(stores, StorageFilesystem) {
		// Blame the key that brings the filesystem in: the storage type, or an older period.
		key, value := "loki.storage.type", st.Type
		if st.Type != StorageFilesystem {
			i := slices.IndexFunc(l.Schemas, func(p SchemaPeriod) bool { return p.ObjectStore == StorageFilesystem })
			key, value = fmt.Sprintf("loki.schemas[%d].objectStore", i), StorageFilesystem
		}
		switch {
		case l.Mode == Distributed || l.Mode == SimpleScalable:
			c.fail(key, value, fmt.Sprintf("%s mode spreads data over several pods, which cannot share one filesystem", l.Mode),
				"set obs-stack:loki.storage.type to s3 (with loki.storage.s3.*), or obs-stack:loki.mode to SingleBinary")
		case l.Mode == SingleBinary && l.SingleBinary.Replicas > 1:
			c.fail("loki.singleBinary.replicas", l.SingleBinary.Replicas, "filesystem storage works with exactly one replica (each pod would see only its own PVC)",
				"set obs-stack:loki.singleBinary.replicas to 1, or obs-stack:loki.storage.type to s3 for HA monolithic")
		}
	}
	if slices.Contains(stores, StorageS3) {
		s.checkS3(c)
	}
}

func (s Spec) checkS3(c *checker) {
	s3 := s.Loki.Storage.S3
	if s3.Endpoint == "" && s3.Region == "" {
		c.fail("loki.storage.s3.region", s3.Region, "s3 needs an endpoint or a region", "set obs-stack:loki.storage.s3.endpoint (MinIO etc.) or obs-stack:loki.storage.s3.region (AWS)")
	}
	if endpoint, err := s3.ParseEndpoint(s.Cluster.Domain); err != nil {
		c.fail("loki.storage.s3.endpoint", s3.Endpoint, err.Error(), "write it like http://minio.minio.svc.cluster.local:9000 or https://s3.eu-west-1.amazonaws.com")
	} else if s.Cluster.NetworkPolicies && endpoint.Namespace == s.Cluster.Namespace {
		c.fail("loki.storage.s3.endpoint", s3.Endpoint, fmt.Sprintf("the store runs in the stack's namespace %s, where the default-deny NetworkPolicy blocks the store's own pods", s.Cluster.Namespace),
			"run the store in its own namespace, or set obs-stack:cluster.networkPolicies false")
	}
	for _, b := range []struct{ key, name string }{{"loki.storage.s3.buckets.chunks", s3.Buckets.Chunks}, {"loki.storage.s3.buckets.ruler", s3.Buckets.Ruler}} {
		if !bucketName.MatchString(b.name) {
			c.fail(b.key, b.name, "s3 needs a bucket name of 3-63 lower-case letters, digits, dots or hyphens", "set it to an existing bucket, e.g. loki-chunks")
		}
	}
	if s3.Buckets.Chunks != "" && s3.Buckets.Chunks == s3.Buckets.Ruler {
		c.fail("loki.storage.s3.buckets.ruler", s3.Buckets.Ruler, "rules and chunks in one bucket collide on their prefixes", "use a separate bucket, e.g. loki-ruler")
	}
	dnsSubdomain(c, "loki.storage.s3.credentialsSecret.name", s3.CredentialsSecret.Name)
	secretKey(c, "loki.storage.s3.credentialsSecret.accessKeyIdKey", s3.CredentialsSecret.AccessKeyIDKey, "AWS_ACCESS_KEY_ID")
	secretKey(c, "loki.storage.s3.credentialsSecret.secretAccessKeyKey", s3.CredentialsSecret.SecretAccessKeyKey, "AWS_SECRET_ACCESS_KEY")
}

// S3Endpoint is where Loki's S3 traffic goes.
type S3Endpoint struct {
	// Host is empty for AWS S3 (no endpoint set).
	Host string
	Port int
	// Namespace is set for an in-cluster Service (<service>.<namespace>.svc[.<domain>]).
	Namespace string
}

// ParseEndpoint reads the endpoint the way Loki does: a URL, or a bare host[:port] whose
// scheme follows insecure. No endpoint means AWS S3 over HTTPS.
func (s S3Storage) ParseEndpoint(domain string) (S3Endpoint, error) {
	if s.Endpoint == "" {
		return S3Endpoint{Port: 443}, nil
	}
	raw := s.Endpoint
	if !strings.Contains(raw, "://") {
		scheme := "https"
		if s.Insecure {
			scheme = "http"
		}
		raw = scheme + "://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return S3Endpoint{}, errors.New("not a URL or host[:port]")
	}
	port := map[string]int{"http": 80, "https": 443}[u.Scheme]
	if port == 0 {
		return S3Endpoint{}, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return S3Endpoint{}, fmt.Errorf("port %q is not a port number", p)
		}
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return S3Endpoint{}, errors.New("an endpoint is a scheme, host and port only (no path, query or credentials: buckets and keys have keys of their own)")
	}
	e := S3Endpoint{Host: u.Hostname(), Port: port}
	if labels := strings.Split(e.Host, "."); net.ParseIP(e.Host) == nil && len(labels) >= 3 && labels[2] == "svc" &&
		(len(labels) == 3 || strings.Join(labels[3:], ".") == domain) {
		e.Namespace = labels[1]
	}
	return e, nil
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
			c.fail(key+".from", p.From, "not a date", "write it as YYYY-MM-DD, e.g. 2024-04-01")
		case i == 0 && from.After(c.now):
			c.fail(key+".from", p.From, "no schema period covers today, so Loki refuses every push until then",
				"let the first period start in the past, e.g. 2024-04-01")
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
		if !slices.Contains(supportedObjs, p.ObjectStore) {
			c.fail(key+".objectStore", p.ObjectStore, "unknown object store", "set it to filesystem or s3 (the store this period's data is in)")
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
		case period != day && (p.Store == "tsdb" || p.Store == "boltdb-shipper"):
			c.fail(key+".indexPeriod", p.IndexPeriod, fmt.Sprintf("the %s index requires a 24h period (Loki refuses to start otherwise)", p.Store), "set it to 24h")
		}
	}
	// Loki checks the newest period: older ones may keep an old schema (or store) during a migration.
	last, key := l.Schemas[len(l.Schemas)-1], fmt.Sprintf("loki.schemas[%d]", len(l.Schemas)-1)
	if last.ObjectStore != l.Storage.Type && slices.Contains(supportedObjs, last.ObjectStore) && slices.Contains(supportedObjs, l.Storage.Type) {
		c.fail(key+".objectStore", last.ObjectStore, fmt.Sprintf("the newest period is where new data goes, and loki.storage.type says that is %q", l.Storage.Type),
			"set it to %s; to move to another store, append a period on it with a future from date and set obs-stack:loki.storage.type to that store (older periods keep theirs)", l.Storage.Type)
	}
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

// MaxIngestionMB bounds the per-tenant rate and burst (MB/s): far above any real tenant.
const MaxIngestionMB = 100000

func checkLimits(c *checker, l LokiLimits) {
	switch d, err := model.ParseDuration(l.RetentionPeriod); {
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

// CacheMemoryMi is the pod memory (request = limit) of a memcached cache: 1.2 x its size.
func CacheMemoryMi(sizeMB int) int { return (sizeMB*6 + 4) / 5 }

func checkCache(c *checker, key string, cache Cache, nodes int) {
	if !cache.Enabled {
		return
	}
	if cache.SizeMB < 64 || cache.SizeMB > MaxCacheMB {
		c.fail(key+".sizeMB", cache.SizeMB, fmt.Sprintf("a memcached cache is 64 MB (below that it evicts faster than it serves) to %d MB", MaxCacheMB), "set it to e.g. 1024, or disable the cache")
	}
	checkWorkload(c, key, cache.Workload(), false, nodes, "")
	image(c, key+".image", cache.Image, "memcached:1.6.39-alpine")
}

// Memory limits below which a component cannot start (it is OOM-killed while loading).
const (
	minLokiMemory    = "128Mi"
	minGatewayMemory = "16Mi"
	minAlloyMemory   = "64Mi"
	minKafkaMemory   = "512Mi" // the heap is half the limit, and Kafka needs 256m of heap
)

func (s Spec) checkGateway(c *checker) {
	image(c, "gateway.image", s.Gateway.Image, "nginxinc/nginx-unprivileged:1.29-alpine")
	if s.Gateway.RequireAuth && !s.Loki.AuthEnabled {
		c.fail("loki.authEnabled", s.Loki.AuthEnabled, "this stack requires auth on the gateway: without it anyone who reaches the gateway reads and writes every log",
			"set obs-stack:loki.authEnabled true; to run without auth on purpose, also set obs-stack:gateway.requireAuth false")
	}
	checkWorkload(c, "gateway", s.Gateway.Workload, false, s.Cluster.Nodes, minGatewayMemory)
}

// PrometheusDatasource is the name and uid of the Prometheus datasource grafana.prometheusURL adds.
const PrometheusDatasource = "Prometheus"

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
	if !grafanaUID.MatchString(g.DatasourceUID) {
		c.fail("grafana.datasourceUid", g.DatasourceUID, "Grafana uids are 1-40 letters, digits, - or _", "set it to e.g. loki")
	}
	if g.MaxLines < 1 {
		c.fail("grafana.maxLines", g.MaxLines, "Grafana would show no log lines", "set it to at least 1, e.g. 1000")
	}
	if g.TimeoutSeconds < 1 {
		c.fail("grafana.timeoutSeconds", g.TimeoutSeconds, "queries would time out at once", "set it to a number of seconds, e.g. 60")
	}
	if g.PrometheusURL == "" {
		return
	}
	u, err := url.Parse(g.PrometheusURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		c.fail("grafana.prometheusURL", g.PrometheusURL, "not an http(s) URL", "write it like http://prometheus-operated.monitoring.svc:9090, or leave it empty")
	case u.Port() == "3100" || strings.HasPrefix(u.Hostname(), "loki"):
		c.fail("grafana.prometheusURL", g.PrometheusURL, "this points at Loki, which is not a Prometheus (the stack's Loki datasource already points at the gateway)",
			"point it at your Prometheus, e.g. http://prometheus-operated.monitoring.svc:9090, or leave it empty")
	case u.Port() == "12345" || strings.HasPrefix(u.Hostname(), "alloy"):
		c.fail("grafana.prometheusURL", g.PrometheusURL, "this points at Alloy, whose :12345 serves a UI and /metrics, not the Prometheus query API: Alloy is scraped, never a datasource",
			"point it at the Prometheus that scrapes Alloy, or leave it empty")
	}
	if strings.EqualFold(g.DatasourceName, PrometheusDatasource) {
		c.fail("grafana.datasourceName", g.DatasourceName, "the Prometheus datasource (grafana.prometheusURL) has this name, and Grafana refuses two datasources of one name", "name the Loki datasource e.g. Loki")
	}
	if strings.EqualFold(g.DatasourceUID, PrometheusDatasource) {
		c.fail("grafana.datasourceUid", g.DatasourceUID, "the Prometheus datasource (grafana.prometheusURL) has this uid", "set it to e.g. loki")
	}
}

func (s Spec) checkAlloy(c *checker) {
	a := s.Alloy
	image(c, "alloy.image", a.Image, "grafana/alloy:v1.18.1")
	if a.PodLogSource != "api" && a.PodLogSource != "file" {
		c.fail("alloy.podLogSource", a.PodLogSource, "unknown pod log source", "set it to api (loki.source.kubernetes, no host mounts) or file (/var/log/pods)")
	}
	if a.ConsumeKafka && !s.Kafka.Enabled {
		c.fail("alloy.consumeKafka", a.ConsumeKafka, "Alloy would consume topics of a Kafka the stack does not create", "set obs-stack:kafka.enabled to true, or obs-stack:alloy.consumeKafka to false")
	}
	if a.ConsumeKafka && s.Kafka.Enabled && len(s.Kafka.Topics) == 0 {
		c.fail("kafka.topics", s.Kafka.Topics, "Alloy consumes kafka.topics, and loki.source.kafka needs at least one topic",
			"add one (pulumi config set --path 'obs-stack:kafka.topics[0].name' logs), or set obs-stack:alloy.consumeKafka false")
	}
	// Alloy is a DaemonSet: one pod per node, placed by the node list, never stored.
	for key, set := range map[string]bool{"alloy.replicas": a.Replicas != 0, "alloy.antiAffinity": a.AntiAffinity != "", "alloy.storage": a.Storage != ""} {
		if set {
			c.fail(key, map[string]any{"alloy.replicas": a.Replicas, "alloy.antiAffinity": a.AntiAffinity, "alloy.storage": a.Storage}[key],
				"Alloy runs as a DaemonSet, one pod on every node, with no volume of its own, so this setting would do nothing", "remove the key (pulumi config rm --path 'obs-stack:%s')", key)
		}
	}
	checkResources(c, "alloy", a.Resources, minAlloyMemory)
}

func (s Spec) checkKafka(c *checker) {
	k := s.Kafka
	if !k.Enabled {
		return
	}
	image(c, "kafka.image", k.Image, "apache/kafka:4.1.1")
	if k.ClusterID != "" && !kafkaID.MatchString(k.ClusterID) {
		c.fail("kafka.clusterId", k.ClusterID, "a KRaft cluster id is 16 bytes in URL-safe base64: 22 letters, digits, - or _",
			"leave it empty to generate one, or copy the id from meta.properties of the existing brokers")
	}
	checkWorkload(c, "kafka", k.Workload, true, s.Cluster.Nodes, minKafkaMemory)
	brokers := k.Replicas
	for _, f := range []struct {
		key string
		rf  int
	}{{"kafka.offsetsReplicationFactor", k.OffsetsReplicationFactor}, {"kafka.transactionReplicationFactor", k.TransactionReplicationFactor}} {
		if f.rf < 1 || f.rf > brokers {
			c.fail(f.key, f.rf, fmt.Sprintf("an internal topic's replication factor must be between 1 and the broker count (%d)", brokers), "set it to %d", min(max(brokers, 1), 3))
		}
	}
	seen := map[string]bool{}
	for i, t := range k.Topics {
		key := fmt.Sprintf("kafka.topics[%d]", i)
		if !kafkaTopicRe.MatchString(t.Name) || t.Name == "." || t.Name == ".." {
			c.fail(key+".name", t.Name, "Kafka topic names are 1-249 letters, digits, '.', '_' or '-' (not . or ..)", "rename the topic, e.g. logs")
		}
		if seen[t.Name] {
			c.fail(key+".name", t.Name, "the topic is listed twice", "remove one entry")
		}
		seen[t.Name] = true
		if t.Partitions < 1 || t.Partitions > MaxPartitions {
			c.fail(key+".partitions", t.Partitions, fmt.Sprintf("a topic has 1 to %d partitions", MaxPartitions), "set it to e.g. 6")
		}
		if t.ReplicationFactor < 1 || t.ReplicationFactor > brokers {
			c.fail(key+".replicationFactor", t.ReplicationFactor, fmt.Sprintf("must be between 1 and the broker count (%d)", brokers), "set it to at most %d, or raise obs-stack:kafka.replicas", max(brokers, 1))
		}
	}
}

// checkWorkload checks the sizing of one set of pods; minMemory ("" for none) is the memory
// limit below which the component cannot start.
func checkWorkload(c *checker, key string, w Workload, stateful bool, nodes int, minMemory string) {
	if w.Replicas < 1 || w.Replicas > MaxReplicas {
		c.fail(key+".replicas", w.Replicas, fmt.Sprintf("the stack runs these pods, so it needs 1 to %d replicas", MaxReplicas), "set it to 1 or more")
	}
	checkResources(c, key, w.Resources, minMemory)
	if stateful {
		positiveQuantity(c, key+".storage", w.Storage, "10Gi")
	}
	switch w.AntiAffinity {
	case AntiAffinitySoft, AntiAffinityNone:
	case AntiAffinityHard:
		if nodes >= 1 && w.Replicas > nodes && w.Replicas <= MaxReplicas {
			c.fail(key+".antiAffinity", w.AntiAffinity,
				fmt.Sprintf("hard anti-affinity allows one pod per node, so %d of %d replicas would stay Pending on %d node(s)", w.Replicas-nodes, w.Replicas, nodes),
				"set obs-stack:%s.antiAffinity to soft, lower obs-stack:%s.replicas to %d, or add nodes (obs-stack:cluster.nodes)", key, key, nodes)
		}
	default:
		c.fail(key+".antiAffinity", w.AntiAffinity, "unknown anti-affinity", "set it to hard, soft or none")
	}
}

func checkResources(c *checker, key string, r Resources, minMemory string) {
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
	if minMemory != "" && limMem != nil && limMem.Cmp(resource.MustParse(minMemory)) < 0 {
		c.fail(key+".resources.limits.memory", r.Limits.Memory, fmt.Sprintf("below the %s the component needs to start: it would be OOM-killed at start-up (CrashLoopBackOff)", minMemory),
			"raise it to at least %s", minMemory)
	}
}

// image checks a container image reference the way the container runtime reads it.
func image(c *checker, key, value, example string) {
	if strings.TrimSpace(value) == "" {
		c.fail(key, value, "required", "set it, e.g. to %s", example)
		return
	}
	if _, err := reference.ParseNormalizedNamed(value); err != nil {
		c.fail(key, value, "not an image reference: "+err.Error(), "write it like %s (registry/repository:tag or @sha256:digest)", example)
	}
}

func secretKey(c *checker, key, value, example string) {
	if value == "" {
		c.fail(key, value, "required", "set it to the key in the Secret, e.g. %s", example)
		return
	}
	if errs := validation.IsConfigMapKey(value); len(errs) > 0 {
		c.fail(key, value, "not a Secret key: "+strings.Join(errs, "; "), "use letters, digits, '-', '_' or '.', e.g. %s", example)
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
