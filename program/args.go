package program

import (
	"fmt"

	"obs-stack/components/alloy"
	"obs-stack/components/canary"
	"obs-stack/components/gateway"
	"obs-stack/components/gateway/nginx"
	"obs-stack/components/grafana"
	"obs-stack/components/grafana/provisioning"
	"obs-stack/components/kafka"
	"obs-stack/components/kube"
	"obs-stack/components/loki"
	"obs-stack/components/monitoring"
	"obs-stack/components/monitoring/mixin"
	"obs-stack/components/netpol"
	"obs-stack/stacks"
)

// The arguments of each component, built from the spec: a component sees only the values it
// uses, and the outputs of the components it follows.

// alloyArgs: the push URL and credentials from the gateway, the brokers from Kafka (nil
// without Kafka or with alloy.consumeKafka off).
func alloyArgs(spec stacks.Valid, stack kube.Stack, gw *gateway.Gateway, k *kafka.Kafka) *alloy.Args {
	a := spec.Alloy
	args := &alloy.Args{
		Stack: stack, Image: a.Image, Resources: a.Resources,
		PodLogs: a.PodLogs, PodLogSource: a.PodLogSource,
		PushURL: gw.PushURL,
	}
	if gw.AuthEnabled {
		args.Auth = &alloy.Auth{CredentialsSecret: gw.CredentialsSecret, Tenant: spec.Loki.Tenant}
	}
	for _, t := range spec.Tenants {
		args.Tenants = append(args.Tenants, alloy.Tenant{Name: t.Name, Namespaces: t.Namespaces, Topics: t.Topics, CredentialsSecret: gw.Tenants[t.Name].Secret})
	}
	if k != nil && a.ConsumeKafka {
		args.Kafka = &alloy.KafkaSource{Brokers: k.Brokers, Topics: k.Topics, GroupID: a.KafkaGroupID}
	}
	return args
}

// grafanaArgs: the gateway's URL, and its credentials when auth is on.
func grafanaArgs(spec stacks.Valid, stack kube.Stack, gw *gateway.Gateway) *grafana.Args {
	g := spec.Grafana
	args := &grafana.Args{
		Stack: stack, SecretNamespace: g.Namespace, SecretName: spec.DatasourceSecretName(),
		SidecarLabel: g.SidecarLabel, SidecarLabelValue: g.SidecarLabelValue,
		Settings: provisioning.Settings{
			Name: g.DatasourceName, UID: g.DatasourceUID, MaxLines: g.MaxLines, TimeoutSeconds: g.TimeoutSeconds, PrometheusURL: g.PrometheusURL,
		},
		GatewayURL: gw.URL,
	}
	if gw.AuthEnabled {
		args.Auth = &grafana.Auth{Username: nginx.Username, Password: gw.Password, Tenant: spec.Loki.Tenant}
	}
	for _, t := range spec.Tenants {
		cred := gw.Tenants[t.Name]
		args.Tenants = append(args.Tenants, grafana.Auth{Username: cred.Username, Password: cred.Password, Tenant: t.Name})
	}
	if gw.Admin != nil {
		args.All = &grafana.Auth{Username: gw.Admin.Username, Password: gw.Admin.Password, Tenant: gw.Admin.Tenant}
	}
	return args
}

// gatewayArgs: the routes and ring pages from Loki.
func gatewayArgs(spec stacks.Valid, stack kube.Stack, lk *loki.Loki) *gateway.Args {
	return &gateway.Args{
		Stack: stack, Image: spec.Gateway.Image, Workload: spec.Gateway.Workload, Resolver: spec.Cluster.DNSService,
		AuthEnabled: spec.Loki.AuthEnabled, Tenant: spec.Loki.Tenant, Tenants: tenantNames(spec),
		Routes: lk.Routes, RingPages: lk.RingPages,
		Exporter: exporter(spec, spec.Monitoring.NginxExporterImage, stacks.NginxExporterResources),
	}
}

// exporter is a monitoring sidecar, nil with monitoring off.
func exporter(spec stacks.Valid, image string, r stacks.Resources) *kube.Sidecar {
	if !spec.Monitoring.Enabled {
		return nil
	}
	return &kube.Sidecar{Image: image, Resources: r}
}

// canaryArgs: the gateway's URL and credentials, the stack's tenant.
func canaryArgs(spec stacks.Valid, stack kube.Stack, gw *gateway.Gateway) *canary.Args {
	c := spec.Monitoring.Canary
	return &canary.Args{
		Stack: stack, Image: spec.CanaryImage, Resources: c.Resources,
		GatewayURL: gw.URL, Tenant: spec.Loki.Tenant, CredentialsSecret: gw.CredentialsSecret, AuthEnabled: gw.AuthEnabled,
	}
}

// monitoringOptions say which parts run, for the monitors, alerts and dashboards.
func monitoringOptions(spec stacks.Valid) mixin.Options {
	o := mixin.Options{
		Namespace: spec.Cluster.Namespace, Mode: spec.Loki.Mode,
		Caches: spec.Loki.Caches.Enabled(),
		Kafka:  spec.Kafka.Enabled, Canary: spec.Monitoring.Canary.Enabled,
		RunbookBaseURL: spec.Monitoring.RunbookBaseURL,
	}
	if spec.Kafka.Enabled && spec.Alloy.ConsumeKafka {
		o.KafkaConsumerGroup = spec.Alloy.KafkaGroupID
	}
	o.LokiReplicas, o.LokiRings = map[string]int{}, map[string][]string{}
	for _, t := range spec.Loki.Targets() {
		o.LokiTargets = append(o.LokiTargets, t.Name)
		o.LokiReplicas[t.Name] = t.Workload.Replicas
		o.LokiRings[t.Name] = t.Rings
	}
	return o
}

func monitoringArgs(spec stacks.Valid, stack kube.Stack) (*monitoring.Args, error) {
	m := spec.Monitoring
	o := monitoringOptions(spec)
	args := &monitoring.Args{
		Stack: stack, Options: o, Monitors: m.Enabled,
		SelectorLabels:     map[string]string{m.SelectorLabel: m.SelectorLabelValue},
		ScrapeInterval:     m.ScrapeInterval,
		DashboardNamespace: spec.Grafana.Namespace,
		DashboardLabels:    map[string]string{m.DashboardLabel: m.DashboardLabelValue},
	}
	if m.Enabled {
		args.Rules = mixin.Rules(o)
	}
	if m.Dashboards {
		dashboards, err := mixin.Dashboards(o)
		if err != nil {
			return nil, fmt.Errorf("building the dashboards: %w", err)
		}
		args.Dashboards = dashboards
	}
	return args, nil
}

func kafkaArgs(spec stacks.Valid, stack kube.Stack) *kafka.Args {
	k := spec.Kafka
	return &kafka.Args{
		Stack: stack, Image: k.Image, Workload: k.Workload, MemoryLimitBytes: spec.MemoryLimits[stacks.KafkaKey],
		StorageClass: spec.Cluster.StorageClass, ProtectData: spec.Cluster.ProtectData,
		ClusterID: k.ClusterID, OffsetsReplicationFactor: k.OffsetsReplicationFactor, TransactionReplicationFactor: k.TransactionReplicationFactor,
		Topics: k.Topics, Exporter: exporter(spec, spec.Monitoring.KafkaExporterImage, stacks.KafkaExporterResources),
	}
}

// netpolArgs: the components the spec creates decide the flows.
func netpolArgs(spec stacks.Valid, stack kube.Stack) *netpol.Args {
	args := &netpol.Args{
		Stack:            stack,
		Caches:           spec.Loki.Caches.Enabled(),
		GrafanaNamespace: spec.Grafana.Namespace,
		PodLogs:          spec.Alloy.PodLogs,
		Kafka:            spec.Kafka.Enabled,
		KafkaTopics:      spec.Kafka.Enabled && len(spec.Kafka.Topics) > 0,
		ConsumeKafka:     spec.Kafka.Enabled && spec.Alloy.ConsumeKafka,
		Monitoring:       spec.Monitoring.Enabled,
		Canary:           spec.Monitoring.Canary.Enabled,
	}
	for _, store := range spec.Storage.All { // new data's store, and an older period's
		args.ObjectStores = append(args.ObjectStores, store.Egress()...)
	}
	return args
}

func lokiArgs(spec stacks.Valid, stack kube.Stack) *loki.Args {
	return &loki.Args{Stack: stack, Loki: spec.Loki, Retention: spec.Retention, Tenants: spec.Tenants, Storage: spec.Storage, StorageClass: spec.Cluster.StorageClass, ProtectData: spec.Cluster.ProtectData,
		MemcachedExporter: exporter(spec, spec.Monitoring.MemcachedExporterImage, stacks.MemcachedExporterResources), PrometheusURL: spec.Grafana.PrometheusURL}
}

// tenantNames are loki.tenants' names, in order.
func tenantNames(spec stacks.Valid) []string {
	var names []string
	for _, t := range spec.Tenants {
		names = append(names, t.Name)
	}
	return names
}
