package program

import (
	"slices"

	"obs-stack/components/alloy"
	"obs-stack/components/gateway"
	"obs-stack/components/grafana"
	"obs-stack/components/kafka"
	"obs-stack/components/kube"
	"obs-stack/components/loki"
	"obs-stack/components/netpol"
	"obs-stack/stacks"
)

// The arguments of each component, built from the spec: a component sees only the values it
// uses, and the outputs of the components it follows.

// alloyArgs: the push URL and credentials from the gateway, the brokers from Kafka (nil
// without Kafka or with alloy.consumeKafka off).
func alloyArgs(spec stacks.Spec, stack kube.Stack, gw *gateway.Gateway, k *kafka.Kafka) *alloy.Args {
	a := spec.Alloy
	args := &alloy.Args{
		Stack: stack, Image: a.Image, Resources: a.Resources,
		PodLogs: a.PodLogs, PodLogSource: a.PodLogSource,
		PushURL: gw.PushURL,
	}
	if gw.AuthEnabled {
		args.Auth = &alloy.Auth{CredentialsSecret: gw.CredentialsSecret, Tenant: spec.Loki.Tenant}
	}
	if k != nil && a.ConsumeKafka {
		args.Kafka = &alloy.KafkaSource{Brokers: k.BootstrapServers, Topics: k.Topics, GroupID: a.KafkaGroupID}
	}
	return args
}

// grafanaArgs: the gateway's URL, and its credentials when auth is on.
func grafanaArgs(spec stacks.Spec, stack kube.Stack, gw *gateway.Gateway) *grafana.Args {
	g := spec.Grafana
	args := &grafana.Args{
		Stack: stack, SecretNamespace: g.Namespace, SecretName: spec.DatasourceSecretName(),
		SidecarLabel: g.SidecarLabel, SidecarLabelValue: g.SidecarLabelValue,
		Settings: grafana.Settings{
			Name: g.DatasourceName, UID: g.DatasourceUID, MaxLines: g.MaxLines, TimeoutSeconds: g.TimeoutSeconds, PrometheusURL: g.PrometheusURL,
		},
		GatewayURL: gw.URL,
	}
	if gw.AuthEnabled {
		args.Auth = &grafana.Auth{Username: gateway.Username, Password: gw.Password, Tenant: spec.Loki.Tenant}
	}
	return args
}

// gatewayArgs: the routes and ring pages from Loki.
func gatewayArgs(spec stacks.Spec, stack kube.Stack, lk *loki.Loki) *gateway.Args {
	return &gateway.Args{
		Stack: stack, Image: spec.Gateway.Image, Workload: spec.Gateway.Workload, Resolver: spec.Cluster.DNSService,
		AuthEnabled: spec.Loki.AuthEnabled, Tenant: spec.Loki.Tenant,
		Routes: lk.Routes, RingPages: lk.RingPages,
	}
}

func kafkaArgs(spec stacks.Spec, stack kube.Stack) *kafka.Args {
	k := spec.Kafka
	return &kafka.Args{
		Stack: stack, Image: k.Image, Workload: k.Workload,
		StorageClass: spec.Cluster.StorageClass, ProtectData: spec.Cluster.ProtectData,
		ClusterID: k.ClusterID, OffsetsReplicationFactor: k.OffsetsReplicationFactor, TransactionReplicationFactor: k.TransactionReplicationFactor,
		Topics: k.Topics,
	}
}

// netpolArgs: the components the spec creates decide the flows.
func netpolArgs(spec stacks.Spec, stack kube.Stack) *netpol.Args {
	args := &netpol.Args{
		Stack:            stack,
		Caches:           spec.Loki.Caches.ChunksCache.Enabled || spec.Loki.Caches.ResultsCache.Enabled,
		GrafanaNamespace: spec.Grafana.Namespace,
		PodLogs:          spec.Alloy.PodLogs,
		Kafka:            spec.Kafka.Enabled,
		KafkaTopics:      spec.Kafka.Enabled && len(spec.Kafka.Topics) > 0,
		ConsumeKafka:     spec.Kafka.Enabled && spec.Alloy.ConsumeKafka,
	}
	if slices.Contains(spec.Loki.ObjectStores(), stacks.StorageS3) { // new data or an older period
		args.ObjectStore = &spec.Loki.Storage.S3
	}
	return args
}

func lokiArgs(spec stacks.Spec, stack kube.Stack) *loki.Args {
	return &loki.Args{Stack: stack, Loki: spec.Loki, StorageClass: spec.Cluster.StorageClass, ProtectData: spec.Cluster.ProtectData}
}
