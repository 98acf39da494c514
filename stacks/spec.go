// Package stacks holds the typed spec of a whole obs-stack deployment, the per-environment
// presets that give every field its default, and the validation that runs before any
// resource exists (placement and sizing, the data-loss record of deployed facts). The
// loader that merges a stack's config onto a preset is the package stacks/load.
package stacks

import "obs-stack/stacks/objstore"

// Namespace is the project's config namespace; provider namespaces (kubernetes:, random:,
// grafana:, kafka:) are read as provider settings and are never used for the program's keys.
const Namespace = "obs-stack"

// KafkaKey is the config key of the Kafka section, which names its pods in Valid.MemoryLimits.
const KafkaKey = "kafka"

// Loki deployment modes.
const (
	SingleBinary   = "SingleBinary"
	SimpleScalable = "SimpleScalable" // deprecated upstream: Loki 4 refuses read/write/backend targets
	Distributed    = "Distributed"
)

// Spec is one stack: cluster facts plus one section per component. Config keys are the JSON
// names under the project namespace, e.g. obs-stack:loki.ingester.replicas.
type Spec struct {
	Cluster Cluster `json:"cluster"`
	Loki    Loki    `json:"loki"`
	Gateway Gateway `json:"gateway"`
	Grafana Grafana `json:"grafana"`
	Alloy   Alloy   `json:"alloy"`
	Kafka   Kafka   `json:"kafka"`
	// Monitoring is the stack's self-monitoring: scrape targets, alerts, dashboards, a canary.
	Monitoring Monitoring `json:"monitoring"`
	// AllowDataLoss acknowledges a change that would lose stored logs or Kafka data (a mode
	// switch off a filesystem PVC, a changed volume template). Set it for one update, then
	// remove it.
	AllowDataLoss bool `json:"allowDataLoss"`
}

// Cluster describes the Kubernetes cluster the stack targets.
type Cluster struct {
	// Namespace every namespaced object goes to.
	Namespace string `json:"namespace"`
	// CreateNamespace makes the stack own the Namespace object.
	CreateNamespace bool `json:"createNamespace"`
	// KubeContext selects a kubeconfig context; empty means the current one.
	KubeContext string `json:"kubeContext"`
	// Nodes is the number of schedulable nodes.
	Nodes int `json:"nodes"`
	// NodeCPU is the allocatable CPU of one node (a Kubernetes quantity).
	NodeCPU string `json:"nodeCPU"`
	// NodeMemory is the allocatable memory of one node.
	NodeMemory string `json:"nodeMemory"`
	// UseLiveNodes takes nodes, nodeCPU and nodeMemory from the live cluster at preview
	// (`kubectl get nodes` in the provider's context): the schedulable nodes and the smallest
	// allocatable CPU and memory among them.
	UseLiveNodes bool `json:"useLiveNodes"`
	// CheckSecrets reads, at preview, the Secrets the stack names (the object stores'
	// credentials) from the live cluster, in the provider's context: each must exist in the
	// stack's namespace with the keys named. Only key names are read, never values.
	CheckSecrets bool `json:"checkSecrets"`
	// StorageClass for every PVC; empty means the cluster's default class.
	StorageClass string `json:"storageClass"`
	// DNSService is the cluster DNS Service FQDN nginx resolves through (k3d, kind, kubeadm and
	// GKE all name it kube-dns).
	DNSService string `json:"dnsService"`
	// Domain is the cluster DNS domain.
	Domain string `json:"domain"`
	// ProtectData marks the StatefulSets holding logs and Kafka data, and the Kafka cluster id,
	// as protected: Pulumi refuses to delete or replace them (`pulumi destroy` included) until
	// this is set to false and applied.
	ProtectData bool `json:"protectData"`
	// NetworkPolicies denies all traffic in the namespace by default and allows exactly the
	// pipeline's flows.
	NetworkPolicies bool `json:"networkPolicies"`
	// MinHeadroomPercent warns at preview when less of the cluster's CPU or memory stays free
	// after the stack's requests.
	MinHeadroomPercent int `json:"minHeadroomPercent"`
	// Zones are the cluster's failure domains; none: the cluster is one.
	Zones Zones `json:"zones"`
}

// Zones are the availability zones the stack spreads over. With names set, every pod of the
// stack runs only on nodes of those zones (node affinity on the label), every target with more
// than one replica spreads evenly over the zones (topology spread, at most one pod of skew) and
// over nodes, and the ingesters (write in SimpleScalable) run as one StatefulSet per zone with
// Loki's zone-aware replication: each stream keeps one copy per zone, so losing a zone loses
// no acknowledged write and no query. The capacity checks place each zone's share of the pods
// on its own nodes (cluster.nodes are dealt to the zones in turn).
type Zones struct {
	// Names of the zones, as the nodes' label gives them (e.g. eu-west-1a); at least 2.
	Names []string `json:"names"`
	// NodeLabel is the node label that holds a node's zone.
	NodeLabel string `json:"nodeLabel"`
	// StorageClasses are the storage class of each zone's PVCs, by zone name, for classes bound
	// to one zone's disks; a zone not named here uses cluster.storageClass.
	StorageClasses map[string]string `json:"storageClasses"`
}

// Zoned says whether the cluster declares zones.
func (c Cluster) Zoned() bool { return len(c.Zones.Names) > 0 }

// ZoneCount is the number of failure domains: the zones, or 1.
func (c Cluster) ZoneCount() int { return max(1, len(c.Zones.Names)) }

// ZoneShare is zone i's share of n things spread evenly over the zones (at most one more than
// another zone's, the first zones taking the rest): pods under a topology spread of skew 1,
// and cluster.nodes, which are dealt to the zones in turn.
func (c Cluster) ZoneShare(n, i int) int {
	z := c.ZoneCount()
	share := n / z
	if i < n%z {
		share++
	}
	return share
}

// Placeable is how many of replicas can run under hard anti-affinity: one per node, within
// each zone's share.
func (c Cluster) Placeable(replicas int) int {
	placeable := 0
	for i := range c.ZoneCount() {
		placeable += min(c.ZoneShare(replicas, i), c.ZoneShare(c.Nodes, i))
	}
	return placeable
}

// ZoneSet is one StatefulSet of a stateful Loki target.
type ZoneSet struct {
	// Name of the StatefulSet: loki-<target>, or loki-<target>-<zone> for a zone's set.
	Name string
	// Zone the set's pods run in; "" for a target that is not split by zone.
	Zone         string
	Replicas     int
	StorageClass string // "": the cluster's default class
}

// ZoneAware says whether t runs one StatefulSet per zone with Loki's zone-aware replication:
// the target holding the replicated data (ingester, write, single-binary) when zones are set.
func (z Zones) ZoneAware(t Target) bool { return t.HoldsData && len(z.Names) > 0 }

// Sets are the StatefulSets of the stateful target t, whose PVCs default to storageClass: one
// per zone (in the order of names, with replicas / zones each and the zone's storage class)
// when t is zone-aware, else one named like the target.
func (z Zones) Sets(t Target, storageClass string) []ZoneSet {
	name := LokiObjectName(t.Name)
	if !z.ZoneAware(t) {
		return []ZoneSet{{Name: name, Replicas: t.Workload.Replicas, StorageClass: storageClass}}
	}
	var sets []ZoneSet
	for _, zone := range z.Names {
		class, ok := z.StorageClasses[zone]
		if !ok {
			class = storageClass
		}
		sets = append(sets, ZoneSet{Name: name + "-" + zone, Zone: zone, Replicas: t.Workload.Replicas / len(z.Names), StorageClass: class})
	}
	return sets
}

// Resources are the CPU/memory requests and limits of one container.
type Resources struct {
	Requests Quantities `json:"requests"`
	Limits   Quantities `json:"limits"`
}

// Quantities are Kubernetes quantities; an empty string leaves that value unset.
type Quantities struct {
	CPU    string `json:"cpu"`
	Memory string `json:"memory"`
}

// Anti-affinity policies for spreading replicas over nodes.
const (
	AntiAffinityHard = "hard" // required: one replica per node, extra replicas stay Pending
	AntiAffinitySoft = "soft" // preferred: spread when possible
	AntiAffinityNone = "none"
)

// Workload sizes one Loki target (or another component's pods).
type Workload struct {
	// Replicas of the target.
	Replicas int `json:"replicas"`
	// Resources of the main container.
	Resources Resources `json:"resources"`
	// Storage is the PVC size of a stateful target (ignored by stateless ones).
	Storage string `json:"storage"`
	// AntiAffinity is hard, soft or none.
	AntiAffinity string `json:"antiAffinity"`
	// Autoscaling scales a stateless target (distributor, querier, queryFrontend, read,
	// gateway) with a HorizontalPodAutoscaler between replicas and autoscaling.maxReplicas.
	Autoscaling Autoscaling `json:"autoscaling"`
}

// Autoscaling is a HorizontalPodAutoscaler (autoscaling/v2) on CPU: replicas is its floor.
// The program then leaves the Deployment's replica count to the autoscaler (a preview shows
// no change and an up does not scale it back), and the capacity checks place maxReplicas.
type Autoscaling struct {
	// MaxReplicas above replicas turns the autoscaler on; 0 leaves it off.
	MaxReplicas int `json:"maxReplicas"`
	// TargetCPUPercent is the average CPU use, in percent of the CPU request, the autoscaler
	// keeps (1-100).
	TargetCPUPercent int `json:"targetCPUPercent"`
	// OnQueue scales the queriers (loki querier, read) with a KEDA ScaledObject on the query
	// scheduler's queue instead of CPU, as Loki's "Autoscaling queriers" guide does; it needs
	// KEDA's CRDs (checked with cluster.useLiveNodes), monitoring.enabled (Prometheus scrapes
	// the scheduler) and grafana.prometheusURL (where KEDA asks Prometheus).
	OnQueue bool `json:"onQueue"`
}

// On reports whether an autoscaler owns the replica count.
func (a Autoscaling) On() bool { return a.MaxReplicas != 0 }

// Peak is the most replicas the workload runs: maxReplicas under an autoscaler, else replicas.
func (w Workload) Peak() int {
	if w.Autoscaling.On() {
		return w.Autoscaling.MaxReplicas
	}
	return w.Replicas
}

// Loki configures Loki itself.
type Loki struct {
	// Mode is SingleBinary, SimpleScalable (deprecated) or Distributed.
	Mode string `json:"mode"`
	// Image of Loki.
	Image string `json:"image"`
	// AuthEnabled turns on multi-tenancy (X-Scope-OrgID required).
	AuthEnabled bool `json:"authEnabled"`
	// Tenant is the default tenant: Alloy writes the logs no tenant of Tenants claims to it,
	// the canary writes to it, and Grafana's first datasource reads it; must be "fake" while
	// auth is off.
	Tenant string `json:"tenant"`
	// Tenants are the teams that get a Loki tenant of their own: their pods' logs and their
	// Kafka topics' messages land in it, their gateway credentials write and read only it, and
	// their limits and retention apply to it without a restart (Loki's runtime config). Needs
	// authEnabled.
	Tenants []Tenant `json:"tenants"`
	// ReplicationFactor of the ring that holds data.
	ReplicationFactor int `json:"replicationFactor"`
	// Storage is where chunks and the index go.
	Storage LokiStorage `json:"storage"`
	// Schemas are the schema_config periods, oldest first.
	Schemas []SchemaPeriod `json:"schemas"`
	// IngestGBPerDay is the log volume the stack must carry, in GB a day; 0 leaves the
	// preset's figures. Set, it sizes the Distributed targets (SimpleScalable: write and
	// read), the ingestion limits and the Kafka partitions from the sizing table
	// (stacks/volume-table.yaml); a key set explicitly still wins (go run ./cmd/sizing shows
	// each figure and why).
	IngestGBPerDay float64 `json:"ingestGBPerDay"`
	// QueriesPerSecond the stack must answer; with ingestGBPerDay it sizes the queriers.
	QueriesPerSecond float64 `json:"queriesPerSecond"`
	// Limits are the per-tenant limits.
	Limits LokiLimits `json:"limits"`
	// Caches are the memcached caches in front of the object store.
	Caches LokiCaches `json:"caches"`

	// One Workload per Loki target; a mode runs only its own targets.
	SingleBinary   Workload `json:"singleBinary"`
	Read           Workload `json:"read"`
	Write          Workload `json:"write"`
	Backend        Workload `json:"backend"`
	Distributor    Workload `json:"distributor"`
	Ingester       Workload `json:"ingester"`
	Querier        Workload `json:"querier"`
	QueryFrontend  Workload `json:"queryFrontend"`
	QueryScheduler Workload `json:"queryScheduler"`
	IndexGateway   Workload `json:"indexGateway"`
	Compactor      Workload `json:"compactor"`
	Ruler          Workload `json:"ruler"`
}

// LokiStorage selects the object store and holds each store's settings; only the stores in
// use (the type and the schema periods' objectStore) are checked and rendered.
type LokiStorage struct {
	// Type is where new data goes: filesystem (a PVC; SingleBinary with one replica only),
	// s3 (any S3-compatible store, MinIO included), gcs (Google Cloud Storage) or azure (Azure
	// Blob Storage).
	Type objstore.Kind `json:"type"`
	// S3 settings, used when Type or a schema period is s3.
	S3 objstore.S3Settings `json:"s3"`
	// GCS settings, used when Type or a schema period is gcs.
	GCS objstore.GCSSettings `json:"gcs"`
	// Azure settings, used when Type or a schema period is azure.
	Azure objstore.AzureSettings `json:"azure"`
}

// SchemaPeriod is one entry of Loki's schema_config.
type SchemaPeriod struct {
	// From is the first day (YYYY-MM-DD, UTC) of the period. Dates must strictly increase.
	From string `json:"from"`
	// Store is the index type: tsdb (boltdb-shipper is removed in Loki 4).
	Store string `json:"store"`
	// ObjectStore is the store this period's data is in; the newest period's must be loki.storage.type.
	ObjectStore objstore.Kind `json:"objectStore"`
	// Schema version, v9..v13.
	Schema string `json:"schema"`
	// IndexPrefix of index tables.
	IndexPrefix string `json:"indexPrefix"`
	// IndexPeriod of index tables; tsdb needs 24h.
	IndexPeriod string `json:"indexPeriod"`
}

// LokiLimits are Loki's limits_config.
type LokiLimits struct {
	// RetentionPeriod deletes older logs (e.g. 744h, 30d); 0s keeps them forever. Setting it
	// also turns on compactor retention, without which it does nothing.
	RetentionPeriod string `json:"retentionPeriod"`
	// AllowStructuredMetadata needs schema v13 + tsdb for every period.
	AllowStructuredMetadata bool `json:"allowStructuredMetadata"`
	// IngestionRateMB per tenant per distributor, in MB/s; fractions allowed (0.5), as in
	// Loki.
	IngestionRateMB float64 `json:"ingestionRateMB"`
	// IngestionBurstSizeMB per tenant per distributor; fractions allowed.
	IngestionBurstSizeMB float64 `json:"ingestionBurstSizeMB"`
	// MaxQuerySeries per query.
	MaxQuerySeries int `json:"maxQuerySeries"`
}

// Tenant is one team's Loki tenant.
type Tenant struct {
	// Name is the tenant id, by Loki's rules: 1-150 letters, digits or !-_.*'(), not . or ..;
	// also the gateway user and the stem of its Secret and Grafana datasource.
	Name string `json:"name"`
	// Namespaces whose pods' logs belong to the tenant; a namespace belongs to one tenant at most.
	Namespaces []string `json:"namespaces"`
	// Topics of kafka.topics whose messages belong to the tenant; a topic belongs to one tenant at most.
	Topics []string `json:"topics"`
	// Limits override loki.limits for this tenant; an unset (zero) field keeps the global value.
	Limits TenantLimits `json:"limits"`
	// Retention of this tenant's logs; unset keeps loki.limits.retentionPeriod.
	Retention TenantRetention `json:"retention"`
}

// TenantLimits are the per-tenant overrides of Loki's limits_config.
type TenantLimits struct {
	// IngestionRateMB per distributor, in MB/s (fractions allowed).
	IngestionRateMB float64 `json:"ingestionRateMB"`
	// IngestionBurstSizeMB per distributor; at least the tenant's rate.
	IngestionBurstSizeMB float64 `json:"ingestionBurstSizeMB"`
	// MaxGlobalStreamsPerUser across the cluster.
	MaxGlobalStreamsPerUser int `json:"maxGlobalStreamsPerUser"`
	// MaxQuerySeries per query.
	MaxQuerySeries int `json:"maxQuerySeries"`
	// QueryTimeout of one query (a duration, e.g. 2m).
	QueryTimeout string `json:"queryTimeout"`
	// MaxQueryLookback: how far back the tenant may query (a duration, e.g. 720h).
	MaxQueryLookback string `json:"maxQueryLookback"`
}

// TenantRetention is a tenant's retention, as Loki's retention_period and retention_stream.
type TenantRetention struct {
	// Period keeps the tenant's logs this long (at least 24h).
	Period string `json:"period"`
	// Streams keep the streams a selector matches for their own period; the highest priority
	// wins where several match.
	Streams []RetentionStream `json:"streams"`
}

// RetentionStream is one rule of Loki's retention_stream.
type RetentionStream struct {
	// Selector is a LogQL stream selector, e.g. {namespace="team-a", app="audit"}.
	Selector string `json:"selector"`
	// Period keeps the matching streams this long (at least 24h).
	Period string `json:"period"`
	// Priority orders overlapping rules; higher wins.
	Priority int `json:"priority"`
}

// LokiCaches are the memcached caches.
type LokiCaches struct {
	// ChunksCache caches chunks.
	ChunksCache Cache `json:"chunksCache"`
	// ResultsCache caches query results.
	ResultsCache Cache `json:"resultsCache"`
}

// Enabled tells whether any memcached cache runs.
func (c LokiCaches) Enabled() bool { return c.ChunksCache.Enabled || c.ResultsCache.Enabled }

// Cache is one memcached cache. Its pod memory is derived from SizeMB (request = limit =
// 1.2 x SizeMB), so the two can never disagree.
type Cache struct {
	// Enabled creates the cache and points Loki at it.
	Enabled bool `json:"enabled"`
	// SizeMB is memcached's -m.
	SizeMB int `json:"sizeMB"`
	// Replicas of memcached.
	Replicas int `json:"replicas"`
	// CPU request (and limit) of one memcached pod.
	CPU string `json:"cpu"`
	// Image of memcached.
	Image string `json:"image"`
	// AntiAffinity is hard, soft or none.
	AntiAffinity string `json:"antiAffinity"`
}

// Gateway configures the nginx gateway in front of Loki.
type Gateway struct {
	// Image of unprivileged nginx.
	Image string `json:"image"`
	// RequireAuth refuses a stack whose Loki runs without auth (anyone reaching the gateway
	// could read and write every log).
	RequireAuth bool `json:"requireAuth"`
	// Workload sizes the gateway.
	Workload
}

// Grafana configures datasource provisioning for an existing Grafana.
type Grafana struct {
	// Namespace the datasource Secret is created in (where Grafana's sidecar looks); empty
	// means the stack's namespace.
	Namespace string `json:"namespace"`
	// SidecarLabel is the label key the Grafana sidecar watches.
	SidecarLabel string `json:"sidecarLabel"`
	// SidecarLabelValue is its value.
	SidecarLabelValue string `json:"sidecarLabelValue"`
	// DatasourceName shown in Grafana.
	DatasourceName string `json:"datasourceName"`
	// DatasourceUID stable across updates.
	DatasourceUID string `json:"datasourceUid"`
	// MaxLines returned per query.
	MaxLines int `json:"maxLines"`
	// TimeoutSeconds of a query.
	TimeoutSeconds int `json:"timeoutSeconds"`
	// PrometheusURL adds a Prometheus datasource when set.
	PrometheusURL string `json:"prometheusURL"`
}

// Alloy configures Grafana Alloy, the collector.
type Alloy struct {
	// Image of Alloy.
	Image string `json:"image"`
	// PodLogs collects the logs of every pod in the cluster.
	PodLogs bool `json:"podLogs"`
	// PodLogSource is api (tail through the API server, no host mounts) or file (/var/log/pods).
	PodLogSource string `json:"podLogSource"`
	// ConsumeKafka reads kafka.topics with loki.source.kafka.
	ConsumeKafka bool `json:"consumeKafka"`
	// ServiceMonitor was Alloy's own ServiceMonitor switch; monitoring.enabled replaced it, and
	// preview refuses the key with that fix.
	ServiceMonitor bool `json:"serviceMonitor"`
	// KafkaGroupID is the consumer group.
	KafkaGroupID string `json:"kafkaGroupId"`
	// Workload sizes Alloy.
	Workload
}

// Kafka configures the KRaft Kafka cluster.
type Kafka struct {
	// Enabled creates Kafka.
	Enabled bool `json:"enabled"`
	// Image of Kafka.
	Image string `json:"image"`
	// Workload sizes the brokers (combined broker+controller nodes).
	Workload
	// ClusterID adopts brokers already formatted with this KRaft cluster id (22 characters of
	// URL-safe base64). Empty: generated once and kept. Changing it later orphans the brokers'
	// data, so preview refuses that unless allowDataLoss is set.
	ClusterID string `json:"clusterId"`
	// OffsetsReplicationFactor of __consumer_offsets; at most the broker count.
	OffsetsReplicationFactor int `json:"offsetsReplicationFactor"`
	// TransactionReplicationFactor of __transaction_state; at most the broker count.
	TransactionReplicationFactor int `json:"transactionReplicationFactor"`
	// Topics Alloy consumes, created idempotently.
	Topics []KafkaTopic `json:"topics"`
}

// KafkaTopic is one topic to create and consume.
type KafkaTopic struct {
	// Name of the topic.
	Name string `json:"name"`
	// Partitions of the topic.
	Partitions int `json:"partitions"`
	// ReplicationFactor of the topic; at most the broker count.
	ReplicationFactor int `json:"replicationFactor"`
}

// Monitoring is the stack's self-monitoring, in the conventions of the Prometheus Operator
// (kube-prometheus-stack) and Grafana's sidecars.
type Monitoring struct {
	// Enabled creates a PodMonitor (a ServiceMonitor for Alloy) for every component, the
	// exporters they need (memcached and nginx sidecars, a Kafka exporter) and a PrometheusRule
	// with the stack's alerts. The cluster needs the Prometheus Operator's monitoring.coreos.com
	// CRDs; with cluster.useLiveNodes preview checks that they exist.
	Enabled bool `json:"enabled"`
	// SelectorLabel and SelectorLabelValue label every monitor and rule: kube-prometheus-stack's
	// Prometheus selects them by its release label.
	SelectorLabel      string `json:"selectorLabel"`
	SelectorLabelValue string `json:"selectorLabelValue"`
	// ScrapeInterval of every monitor, 1s to 2m (the alerts' rate windows are 5m and need at
	// least two samples).
	ScrapeInterval string `json:"scrapeInterval"`
	// RunbookBaseURL prefixes every alert's runbook_url (<it>#<alert name in lower case>); point
	// it at your copy of docs/runbooks.md.
	RunbookBaseURL string `json:"runbookBaseURL"`
	// Dashboards ships the stack's Grafana dashboards as one ConfigMap in grafana.namespace (the
	// stack's namespace when empty) with the dashboard sidecar label.
	Dashboards bool `json:"dashboards"`
	// DashboardLabel and DashboardLabelValue: the label Grafana's dashboard sidecar watches.
	DashboardLabel      string `json:"dashboardLabel"`
	DashboardLabelValue string `json:"dashboardLabelValue"`
	// MemcachedExporterImage runs beside each memcached.
	MemcachedExporterImage string `json:"memcachedExporterImage"`
	// NginxExporterImage runs beside each gateway pod and reads nginx's stub_status.
	NginxExporterImage string `json:"nginxExporterImage"`
	// KafkaExporterImage is one Deployment that reads the brokers over the Kafka protocol
	// (partitions, replicas, consumer group lag).
	KafkaExporterImage string `json:"kafkaExporterImage"`
	// Canary is loki-canary.
	Canary Canary `json:"canary"`
}

// Canary configures loki-canary: it writes a line a second to its stdout, which Alloy's pod
// logs carry into Loki, reads the lines back through the gateway with the stack's tenant and
// credentials (a websocket tail and queries), and exports what went missing.
type Canary struct {
	// Enabled runs one loki-canary pod. It needs alloy.podLogs (that is its write path).
	Enabled bool `json:"enabled"`
	// Image of loki-canary, which must be Loki's version. Empty: it follows loki.image (the
	// same registry and tag, repository loki-canary beside loki); an explicit image must have
	// loki.image's tag.
	Image string `json:"image"`
	// Resources of the canary container.
	Resources Resources `json:"resources"`
}
