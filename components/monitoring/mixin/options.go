// Package mixin is the stack's monitoring mixin, in the sense of the Prometheus monitoring
// mixins (loki-mixin, kubernetes-mixin): the alerts (every rule unit-tested in the promtool
// format) and the Grafana dashboards, built from plain Options. It has no Pulumi types, so its
// tests (Prometheus's rule engine, the golden dashboards) do not link the SDK; the monitoring
// component ships what it builds.
package mixin

// Options say which parts of the stack exist, and so which scrape targets, alerts and
// dashboard panels apply. The program fills them from the validated spec.
type Options struct {
	// Namespace is the stack's namespace name: every rule and panel selects namespace="<it>".
	Namespace string
	// Mode is the Loki mode (stacks.SingleBinary, SimpleScalable, Distributed).
	Mode string
	// LokiTargets are the Loki targets the mode runs, by component name as in the pods'
	// app.kubernetes.io/component label (e.g. "single-binary", or "distributor", "ingester", ...).
	LokiTargets []string
	// LokiReplicas are the replicas of each of LokiTargets, by the same names: a ring should
	// hold every replica of the targets that take part in it. Nil: ring sizes are not alerted on.
	LokiReplicas map[string]int
	// LokiRings are the rings (the name label of loki_ring_members) each of LokiTargets takes
	// part in, from stacks.Topologies.
	LokiRings map[string][]string
	// Caches: memcached chunks/results caches run (with a memcached exporter sidecar).
	Caches bool
	// Kafka runs (with a Kafka exporter); KafkaConsumerGroup is Alloy's consumer group, empty
	// when Alloy does not consume Kafka.
	Kafka              bool
	KafkaConsumerGroup string
	// Canary: loki-canary runs and is scraped.
	Canary bool
	// RunbookBaseURL prefixes the runbook_url annotation of every alert: <base>#<alert-name-lowercase>.
	RunbookBaseURL string
}
