package program

import (
	"obs-stack/components/alloy"
	"obs-stack/components/gateway"
	"obs-stack/components/kafka"
	"obs-stack/components/kube"
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
		PodLogs: a.PodLogs, PodLogSource: a.PodLogSource, ServiceMonitor: a.ServiceMonitor,
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
