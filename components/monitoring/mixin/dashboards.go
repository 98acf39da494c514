package mixin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"obs-stack/stacks"
)

const (
	// dashboardTag marks every dashboard of the stack, for Grafana's tag filter and links.
	dashboardTag = "obs-stack"
	// datasourceVar is the template variable every panel and query reads its datasource from.
	datasourceVar = "datasource"
	// maxUIDLength is Grafana's limit on a dashboard uid.
	maxUIDLength = 40
	// lokiContainer is the container name of every Loki pod (components/loki).
	lokiContainer = "loki"
)

// Dashboards renders the stack's Grafana dashboards as JSON, by file name. The set follows
// the options: Kafka's only with Kafka, memcached's only with the caches.
func Dashboards(o Options) (map[string][]byte, error) {
	if o.Namespace == "" {
		return nil, fmt.Errorf("monitoring dashboards: the namespace is empty; every query selects namespace=\"<it>\"")
	}
	d := dashboards{o: o}
	built := map[string]*grafanaDashboard{
		"overview": d.overview(),
		"loki":     d.loki(),
		"gateway":  d.gateway(),
		"alloy":    d.alloy(),
	}
	if o.Kafka {
		built["kafka"] = d.kafka()
	}
	if o.Caches {
		built["memcached"] = d.memcached()
	}
	out := make(map[string][]byte, len(built))
	for name, b := range built {
		text, err := json.MarshalIndent(b, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("monitoring dashboards: encoding %s: %w", name, err)
		}
		out["obs-stack-"+name+".json"] = append(text, '\n')
	}
	return out, nil
}

// dashboardUID is obs-stack-<namespace>-<name>, so two stacks' dashboards never collide.
// A namespace too long for Grafana's 40-character limit is shortened and suffixed with a
// hash of the whole name, which keeps two long namespaces with a common prefix apart.
func dashboardUID(namespace, name string) string {
	uid := "obs-stack-" + namespace + "-" + name
	if len(uid) <= maxUIDLength {
		return uid
	}
	sum := sha256.Sum256([]byte(namespace))
	hash := hex.EncodeToString(sum[:])[:8]
	keep := maxUIDLength - len("obs-stack-") - len("-"+hash) - len("-"+name)
	if keep < 0 {
		keep = 0
	}
	return strings.TrimRight("obs-stack-"+namespace[:keep], "-") + "-" + hash + "-" + name
}

type dashboards struct{ o Options }

// sel is a label selector that always holds the stack's namespace.
func (d dashboards) sel(matchers ...string) string {
	return "{" + strings.Join(append([]string{fmt.Sprintf("namespace=%q", d.o.Namespace)}, matchers...), ", ") + "}"
}

// podsOf selects the pods of one Loki target: loki-<target>-<ordinal or hash>.
func podsOf(target string) string {
	return fmt.Sprintf("pod=~%q", regexp.QuoteMeta(stacks.LokiObjectName(target))+"-.+")
}

func (d dashboards) newDashboard(name, title, description string) *grafanaDashboard {
	return &grafanaDashboard{
		UID: dashboardUID(d.o.Namespace, name), Title: title, Description: description,
		Tags: []string{dashboardTag}, Timezone: "browser", Editable: true, GraphTooltip: 1,
		Time: timeRange{From: "now-3h", To: "now"}, Refresh: "30s", SchemaVersion: 42,
		Panels: []any{},
		Templating: templating{List: []variable{{
			Type: "datasource", Name: datasourceVar, Label: "Prometheus", Query: "prometheus",
			AllowCustomValue: true, AutoMin: "10s", AutoCount: 30,
		}}},
		Links: []dashLink{{
			Title: "obs-stack", Type: "dashboards", Tags: []string{dashboardTag}, AsDropdown: true,
			Placement: "inControlsMenu", IncludeVars: true, KeepTime: true,
		}},
	}
}

func datasourceRef() datasource {
	return datasource{Type: "prometheus", UID: "${" + datasourceVar + "}"}
}

// panelQuery is one PromQL target and its legend.
type panelQuery struct{ expr, legend string }

func pq(expr, legend string) panelQuery { return panelQuery{expr: expr, legend: legend} }

// target is the query as a panel's target; refID names it within its panel (A, B, ...).
func (qu panelQuery) target(refID string) target {
	return target{Datasource: datasourceRef(), Expr: qu.expr, LegendFormat: qu.legend, Range: true, RefID: refID}
}

// newPanel is a panel of kind with its queries; width is out of Grafana's 24 columns.
func newPanel(kind, title, description, unit string, width, height int, options any, queries ...panelQuery) panel {
	p := panel{
		Type: kind, Title: title, Description: description, Datasource: datasourceRef(),
		GridPos: gridPos{W: width, H: height}, RepeatDirection: "h", Options: options,
		FieldConfig: fieldConfig{Defaults: fieldDefaults{Unit: unit}, Overrides: []any{}},
	}
	for i, qu := range queries {
		p.Targets = append(p.Targets, qu.target(string(rune('A'+i))))
	}
	return p
}

// graphPanel is a time series panel.
func graphPanel(title, description, unit string, width int, queries ...panelQuery) panel {
	var o timeseriesOptions
	o.Legend.DisplayMode, o.Legend.Placement, o.Legend.ShowLegend, o.Legend.Calcs = "list", "bottom", true, []string{}
	o.Tooltip.Mode, o.Tooltip.Sort = "multi", "desc"
	p := newPanel("timeseries", title, description, unit, width, 8, o, queries...)
	zero := 0.0
	p.FieldConfig.Defaults.Min = &zero
	p.FieldConfig.Defaults.Custom = &customDefaults{FillOpacity: 10}
	return p
}

// statPanel is a stat panel showing the last value of one query.
func statPanel(title, description, unit string, width int, qu panelQuery, limits *thresholds) panel {
	o := statOptions{GraphMode: "area", ColorMode: "background", JustifyMode: "auto", TextMode: "auto", WideLayout: true,
		PercentChangeColorMode: "standard", Orientation: "auto"}
	o.ReduceOptions.Calcs = []string{"lastNotNull"}
	p := newPanel("stat", title, description, unit, width, 4, o, qu)
	p.FieldConfig.Defaults.Thresholds = limits
	return p
}

// okBelow is green under limit and red from it.
func okBelow(limit float64) *thresholds {
	return &thresholds{Mode: "absolute", Steps: []thresholdStep{{Color: "green"}, {Value: &limit, Color: "red"}}}
}

// okFrom is red under limit and green from it.
func okFrom(limit float64) *thresholds {
	return &thresholds{Mode: "absolute", Steps: []thresholdStep{{Color: "red"}, {Value: &limit, Color: "green"}}}
}

// errorRatio is the share of 5xx answers among the requests of the given routes.
func (d dashboards) errorRatio(routes string, extra ...string) string {
	matchers := append([]string{fmt.Sprintf("route=~%q", routes)}, extra...)
	return fmt.Sprintf("sum(rate(loki_request_duration_seconds_count%s[$__rate_interval]))\n/\nsum(rate(loki_request_duration_seconds_count%s[$__rate_interval]))",
		d.sel(append(matchers, `status_code=~"5.."`)...), d.sel(matchers...))
}

// entryTarget is the Loki target the gateway sends a route group to in the options' mode,
// as a pod matcher; none for a mode the topology table does not know.
func (d dashboards) entryTarget(route string) []string {
	if target, ok := stacks.Topologies[d.o.Mode].Routes[route]; ok {
		return []string{podsOf(target)}
	}
	return nil
}

func (d dashboards) alloyConsumesKafka() bool { return d.o.Kafka && d.o.KafkaConsumerGroup != "" }

func (d dashboards) overview() *grafanaDashboard {
	b := d.newDashboard("overview", "obs-stack / Overview",
		fmt.Sprintf("Loki (%s), its gateway, Alloy and what feeds them in namespace %s.", d.o.Mode, d.o.Namespace)).
		WithRow(newRow("Ingest")).
		WithPanel(graphPanel("Bytes received per tenant", "Uncompressed bytes the distributors accept, per tenant (structured metadata included).", "Bps", 12,
			pq(fmt.Sprintf("sum by (tenant) (rate(loki_distributor_bytes_received_total%s[$__rate_interval]))", d.sel()), "{{tenant}}"))).
		WithPanel(graphPanel("Lines received per tenant", "Log lines the distributors accept, per tenant.", "short", 12,
			pq(fmt.Sprintf("sum by (tenant) (rate(loki_distributor_lines_received_total%s[$__rate_interval]))", d.sel()), "{{tenant}}"))).
		WithRow(newRow("Health")).
		WithPanel(graphPanel("Ring members by state", "Members of each ring by state, as the most complete view among the pods reports it.", "short", 8,
			pq(fmt.Sprintf("max by (name, state) (loki_ring_members%s)", d.sel()), "{{name}} {{state}}"))).
		WithPanel(graphPanel("Push error ratio", "5xx answers among push requests at the target that receives pushes.", "percentunit", 8,
			pq(d.errorRatio(pushRoutes, d.entryTarget(stacks.RoutePush)...), "5xx / all"))).
		WithPanel(graphPanel("Query error ratio", "5xx answers among query requests at the target that receives queries.", "percentunit", 8,
			pq(d.errorRatio(queryRoutes, d.entryTarget(stacks.RouteQuery)...), "5xx / all"))).
		WithRow(newRow("Alloy"))
	alloyWidth := 12
	if d.alloyConsumesKafka() {
		alloyWidth = 8
	}
	b = b.
		WithPanel(graphPanel("Entries sent by Alloy", "Log entries loki.write delivered, per tenant.", "short", alloyWidth,
			pq(fmt.Sprintf("sum by (tenant) (rate(loki_write_sent_entries_total%s[$__rate_interval]))", d.sel()), "{{tenant}}"))).
		WithPanel(graphPanel("Bytes sent by Alloy", "Bytes loki.write delivered, per tenant.", "Bps", alloyWidth,
			pq(fmt.Sprintf("sum by (tenant) (rate(loki_write_sent_bytes_total%s[$__rate_interval]))", d.sel()), "{{tenant}}")))
	if d.alloyConsumesKafka() {
		b = b.WithPanel(graphPanel("Kafka lag of Alloy", fmt.Sprintf("Messages consumer group %s has yet to read, per topic.", d.o.KafkaConsumerGroup), "short", 8,
			pq(fmt.Sprintf("sum by (topic) (kafka_consumergroup_lag%s)", d.sel(fmt.Sprintf("consumergroup=%q", d.o.KafkaConsumerGroup))), "{{topic}}")))
	}
	if d.o.Canary {
		b = b.WithRow(newRow("Canary")).
			WithPanel(graphPanel("Canary entries", "Entries loki-canary wrote, and those it never read back (missing) or read unexpectedly.", "short", 12,
				pq(fmt.Sprintf("sum(rate(loki_canary_entries_total%s[$__rate_interval]))", d.sel()), "written"),
				pq(fmt.Sprintf("sum(rate(loki_canary_missing_entries_total%s[$__rate_interval]))", d.sel()), "missing"),
				pq(fmt.Sprintf("sum(rate(loki_canary_unexpected_entries_total%s[$__rate_interval]))", d.sel()), "unexpected"))).
			WithPanel(graphPanel("Canary missing ratio", "Share of written entries the canary never read back, by websocket or by query.", "percentunit", 12,
				pq(fmt.Sprintf("sum(rate(loki_canary_missing_entries_total%s[$__rate_interval]))\n/\nsum(rate(loki_canary_entries_total%s[$__rate_interval]))", d.sel(), d.sel()), "missing / written")))
	}
	return b
}

func (d dashboards) loki() *grafanaDashboard {
	b := d.newDashboard("loki", "obs-stack / Loki",
		fmt.Sprintf("Loki in %s mode: requests per route, the ingesters and their ring, and each target's pods.", d.o.Mode)).
		WithRow(newRow("Requests")).
		WithPanel(graphPanel("Requests by route", "Requests per second each route serves, all targets together.", "reqps", 8,
			pq(fmt.Sprintf("sum by (route) (rate(loki_request_duration_seconds_count%s[$__rate_interval]))", d.sel()), "{{route}}"))).
		WithPanel(graphPanel("Error ratio by route", "5xx answers among each route's requests.", "percentunit", 8,
			pq(fmt.Sprintf("sum by (route) (rate(loki_request_duration_seconds_count%s[$__rate_interval]))\n/\nsum by (route) (rate(loki_request_duration_seconds_count%s[$__rate_interval]))",
				d.sel(`status_code=~"5.."`), d.sel()), "{{route}}"))).
		WithPanel(graphPanel("p99 latency by route", "99th percentile of request duration, per route.", "s", 8,
			pq(fmt.Sprintf("histogram_quantile(0.99, sum by (le, route) (rate(loki_request_duration_seconds_bucket%s[$__rate_interval])))", d.sel()), "{{route}}"))).
		WithRow(newRow("Ingesters and ring")).
		WithPanel(graphPanel("Ring members by state", "Members of each ring by state (ingester, distributor, compactor, ...).", "short", 6,
			pq(fmt.Sprintf("max by (name, state) (loki_ring_members%s)", d.sel()), "{{name}} {{state}}"))).
		WithPanel(graphPanel("Streams in memory", "Streams the ingesters hold, per tenant; each replica of a stream counts.", "short", 6,
			pq(fmt.Sprintf("sum by (tenant) (loki_ingester_memory_streams%s)", d.sel()), "{{tenant}}"))).
		WithPanel(graphPanel("Chunks in memory", "Chunks the ingesters hold, per pod.", "short", 6,
			pq(fmt.Sprintf("sum by (pod) (loki_ingester_memory_chunks%s)", d.sel()), "{{pod}}"))).
		WithPanel(graphPanel("Chunks flushed by reason", "Chunks flushed to storage per second, by why they were flushed.", "short", 6,
			pq(fmt.Sprintf("sum by (reason) (rate(loki_ingester_chunks_flushed_total%s[$__rate_interval]))", d.sel()), "{{reason}}")))
	for _, target := range d.o.LokiTargets {
		pods := podsOf(target)
		container := fmt.Sprintf("container=%q", lokiContainer)
		b = b.WithRow(newRow("Target: " + target).folded().
			WithPanel(graphPanel(target+": requests by status", "Requests per second the target's pods answer, by status code.", "reqps", 6,
				pq(fmt.Sprintf("sum by (status_code) (rate(loki_request_duration_seconds_count%s[$__rate_interval]))", d.sel(pods)), "{{status_code}}"))).
			WithPanel(graphPanel(target+": p99 latency by route", "99th percentile of request duration in the target's pods, per route.", "s", 6,
				pq(fmt.Sprintf("histogram_quantile(0.99, sum by (le, route) (rate(loki_request_duration_seconds_bucket%s[$__rate_interval])))", d.sel(pods)), "{{route}}"))).
			WithPanel(graphPanel(target+": CPU", "CPU cores the Loki container uses, per pod (cAdvisor).", "short", 4,
				pq(fmt.Sprintf("sum by (pod) (rate(container_cpu_usage_seconds_total%s[$__rate_interval]))", d.sel(pods, container)), "{{pod}}"))).
			WithPanel(graphPanel(target+": memory", "Working set of the Loki container, per pod (cAdvisor).", "bytes", 4,
				pq(fmt.Sprintf("sum by (pod) (container_memory_working_set_bytes%s)", d.sel(pods, container)), "{{pod}}"))).
			WithPanel(graphPanel(target+": restarts", "Container restarts in the last hour, per pod (kube-state-metrics).", "short", 4,
				pq(fmt.Sprintf("sum by (pod) (increase(kube_pod_container_status_restarts_total%s[1h]))", d.sel(pods, container)), "{{pod}}"))))
	}
	return b
}

func (d dashboards) gateway() *grafanaDashboard {
	return d.newDashboard("gateway", "obs-stack / Gateway",
		"The nginx gateway in front of Loki, from nginx-prometheus-exporter (stub_status).").
		WithPanel(statPanel("nginx up", "Lowest nginx_up among the gateway pods: 0 when an exporter cannot read stub_status.", "short", 6,
			pq(fmt.Sprintf("min(nginx_up%s)", d.sel()), ""), okFrom(1))).
		WithPanel(statPanel("Requests", "Requests per second, all gateway pods.", "reqps", 6,
			pq(fmt.Sprintf("sum(rate(nginx_http_requests_total%s[$__rate_interval]))", d.sel()), ""), nil)).
		WithPanel(statPanel("Active connections", "Open client connections, all gateway pods.", "short", 6,
			pq(fmt.Sprintf("sum(nginx_connections_active%s)", d.sel()), ""), nil)).
		WithPanel(statPanel("Dropped connections", "Accepted but not handled connections per second (worker_connections exhausted).", "short", 6,
			pq(fmt.Sprintf("sum(rate(nginx_connections_accepted%s[$__rate_interval])) - sum(rate(nginx_connections_handled%s[$__rate_interval]))", d.sel(), d.sel()), ""), okBelow(0.001))).
		WithPanel(graphPanel("Requests by pod", "Requests per second, per gateway pod.", "reqps", 12,
			pq(fmt.Sprintf("sum by (pod) (rate(nginx_http_requests_total%s[$__rate_interval]))", d.sel()), "{{pod}}"))).
		WithPanel(graphPanel("Connections by state", "Client connections nginx is reading from, writing to, or keeping idle.", "short", 12,
			pq(fmt.Sprintf("sum(nginx_connections_reading%s)", d.sel()), "reading"),
			pq(fmt.Sprintf("sum(nginx_connections_writing%s)", d.sel()), "writing"),
			pq(fmt.Sprintf("sum(nginx_connections_waiting%s)", d.sel()), "waiting"))).
		WithPanel(graphPanel("Connections accepted and handled", "New connections per second; a gap means dropped connections.", "short", 24,
			pq(fmt.Sprintf("sum(rate(nginx_connections_accepted%s[$__rate_interval]))", d.sel()), "accepted"),
			pq(fmt.Sprintf("sum(rate(nginx_connections_handled%s[$__rate_interval]))", d.sel()), "handled")))
}

func (d dashboards) alloy() *grafanaDashboard {
	b := d.newDashboard("alloy", "obs-stack / Alloy",
		"Grafana Alloy: what loki.write delivers to the gateway, what the log sources read, and the components' health.").
		WithRow(newRow("loki.write")).
		WithPanel(graphPanel("Entries sent", "Log entries delivered, per tenant.", "short", 8,
			pq(fmt.Sprintf("sum by (tenant) (rate(loki_write_sent_entries_total%s[$__rate_interval]))", d.sel()), "{{tenant}}"))).
		WithPanel(graphPanel("Bytes sent", "Bytes delivered, per tenant.", "Bps", 8,
			pq(fmt.Sprintf("sum by (tenant) (rate(loki_write_sent_bytes_total%s[$__rate_interval]))", d.sel()), "{{tenant}}"))).
		WithPanel(graphPanel("Entries dropped", "Entries given up after all retries, by reason.", "short", 8,
			pq(fmt.Sprintf("sum by (reason) (rate(loki_write_dropped_entries_total%s[$__rate_interval]))", d.sel()), "{{reason}}"))).
		WithPanel(graphPanel("Request p99 by status", "99th percentile of push request duration, by status code.", "s", 8,
			pq(fmt.Sprintf("histogram_quantile(0.99, sum by (le, status_code) (rate(loki_write_request_duration_seconds_bucket%s[$__rate_interval])))", d.sel()), "{{status_code}}"))).
		WithPanel(graphPanel("Batch retries", "Batches retried per second.", "short", 8,
			pq(fmt.Sprintf("sum(rate(loki_write_batch_retries_total%s[$__rate_interval]))", d.sel()), "retries"))).
		WithPanel(graphPanel("Propagation latency p99", "99th percentile of the time from an entry's timestamp to its delivery.", "s", 8,
			pq(fmt.Sprintf("histogram_quantile(0.99, sum by (le) (rate(loki_write_entry_propagation_latency_seconds_bucket%s[$__rate_interval])))", d.sel()), "p99"))).
		WithRow(newRow("Sources and components")).
		WithPanel(graphPanel("Lines read from files", "loki.source.file lines read per second (empty when Alloy tails pods through the API).", "short", 8,
			pq(fmt.Sprintf("sum(rate(loki_source_file_read_lines_total%s[$__rate_interval]))", d.sel()), "lines"))).
		WithPanel(graphPanel("Bytes read from files", "loki.source.file bytes read per second (empty when Alloy tails pods through the API).", "Bps", 8,
			pq(fmt.Sprintf("sum(rate(loki_source_file_read_bytes_total%s[$__rate_interval]))", d.sel()), "bytes"))).
		WithPanel(graphPanel("Components by health", "Running components per health state, all Alloy pods.", "short", 8,
			pq(fmt.Sprintf("sum by (health_type) (alloy_component_controller_running_components%s)", d.sel()), "{{health_type}}")))
	if d.alloyConsumesKafka() {
		group := fmt.Sprintf("consumergroup=%q", d.o.KafkaConsumerGroup)
		b = b.WithRow(newRow("loki.source.kafka")).
			WithPanel(graphPanel("Kafka lag", fmt.Sprintf("Messages consumer group %s has yet to read, per topic and partition.", d.o.KafkaConsumerGroup), "short", 12,
				pq(fmt.Sprintf("sum by (topic, partition) (kafka_consumergroup_lag%s)", d.sel(group)), "{{topic}}/{{partition}}"))).
			WithPanel(graphPanel("Consumers in the group", "Members of the consumer group (Alloy pods consuming).", "short", 12,
				pq(fmt.Sprintf("max(kafka_consumergroup_members%s)", d.sel(group)), "members")))
	}
	return b
}

func (d dashboards) kafka() *grafanaDashboard {
	return d.newDashboard("kafka", "obs-stack / Kafka",
		"Kafka (KRaft) as kafka_exporter sees it: brokers, partitions, offsets and consumer lag.").
		WithPanel(statPanel("Brokers", "Brokers in the cluster.", "short", 8,
			pq(fmt.Sprintf("max(kafka_brokers%s)", d.sel()), ""), okFrom(1))).
		WithPanel(statPanel("Under-replicated partitions", "Partitions with fewer in-sync replicas than replicas.", "short", 8,
			pq(fmt.Sprintf("sum(kafka_topic_partition_under_replicated_partition%s)", d.sel()), ""), okBelow(1))).
		WithPanel(statPanel("Partitions", "Partitions of all topics.", "short", 8,
			pq(fmt.Sprintf("sum(kafka_topic_partitions%s)", d.sel()), ""), nil)).
		WithPanel(graphPanel("Messages in by topic", "Growth of the newest offset, per topic: messages produced per second.", "short", 12,
			pq(fmt.Sprintf("sum by (topic) (rate(kafka_topic_partition_current_offset%s[$__rate_interval]))", d.sel()), "{{topic}}"))).
		WithPanel(graphPanel("Consumer lag by group", "Messages each consumer group has yet to read, per topic.", "short", 12,
			pq(fmt.Sprintf("sum by (consumergroup, topic) (kafka_consumergroup_lag%s)", d.sel()), "{{consumergroup}} {{topic}}"))).
		WithPanel(graphPanel("Consumed by group", "Growth of each group's committed offset: messages consumed per second.", "short", 12,
			pq(fmt.Sprintf("sum by (consumergroup, topic) (rate(kafka_consumergroup_current_offset%s[$__rate_interval]))", d.sel()), "{{consumergroup}} {{topic}}"))).
		WithPanel(graphPanel("Group members", "Members of each consumer group.", "short", 12,
			pq(fmt.Sprintf("max by (consumergroup) (kafka_consumergroup_members%s)", d.sel()), "{{consumergroup}}")))
}

func (d dashboards) memcached() *grafanaDashboard {
	get := `command="get"`
	return d.newDashboard("memcached", "obs-stack / Memcached",
		"Loki's chunks and results caches, from memcached_exporter.").
		WithPanel(statPanel("memcached up", "Lowest memcached_up among the cache pods.", "short", 12,
			pq(fmt.Sprintf("min(memcached_up%s)", d.sel()), ""), okFrom(1))).
		WithPanel(statPanel("Get hit ratio", "Gets answered from the cache, all cache pods.", "percentunit", 12,
			pq(fmt.Sprintf("sum(rate(memcached_commands_total%s[$__rate_interval]))\n/\nsum(rate(memcached_commands_total%s[$__rate_interval]))",
				d.sel(get, `status="hit"`), d.sel(get)), ""), nil)).
		WithPanel(graphPanel("Get hit ratio by pod", "Gets answered from the cache, per pod.", "percentunit", 12,
			pq(fmt.Sprintf("sum by (pod) (rate(memcached_commands_total%s[$__rate_interval]))\n/\nsum by (pod) (rate(memcached_commands_total%s[$__rate_interval]))",
				d.sel(get, `status="hit"`), d.sel(get)), "{{pod}}"))).
		WithPanel(graphPanel("Evictions", "Valid items evicted per second to make room, per pod.", "short", 12,
			pq(fmt.Sprintf("sum by (pod) (rate(memcached_items_evicted_total%s[$__rate_interval]))", d.sel()), "{{pod}}"))).
		WithPanel(graphPanel("Memory used", "Bytes stored against the configured limit, per pod.", "bytes", 12,
			pq(fmt.Sprintf("sum by (pod) (memcached_current_bytes%s)", d.sel()), "{{pod}} used"),
			pq(fmt.Sprintf("sum by (pod) (memcached_limit_bytes%s)", d.sel()), "{{pod}} limit"))).
		WithPanel(graphPanel("Items and connections", "Items stored and open connections, per pod.", "short", 12,
			pq(fmt.Sprintf("sum by (pod) (memcached_current_items%s)", d.sel()), "{{pod}} items"),
			pq(fmt.Sprintf("sum by (pod) (memcached_current_connections%s)", d.sel()), "{{pod}} connections")))
}
