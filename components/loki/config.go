package loki

import (
	"fmt"
	"time"

	"sigs.k8s.io/yaml"

	"obs-stack/components/kube"
	"obs-stack/stacks"
	"obs-stack/stacks/objstore"
)

// Ports every Loki target listens on.
const (
	HTTPPort       = 3100
	GRPCPort       = 9095
	MemberlistPort = 7946
	MemcachedPort  = 11211
	dataDir        = objstore.DataDir
	configDir      = "/etc/loki"
	configFile     = "config.yaml"
)

// The types below mirror the parts of Loki's configuration obs-stack sets. Loki parses its
// YAML strictly, so only keys Loki knows appear here; everything else keeps Loki's default.

// Config is Loki's config file.
type Config struct {
	// AuthEnabled defaults to true in Loki, so it is always written.
	AuthEnabled      bool              `json:"auth_enabled"`
	Server           Server            `json:"server"`
	Common           Common            `json:"common"`
	Memberlist       *Memberlist       `json:"memberlist,omitempty"`
	SchemaConfig     SchemaConfig      `json:"schema_config"`
	StorageConfig    map[string]any    `json:"storage_config,omitempty"`
	LimitsConfig     LimitsConfig      `json:"limits_config"`
	Compactor        Compactor         `json:"compactor"`
	Ruler            *Ruler            `json:"ruler,omitempty"`
	Frontend         *Frontend         `json:"frontend,omitempty"`
	FrontendWorker   *FrontendWorker   `json:"frontend_worker,omitempty"`
	ChunkStoreConfig *ChunkStoreConfig `json:"chunk_store_config,omitempty"`
	QueryRange       *QueryRange       `json:"query_range,omitempty"`
	RuntimeConfig    RuntimeConfigRef  `json:"runtime_config"`
	Analytics        Analytics         `json:"analytics"`
}

type Server struct {
	HTTPListenPort int    `json:"http_listen_port"`
	GRPCListenPort int    `json:"grpc_listen_port"`
	LogLevel       string `json:"log_level"`
}

type Common struct {
	PathPrefix        string `json:"path_prefix"`
	ReplicationFactor int    `json:"replication_factor"`
	Ring              Ring   `json:"ring"`
	// Storage is the store new data goes to: one block, by the store's key (objstore.Store.Common).
	Storage map[string]any `json:"storage"`
	// CompactorGRPCAddress is preferred by Loki 3.7 over the HTTP compactor_address.
	CompactorGRPCAddress string `json:"compactor_grpc_address,omitempty"`
}

// Ring is common.ring (pkg/util/ring/ring_config.go RingConfig), which Loki 3.7 copies onto
// every ring, the ingesters' lifecycler included (pkg/loki/config_wrapper.go
// applyConfigToRings): zone awareness and the instance's zone can only be set here, since an
// -ingester.availability-zone flag is overwritten by it.
type Ring struct {
	KVStore                  KVStore `json:"kvstore"`
	ZoneAwarenessEnabled     bool    `json:"zone_awareness_enabled,omitempty"`
	InstanceAvailabilityZone string  `json:"instance_availability_zone,omitempty"`
}

type KVStore struct {
	Store string `json:"store"`
}

type Memberlist struct {
	JoinMembers []string `json:"join_members"`
}

type SchemaConfig struct {
	Configs []PeriodConfig `json:"configs"`
}

type PeriodConfig struct {
	From        string        `json:"from"`
	Store       string        `json:"store"`
	ObjectStore objstore.Kind `json:"object_store"`
	Schema      string        `json:"schema"`
	Index       Index         `json:"index"`
}

type Index struct {
	Prefix string `json:"prefix"`
	Period string `json:"period"`
}

type TSDBShipper struct {
	IndexGatewayClient IndexGatewayClient `json:"index_gateway_client"`
}

type IndexGatewayClient struct {
	ServerAddress string `json:"server_address"`
}

type LimitsConfig struct {
	RetentionPeriod         string  `json:"retention_period"`
	AllowStructuredMetadata bool    `json:"allow_structured_metadata"`
	IngestionRateMB         float64 `json:"ingestion_rate_mb"`
	IngestionBurstSizeMB    float64 `json:"ingestion_burst_size_mb"`
	MaxQuerySeries          int     `json:"max_query_series"`
}

type Compactor struct {
	WorkingDirectory   string `json:"working_directory"`
	RetentionEnabled   bool   `json:"retention_enabled"`
	DeleteRequestStore string `json:"delete_request_store,omitempty"`
}

// Ruler is Loki's ruler block (pkg/ruler/base/ruler.go Config): sharding over the ruler ring,
// and the legacy ruler.storage of the store the rules are kept in (objstore.Store.Ruler).
type Ruler struct {
	EnableSharding bool           `json:"enable_sharding"`
	Storage        map[string]any `json:"storage,omitempty"`
}

type Frontend struct {
	SchedulerAddress string `json:"scheduler_address"`
	TailProxyURL     string `json:"tail_proxy_url,omitempty"`
}

type FrontendWorker struct {
	SchedulerAddress string `json:"scheduler_address"`
}

type ChunkStoreConfig struct {
	ChunkCacheConfig CacheConfig `json:"chunk_cache_config"`
}

type QueryRange struct {
	CacheResults bool               `json:"cache_results"`
	ResultsCache ResultsCacheConfig `json:"results_cache"`
}

type ResultsCacheConfig struct {
	Cache CacheConfig `json:"cache"`
}

type CacheConfig struct {
	MemcachedClient MemcachedClient `json:"memcached_client"`
}

type MemcachedClient struct {
	Addresses string `json:"addresses"`
	Timeout   string `json:"timeout"`
}

type Analytics struct {
	ReportingEnabled bool `json:"reporting_enabled"`
}

// Cache names, as Services and as spec keys.
const (
	chunksCache  = "chunks-cache"
	resultsCache = "results-cache"
)

// names decides every Kubernetes name the Loki component creates, so that the Services and
// the addresses in the config can never disagree.
type names struct {
	namespace, domain string
}

func (n names) service(component string) string  { return stacks.LokiObjectName(component) }
func (n names) headless(component string) string { return n.service(component) + "-headless" }
func (n names) memberlist() string               { return "loki-memberlist" }
func (n names) fqdn(service string) string       { return kube.ServiceFQDN(service, n.namespace, n.domain) }

// needsHeadless says whether a target gets a headless Service besides its ClusterIP one:
// a StatefulSet's pods get their DNS names through it (its serviceName), and the config
// below resolves the schedulers and the index gateways through theirs, one address per pod.
// Nothing reaches the other stateless targets (distributor, querier, query-frontend, read)
// but through their ClusterIP Service, so they get none (the Loki Helm chart makes one for
// each; the query frontend's is for queriers pulling from it when no scheduler runs, which
// never happens here).
func needsHeadless(topo stacks.Topology, t stacks.TargetKind) bool {
	return t.Stateful || t.Name == topo.Scheduler || t.Name == topo.IndexGateway
}

// httpURL is the base URL of a target's ClusterIP Service.
func (n names) httpURL(component string) string {
	return fmt.Sprintf("http://%s:%d", n.fqdn(n.service(component)), HTTPPort)
}

// usesMemberlist: a lone single binary keeps its ring in memory; everything else gossips.
func usesMemberlist(l stacks.Loki) bool {
	return !(l.Mode == stacks.SingleBinary && l.SingleBinary.Replicas == 1)
}

// ConfigInput is what Loki's config is built from: the loki section, what validation parsed of
// it, and the namespace and domain that name the Services it points at.
type ConfigInput struct {
	Loki              stacks.Loki
	Retention         time.Duration
	Tenants           []stacks.ValidTenant
	Storage           objstore.InUse
	Namespace, Domain string
	// Zones are the cluster's zones; with names the data target replicates zone-aware.
	Zones stacks.Zones
}

// BuildConfig turns the loki section into Loki's config for its mode.
func BuildConfig(in ConfigInput) Config {
	l, retention := in.Loki, in.Retention
	n := names{namespace: in.Namespace, domain: in.Domain}

	cfg := Config{
		AuthEnabled: l.AuthEnabled,
		Server:      Server{HTTPListenPort: HTTPPort, GRPCListenPort: GRPCPort, LogLevel: "info"},
		Common: Common{
			PathPrefix:        dataDir,
			ReplicationFactor: l.ReplicationFactor,
			Ring:              Ring{KVStore: KVStore{Store: "inmemory"}},
		},
		LimitsConfig: LimitsConfig{
			RetentionPeriod:         l.Limits.RetentionPeriod,
			AllowStructuredMetadata: l.Limits.AllowStructuredMetadata,
			IngestionRateMB:         l.Limits.IngestionRateMB,
			IngestionBurstSizeMB:    l.Limits.IngestionBurstSizeMB,
			MaxQuerySeries:          l.Limits.MaxQuerySeries,
		},
		// Retention does nothing unless the compactor applies it with a delete request store.
		Compactor:     Compactor{WorkingDirectory: dataDir + "/compactor", RetentionEnabled: retention > 0 || tenantRetention(in.Tenants)},
		RuntimeConfig: RuntimeConfigRef{File: runtimeDir + "/" + runtimeFile, Period: runtimePeriod},
	}
	if cfg.Compactor.RetentionEnabled {
		cfg.Compactor.DeleteRequestStore = string(in.Storage.Primary)
	}
	for _, p := range l.Schemas {
		cfg.SchemaConfig.Configs = append(cfg.SchemaConfig.Configs, PeriodConfig{
			From: p.From, Store: p.Store, ObjectStore: p.ObjectStore, Schema: p.Schema,
			Index: Index{Prefix: p.IndexPrefix, Period: p.IndexPeriod},
		})
	}

	// common.storage holds loki.storage.type, the store new data goes to; Loki 3.7 refuses a
	// second store there (ErrTooManyStorageConfigs in pkg/loki/config_wrapper.go), so the store
	// of an older period goes to storage_config, which the config file sets after common.
	// Rules follow loki.storage.type. They stay under the legacy ruler.storage: Loki 3.7 reads
	// ruler_storage only with storage_config.use_thanos_objstore, which swaps every object
	// client (pkg/loki/modules.go initRulerStorage); README "Object storage" says why obs-stack
	// keeps the legacy clients on Loki 3. On filesystem common.storage already gives the ruler
	// its local (read-only) rules directory.
	// Every ruler shards its rule groups over the ruler ring (which takes common.ring's
	// kvstore, pkg/loki/config_wrapper.go applyConfigToRings): Loki 3.7's default,
	// ruler.enable-sharding false, has each ruler replica evaluate every group, so two rulers
	// send every alert twice and write every recording rule's samples twice. With one ruler
	// the ring has one member and the /ruler/ring page and its metrics are real.
	cfg.Ruler = &Ruler{EnableSharding: true}
	cfg.Common.Storage = map[string]any{}
	for _, store := range in.Storage.All {
		if store.Kind() != in.Storage.Primary {
			key, block := store.Secondary()
			cfg.storageConfig()[key] = block
			continue
		}
		key, block := store.Common()
		cfg.Common.Storage[key] = block
		if ruler, ok := store.Ruler(); ok {
			cfg.Ruler.Storage = ruler
		}
	}

	if len(in.Zones.Names) > 0 {
		// Each stream's copies go to different zones (dskit ring: one instance per zone, up to
		// the replication factor), and reads tolerate a whole zone failing. The pods of a
		// per-zone StatefulSet set ZoneEnv; the other targets' rings are not replicated and
		// keep one zone, "".
		cfg.Common.Ring.ZoneAwarenessEnabled = true
		cfg.Common.Ring.InstanceAvailabilityZone = "${" + ZoneEnv + "}"
	}
	if usesMemberlist(l) {
		cfg.Common.Ring.KVStore.Store = "memberlist"
		cfg.Memberlist = &Memberlist{JoinMembers: []string{fmt.Sprintf("dns+%s:%d", n.fqdn(n.memberlist()), MemberlistPort)}}
	}

	// Where the scalable modes find their helpers: scheduler, index gateway and compactor.
	if topo := l.Topology(); topo.Scheduler != "" {
		grpc := func(component string) string { return fmt.Sprintf("%s:%d", n.fqdn(n.headless(component)), GRPCPort) }
		cfg.Frontend = &Frontend{SchedulerAddress: grpc(topo.Scheduler)}
		if topo.TailProxy != "" {
			cfg.Frontend.TailProxyURL = n.httpURL(topo.TailProxy)
		}
		cfg.FrontendWorker = &FrontendWorker{SchedulerAddress: grpc(topo.Scheduler)}
		// The schedulers are found by resolving a plain host:port to every pod (dskit's DNS
		// watcher, no prefix); the index gateway client needs dns+ for one client per pod, where
		// dns:/// would be a single gRPC target that sends every query to one pod.
		cfg.storageConfig()["tsdb_shipper"] = &TSDBShipper{IndexGatewayClient: IndexGatewayClient{ServerAddress: "dns+" + grpc(topo.IndexGateway)}}
		// Loki prefers the compactor's gRPC address; the Helm chart, too, points it at the
		// compactor's (SimpleScalable: backend's) ClusterIP Service on the gRPC port.
		cfg.Common.CompactorGRPCAddress = fmt.Sprintf("%s:%d", n.fqdn(n.service(topo.Compactor)), GRPCPort)
	}

	memcached := func(name string) CacheConfig {
		return CacheConfig{MemcachedClient: MemcachedClient{
			Addresses: fmt.Sprintf("dnssrvnoa+_memcached-client._tcp.%s", n.fqdn(n.service(name))),
			Timeout:   "500ms",
		}}
	}
	if l.Caches.ChunksCache.Enabled {
		cfg.ChunkStoreConfig = &ChunkStoreConfig{ChunkCacheConfig: memcached(chunksCache)}
	}
	if l.Caches.ResultsCache.Enabled {
		cfg.QueryRange = &QueryRange{CacheResults: true, ResultsCache: ResultsCacheConfig{Cache: memcached(resultsCache)}}
	}
	return cfg
}

// storageConfig returns storage_config, creating it on first use.
func (cfg *Config) storageConfig() map[string]any {
	if cfg.StorageConfig == nil {
		cfg.StorageConfig = map[string]any{}
	}
	return cfg.StorageConfig
}

// Render serialises Loki's config once, as YAML.
func Render(cfg Config) (string, error) { return yamlOf(cfg) }

// yamlOf renders one of Loki's files.
func yamlOf(v any) (string, error) {
	out, err := yaml.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("rendering Loki config: %w", err)
	}
	return string(out), nil
}
