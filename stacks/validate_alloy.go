package stacks

import "strings"

func (s Spec) checkAlloy(c *checker) {
	a := s.Alloy
	image(c, "alloy.image", a.Image, defaults.Alloy.Image)
	if a.PodLogSource != "api" && a.PodLogSource != "file" {
		c.fail("alloy.podLogSource", a.PodLogSource, "unknown pod log source", "set it to api (loki.source.kubernetes, no host mounts) or file (/var/log/pods)")
	}
	if a.ConsumeKafka && !s.Kafka.Enabled {
		c.fail("alloy.consumeKafka", a.ConsumeKafka, "Alloy would consume topics of a Kafka the stack does not create", "set obs-stack:kafka.enabled to true, or obs-stack:alloy.consumeKafka to false")
	}
	if a.ConsumeKafka && strings.TrimSpace(a.KafkaGroupID) == "" {
		c.fail("alloy.kafkaGroupId", a.KafkaGroupID, "Kafka consumer groups need a non-empty group id (it keeps Alloy's position in each topic)", "set it, e.g. to alloy")
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
	if a.ServiceMonitor {
		c.fail("alloy.serviceMonitor", a.ServiceMonitor, "monitoring.enabled replaced this key: it scrapes Alloy and every other component, with alerts",
			"remove it (pulumi config rm obs-stack:alloy.serviceMonitor) and set obs-stack:monitoring.enabled true")
	}
	checkResources(c, "alloy", a.Resources, minAlloyMemory)
}
