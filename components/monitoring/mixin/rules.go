package mixin

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// Severities of the alerts: critical pages (data is being lost or refused now), warning
// goes to a ticket queue (something will break, or is degraded).
const (
	severityCritical = "critical"
	severityWarning  = "warning"
)

// Loki route labels (dskit's middleware.MakeLabelValue of the mux path templates in Loki
// 3.7's pkg/util/constants/api_paths.go and pkg/loki/modules.go), for the alerts and the
// dashboards alike.
const (
	pushRoutes = `loki_api_v1_push|api_prom_push|otlp_v1_logs`
	// Query routes, without tail: a tail is a WebSocket held open for minutes, its
	// "latency" is its lifetime.
	queryRoutes = `loki_api_v1_query_range|loki_api_v1_query|loki_api_v1_series|loki_api_v1_labels|` +
		`loki_api_v1_label_name_values|loki_api_v1_index_stats|loki_api_v1_index_volume|` +
		`loki_api_v1_index_volume_range|loki_api_v1_detected_labels|loki_api_v1_detected_fields|` +
		`loki_api_v1_patterns|api_prom_query|api_prom_series|api_prom_label|api_prom_label_name_values`
)

// Rules are the stack's alerts, only for the parts o says exist, every selector scoped to
// o.Namespace. Each alert has a runbook section in docs/runbooks.md.
func Rules(o Options) monitoringv1.PrometheusRuleSpec {
	r := ruleBuilder{o: o}
	var groups []monitoringv1.RuleGroup
	add := func(name string, rules ...monitoringv1.Rule) {
		if len(rules) > 0 {
			groups = append(groups, monitoringv1.RuleGroup{Name: name, Rules: rules})
		}
	}

	var loki []monitoringv1.Rule
	if rings := r.rings(); len(rings) > 0 {
		loki = append(loki, r.alert("LokiRingMembersUnhealthy", severityCritical, "5m",
			fmt.Sprintf(`max by (namespace, name) (loki_ring_members%s) > 0`,
				r.sel(`name=~"`+strings.Join(rings, "|")+`"`, `state="Unhealthy"`)),
			"Loki ring has unhealthy members.",
			`{{ $value }} member(s) of the Loki {{ $labels.name }} ring in namespace {{ $labels.namespace }} `+
				`have missed their heartbeats for 5 minutes; requests that need them fail with "too many unhealthy instances in the ring".`))
	}
	if sizes := r.ringSizes(); len(sizes) > 0 {
		// Pending or crash-looping pods never join their ring: the ring is short, not unhealthy.
		var short []string
		for _, ring := range slices.Sorted(maps.Keys(sizes)) {
			short = append(short, fmt.Sprintf(`max by (namespace, name) (loki_ring_members%s) < %d`, r.sel(`name="`+ring+`"`, `state="ACTIVE"`), sizes[ring]))
		}
		loki = append(loki, r.alert("LokiRingMembersMissing", severityWarning, "15m", strings.Join(short, " or "),
			"A Loki ring has fewer active members than the stack runs.",
			`The Loki {{ $labels.name }} ring in namespace {{ $labels.namespace }} has had {{ $value }} ACTIVE member(s) for 15 minutes, `+
				`fewer than the replicas the stack runs: pods that never started (Pending) or keep crashing never join, and a ring short of `+
				`replication-factor members refuses requests with "too many unhealthy instances in the ring".`))
	}
	loki = append(loki,
		r.alert("LokiPushErrors", severityCritical, "10m",
			r.errorRatio("loki_request_duration_seconds_count", `route=~"`+pushRoutes+`"`, `status_code=~"5.."`, "namespace, route", 0.05),
			"Loki refuses pushes with server errors.",
			`{{ $value | humanizePercentage }} of pushes to {{ $labels.route }} in namespace {{ $labels.namespace }} failed with 5xx in the last 5 minutes.`),
		r.alert("LokiQueryErrors", severityWarning, "10m",
			r.errorRatio("loki_request_duration_seconds_count", `route=~"`+queryRoutes+`"`, `status_code=~"5.."`, "namespace, route", 0.05),
			"Loki queries fail with server errors.",
			`{{ $value | humanizePercentage }} of queries to {{ $labels.route }} in namespace {{ $labels.namespace }} failed with 5xx in the last 5 minutes.`),
		// No traffic gives NaN from histogram_quantile, which compares false: an idle route is quiet.
		r.alert("LokiRequestLatencyHigh", severityWarning, "15m",
			fmt.Sprintf(`histogram_quantile(0.99, sum by (namespace, route, le) (rate(loki_request_duration_seconds_bucket%s[5m]))) > 5`,
				r.sel(`route=~"`+pushRoutes+`|`+queryRoutes+`"`)),
			"Loki answers slowly.",
			`The 99th percentile latency of {{ $labels.route }} in namespace {{ $labels.namespace }} is {{ $value | humanizeDuration }} (above 5s).`),
		r.alert("LokiRequestsRefusedByLimits", severityWarning, "15m",
			fmt.Sprintf(`sum by (namespace, tenant, reason) (increase(loki_discarded_samples_total%s[10m])) > 0`, r.sel()),
			"Loki discards log lines because of limits.",
			`Loki in namespace {{ $labels.namespace }} discarded {{ $value | humanize }} lines of tenant {{ $labels.tenant }} in 10 minutes (reason {{ $labels.reason }}).`),
	)
	add("obs-stack.loki", loki...)

	add("obs-stack.pods",
		// kube-state-metrics sets the Pending phase series to 1 while the pod waits for a node.
		r.alert("ObsStackPodPending", severityWarning, "15m",
			fmt.Sprintf(`max by (namespace, pod) (kube_pod_status_phase%s) > 0`, r.sel(`phase="Pending"`)),
			"A pod of the stack has been Pending for 15 minutes.",
			`Pod {{ $labels.namespace }}/{{ $labels.pod }} has been Pending for 15 minutes: no node can take it (resources, anti-affinity or an unbound PVC).`),
		r.alert("ObsStackPodCrashLooping", severityWarning, "15m",
			fmt.Sprintf(`max by (namespace, pod, container) (kube_pod_container_status_waiting_reason%s) > 0`, r.sel(`reason="CrashLoopBackOff"`)),
			"A container of the stack is crash-looping.",
			`Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has been in CrashLoopBackOff for 15 minutes.`),
		// The capacity > 0 filter keeps a volume the kubelet reports no size for out.
		r.alert("ObsStackPVCFillingUp", severityWarning, "10m",
			fmt.Sprintf(`max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_available_bytes%s) / max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes%s > 0) < 0.1`,
				r.sel(), r.sel()),
			"A volume of the stack is almost full.",
			`PVC {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} of its space left.`),
	)

	// The gateway's exporter reads nginx's stub_status, which counts connections and requests
	// but has no status codes: gateway 5xx cannot be told from it (Loki's own 5xx are in
	// LokiPushErrors/LokiQueryErrors). What it can tell honestly is that nginx stopped answering.
	add("obs-stack.gateway",
		r.alert("LokiGatewayDown", severityCritical, "5m",
			fmt.Sprintf(`min by (namespace, pod) (nginx_up%s) == 0`, r.sel()),
			"The Loki gateway's nginx does not answer.",
			`The nginx exporter in pod {{ $labels.namespace }}/{{ $labels.pod }} cannot read nginx's stub_status: the gateway does not serve requests.`),
	)

	add("obs-stack.alloy",
		r.alert("AlloyLokiWriteFailures", severityWarning, "10m",
			r.errorRatio("loki_write_request_duration_seconds_count", "", `status_code!~"2.."`, "namespace, host, tenant", 0.1),
			"Alloy fails to send logs to Loki.",
			`{{ $value | humanizePercentage }} of Alloy's push requests to {{ $labels.host }} for tenant {{ $labels.tenant }} in namespace {{ $labels.namespace }} failed in the last 5 minutes; Alloy retries them.`),
		r.alert("AlloyLokiWriteDroppedEntries", severityCritical, "5m",
			fmt.Sprintf(`sum by (namespace, tenant, reason) (increase(loki_write_dropped_entries_total%s[10m])) > 0`, r.sel()),
			"Alloy drops log entries.",
			`Alloy in namespace {{ $labels.namespace }} dropped {{ $value | humanize }} entries of tenant {{ $labels.tenant }} in 10 minutes (reason {{ $labels.reason }}): they are lost.`),
	)

	if o.Kafka {
		kafka := []monitoringv1.Rule{
			r.alert("KafkaUnderReplicatedPartitions", severityWarning, "10m",
				fmt.Sprintf(`sum by (namespace, topic) (kafka_topic_partition_under_replicated_partition%s) > 0`, r.sel()),
				"Kafka partitions are under-replicated.",
				`{{ $value }} partition(s) of topic {{ $labels.topic }} in namespace {{ $labels.namespace }} have fewer in-sync replicas than replicas.`),
		}
		if o.KafkaConsumerGroup != "" {
			kafka = append(kafka, r.alert("KafkaAlloyConsumerLag", severityWarning, "15m",
				fmt.Sprintf(`sum by (namespace, consumergroup, topic) (kafka_consumergroup_lag_sum%s) > 10000`,
					r.sel(`consumergroup=`+strconv.Quote(o.KafkaConsumerGroup))),
				"Alloy falls behind on Kafka.",
				`Consumer group {{ $labels.consumergroup }} is {{ $value }} messages behind on topic {{ $labels.topic }} in namespace {{ $labels.namespace }}.`))
		}
		add("obs-stack.kafka", kafka...)
	}

	if o.Caches {
		add("obs-stack.caches",
			r.alert("MemcachedEvictions", severityWarning, "30m",
				fmt.Sprintf(`sum by (namespace, pod) (rate(memcached_items_evicted_total%s[10m])) > 10`, r.sel()),
				"A Loki cache evicts items.",
				`Memcached in pod {{ $labels.namespace }}/{{ $labels.pod }} evicts {{ $value | humanize }} valid items per second: the cache is too small for its working set.`),
		)
	}

	if o.Canary {
		add("obs-stack.canary",
			r.alert("LokiCanaryMissingEntries", severityWarning, "15m",
				r.counterRatio("loki_canary_missing_entries_total", "loki_canary_entries_total", "namespace, pod", "15m", 0),
				"Loki loses the canary's log lines.",
				`{{ $value | humanizePercentage }} of the lines loki-canary {{ $labels.namespace }}/{{ $labels.pod }} wrote in the last 15 minutes were not found in Loki.`),
		)
	}

	return monitoringv1.PrometheusRuleSpec{Groups: groups}
}

// RuleGroupsYAML renders spec as a Prometheus rule file (`groups:`): the PrometheusRule spec's
// JSON field names are the rule file's, so the same bytes are what Prometheus evaluates.
func RuleGroupsYAML(spec monitoringv1.PrometheusRuleSpec) ([]byte, error) {
	out, err := yaml.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("rendering the rule groups as YAML: %w", err)
	}
	return out, nil
}

type ruleBuilder struct{ o Options }

// sel is a selector scoped to the stack's namespace, with extra matchers.
func (r ruleBuilder) sel(matchers ...string) string {
	return "{" + strings.Join(append([]string{"namespace=" + strconv.Quote(r.o.Namespace)}, matchers...), ", ") + "}"
}

// rings are the rings the mode's targets take part in, sorted.
func (r ruleBuilder) rings() []string {
	var rings []string
	for _, target := range r.o.LokiTargets {
		for _, ring := range r.o.LokiRings[target] {
			if !slices.Contains(rings, ring) {
				rings = append(rings, ring)
			}
		}
	}
	slices.Sort(rings)
	return rings
}

// ringSizes are the ACTIVE members each ring should have: the replicas of the targets taking
// part in it. Empty without LokiReplicas.
func (r ruleBuilder) ringSizes() map[string]int {
	sizes := map[string]int{}
	for _, target := range r.o.LokiTargets {
		if n := r.o.LokiReplicas[target]; n > 0 {
			for _, ring := range r.o.LokiRings[target] {
				sizes[ring] += n
			}
		}
	}
	return sizes
}

// errorRatio is the share of counter's rate matching errMatcher, per by, above threshold.
// The denominator keeps only series with traffic, so an idle stack gives no result rather
// than 0/0.
func (r ruleBuilder) errorRatio(counter, scope, errMatcher, by string, threshold float64) string {
	var all, errs string
	if scope == "" {
		all, errs = r.sel(), r.sel(errMatcher)
	} else {
		all, errs = r.sel(scope), r.sel(scope, errMatcher)
	}
	return fmt.Sprintf(`sum by (%s) (rate(%s%s[5m])) / (sum by (%s) (rate(%s%s[5m])) > 0) > %s`,
		by, counter, errs, by, counter, all, strconv.FormatFloat(threshold, 'g', -1, 64))
}

// counterRatio is increase(part)/increase(whole) over window, per by, above threshold,
// again with only windows that saw some of whole.
func (r ruleBuilder) counterRatio(part, whole, by, window string, threshold float64) string {
	return fmt.Sprintf(`sum by (%s) (increase(%s%s[%s])) / (sum by (%s) (increase(%s%s[%s])) > 0) > %s`,
		by, part, r.sel(), window, by, whole, r.sel(), window, strconv.FormatFloat(threshold, 'g', -1, 64))
}

// alert is one alerting rule with the annotations every alert carries.
func (r ruleBuilder) alert(name, severity, pending, expr, summary, description string) monitoringv1.Rule {
	d := monitoringv1.Duration(pending)
	return monitoringv1.Rule{
		Alert:  name,
		Expr:   intstr.FromString(expr),
		For:    &d,
		Labels: map[string]string{"severity": severity},
		Annotations: map[string]string{
			"summary":     summary,
			"description": description,
			"runbook_url": r.o.RunbookBaseURL + "#" + strings.ToLower(name),
		},
	}
}
