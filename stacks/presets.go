package stacks

import (
	"maps"
	"obs-stack/stacks/objstore"
	"slices"
)

// Presets are the per-environment defaults, by name. A stack uses the preset named like the
// stack unless obs-stack:preset names another one.
var Presets = map[string]func() Spec{
	"dev":  Dev,
	"prod": Prod,
}

// PresetNames lists the presets, sorted.
func PresetNames() []string { return slices.Sorted(maps.Keys(Presets)) }

func res(cpuReq, memReq, cpuLim, memLim string) Resources {
	return Resources{Requests: Quantities{CPU: cpuReq, Memory: memReq}, Limits: Quantities{CPU: cpuLim, Memory: memLim}}
}

// defaults are the values both presets share, for validation's examples (e.g. the image to
// write instead of one that does not parse), so that no default is written twice.
var defaults = base()

// base holds the defaults both presets share; Dev and Prod are small overrides of it.
func base() Spec {
	small := Workload{Replicas: 1, Resources: res("100m", "128Mi", "500m", "512Mi"), Storage: "10Gi", AntiAffinity: AntiAffinitySoft}
	return Spec{
		Cluster: Cluster{
			Namespace:       "observability",
			CreateNamespace: true,
			Nodes:           1,
			NodeCPU:         "4",
			NodeMemory:      "8Gi",
			DNSService:      "kube-dns.kube-system.svc.cluster.local",
			Domain:          "cluster.local",
			NetworkPolicies: true,
			// Below this share of free CPU/memory preview warns.
			MinHeadroomPercent: 20,
			Zones:              Zones{NodeLabel: "topology.kubernetes.io/zone"}, // the well-known label every cloud sets
		},
		Loki: Loki{
			Mode:              SingleBinary,
			Image:             "grafana/loki:3.7.8",
			Tenant:            "fake",
			ReplicationFactor: 1,
			Storage: LokiStorage{
				Type: objstore.Filesystem,
				S3: objstore.S3Settings{
					Region:      "us-east-1",
					Credentials: objstore.CredentialsSecret,
					CredentialsSecret: objstore.S3Secret{
						AccessKeyIDKey:     "AWS_ACCESS_KEY_ID",
						SecretAccessKeyKey: "AWS_SECRET_ACCESS_KEY",
					},
				},
				GCS: objstore.GCSSettings{
					Credentials:       objstore.CredentialsSecret,
					CredentialsSecret: objstore.GCSSecret{Key: "key.json"},
				},
				Azure: objstore.AzureSettings{
					EndpointSuffix:    "blob.core.windows.net",
					Credentials:       objstore.CredentialsSecret,
					CredentialsSecret: objstore.AzureSecret{AccountKeyKey: "AZURE_ACCOUNT_KEY"},
				},
			},
			Schemas: []SchemaPeriod{{
				From: "2024-04-01", Store: "tsdb", ObjectStore: objstore.Filesystem,
				Schema: "v13", IndexPrefix: "index_", IndexPeriod: "24h",
			}},
			Limits: LokiLimits{
				RetentionPeriod:         "168h",
				AllowStructuredMetadata: true,
				IngestionRateMB:         4,
				IngestionBurstSizeMB:    6,
				MaxQuerySeries:          500,
			},
			Caches: LokiCaches{
				ChunksCache:  Cache{SizeMB: 2048, Replicas: 1, CPU: "500m", Image: "memcached:1.6.45-alpine", AntiAffinity: AntiAffinitySoft},
				ResultsCache: Cache{SizeMB: 512, Replicas: 1, CPU: "500m", Image: "memcached:1.6.45-alpine", AntiAffinity: AntiAffinitySoft},
			},
			SingleBinary:   small,
			Read:           small,
			Write:          small,
			Backend:        small,
			Distributor:    small,
			Ingester:       small,
			Querier:        small,
			QueryFrontend:  small,
			QueryScheduler: small,
			IndexGateway:   small,
			Compactor:      small,
			Ruler:          small,
		},
		Gateway: Gateway{
			Image:    "nginxinc/nginx-unprivileged:1.29-alpine",
			Workload: Workload{Replicas: 1, Resources: res("50m", "32Mi", "200m", "128Mi"), AntiAffinity: AntiAffinitySoft},
		},
		Grafana: Grafana{
			SidecarLabel:      "grafana_datasource",
			SidecarLabelValue: "1",
			DatasourceName:    "Loki",
			DatasourceUID:     "loki",
			MaxLines:          1000,
			TimeoutSeconds:    60,
		},
		Alloy: Alloy{
			Image:        "grafana/alloy:v1.18.1",
			PodLogs:      true,
			PodLogSource: "api",
			ConsumeKafka: true,
			KafkaGroupID: "alloy",
			// A DaemonSet: one pod per node, so only its resources are set.
			Workload: Workload{Resources: res("100m", "128Mi", "500m", "256Mi")},
		},
		Kafka: Kafka{
			Enabled:                      true,
			Image:                        "apache/kafka:4.1.2",
			Workload:                     Workload{Replicas: 1, Resources: res("250m", "512Mi", "1", "1Gi"), Storage: "10Gi", AntiAffinity: AntiAffinitySoft},
			OffsetsReplicationFactor:     1,
			TransactionReplicationFactor: 1,
			Topics:                       []KafkaTopic{{Name: "logs", Partitions: 1, ReplicationFactor: 1}},
		},
		Monitoring: Monitoring{
			SelectorLabel:          "release",
			SelectorLabelValue:     "kube-prometheus-stack",
			ScrapeInterval:         "30s",
			RunbookBaseURL:         "docs/runbooks.md",
			DashboardLabel:         "grafana_dashboard",
			DashboardLabelValue:    "1",
			MemcachedExporterImage: "prom/memcached-exporter:v0.16.0",
			NginxExporterImage:     "nginx/nginx-prometheus-exporter:1.5.3",
			KafkaExporterImage:     "danielqsj/kafka-exporter:v1.9.0",
			// No canary image: it follows loki.image (Valid.CanaryImage).
			Canary: Canary{Resources: res("10m", "32Mi", "100m", "128Mi")},
		},
	}
}

// Dev fits a one-node k3d-style cluster: Loki as one binary with 512Mi, data on a PVC,
// replication factor 1, no memcached.
func Dev() Spec {
	s := base()
	// Its own namespace, so a dev stack next to prod in one cluster never adopts prod's objects
	// (server-side apply would take over an object of the same name).
	s.Cluster.Namespace = "observability-dev"
	s.Loki.SingleBinary.Resources = res("200m", "256Mi", "500m", "512Mi")
	autoscalingDefaults(&s)
	return s
}

// Prod runs Loki Distributed on object storage with replication factor 3 over three nodes,
// sized memcached caches, PodDisruptionBudgets and replicas spread across nodes.
func Prod() Spec {
	s := base()
	s.Cluster.Nodes, s.Cluster.NodeCPU, s.Cluster.NodeMemory = 3, "8", "32Gi"
	s.Cluster.ProtectData = true

	l := &s.Loki
	l.Mode = Distributed
	l.AuthEnabled = true
	l.Tenant = "default"
	l.ReplicationFactor = 3
	l.Storage.Type = objstore.S3
	l.Storage.S3.Endpoint = "http://minio.minio.svc.cluster.local:9000"
	l.Storage.S3.ForcePathStyle = true
	l.Storage.S3.Insecure = true
	l.Storage.S3.Buckets = objstore.Buckets{Chunks: "loki-chunks", Ruler: "loki-ruler"}
	l.Storage.S3.CredentialsSecret.Name = "loki-s3-credentials"
	l.Schemas[0].ObjectStore = objstore.S3
	l.Limits.RetentionPeriod = "744h"
	l.Limits.IngestionRateMB, l.Limits.IngestionBurstSizeMB = 16, 32
	l.Caches.ChunksCache.Enabled, l.Caches.ChunksCache.Replicas = true, 2
	l.Caches.ResultsCache.Enabled, l.Caches.ResultsCache.Replicas = true, 2

	stateless := func(replicas int, r Resources) Workload {
		return Workload{Replicas: replicas, Resources: r, AntiAffinity: AntiAffinitySoft}
	}
	stateful := func(replicas int, r Resources, storage, antiAffinity string) Workload {
		return Workload{Replicas: replicas, Resources: r, Storage: storage, AntiAffinity: antiAffinity}
	}
	l.Distributor = stateless(3, res("250m", "256Mi", "1", "1Gi"))
	l.Ingester = stateful(3, res("500m", "1Gi", "2", "4Gi"), "20Gi", AntiAffinityHard)
	l.Querier = stateless(3, res("250m", "512Mi", "1", "2Gi"))
	l.QueryFrontend = stateless(2, res("100m", "256Mi", "500m", "1Gi"))
	l.QueryScheduler = stateless(2, res("100m", "128Mi", "500m", "512Mi"))
	l.IndexGateway = stateful(2, res("250m", "512Mi", "1", "1Gi"), "10Gi", AntiAffinitySoft)
	l.Compactor = stateful(1, res("250m", "512Mi", "1", "2Gi"), "10Gi", AntiAffinitySoft)
	l.Ruler = stateful(2, res("100m", "256Mi", "500m", "1Gi"), "2Gi", AntiAffinitySoft)
	// SimpleScalable stays expressible on prod sizing (read/write/backend of 3 each).
	l.Read = stateless(3, res("250m", "512Mi", "1", "2Gi"))
	l.Write = stateful(3, res("500m", "1Gi", "2", "4Gi"), "20Gi", AntiAffinityHard)
	l.Backend = stateful(3, res("250m", "512Mi", "1", "2Gi"), "10Gi", AntiAffinitySoft)
	l.SingleBinary = stateful(1, res("1", "2Gi", "2", "4Gi"), "50Gi", AntiAffinitySoft)

	s.Gateway.Replicas = 2
	s.Gateway.RequireAuth = true
	s.Kafka.Replicas = 3
	s.Kafka.Resources = res("500m", "2Gi", "2", "4Gi")
	s.Kafka.Storage = "50Gi"
	s.Kafka.AntiAffinity = AntiAffinityHard
	s.Kafka.OffsetsReplicationFactor, s.Kafka.TransactionReplicationFactor = 3, 3
	s.Kafka.Topics = []KafkaTopic{{Name: "logs", Partitions: 6, ReplicationFactor: 3}}
	s.Monitoring.Enabled, s.Monitoring.Dashboards, s.Monitoring.Canary.Enabled = true, true, true
	autoscalingDefaults(&s)
	return s
}

// autoscalingDefaults: the targets that may autoscale keep 60% of their CPU request in use
// when the autoscaler is turned on (autoscaling.maxReplicas), as the Loki Helm chart's
// autoscaling.targetCPUUtilizationPercentage does (values.yaml, 6.55).
func autoscalingDefaults(s *Spec) {
	for _, w := range []*Workload{&s.Loki.Distributor, &s.Loki.Querier, &s.Loki.QueryFrontend, &s.Loki.Read, &s.Gateway.Workload} {
		w.Autoscaling.TargetCPUPercent = 60
	}
}
