package program

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"obs-stack/internal/mocktest"
)

// monitors lists the monitoring.coreos.com objects of a run as "Kind/name port", sorted.
func monitors(rec *mocktest.Recorder) []string {
	var out []string
	for _, kind := range []string{"PodMonitor", "ServiceMonitor", "PrometheusRule"} {
		for _, r := range rec.OfType("kubernetes:monitoring.coreos.com/v1:" + kind) {
			entry := kind + "/" + fmt.Sprint(mocktest.Dig(r.Inputs, "metadata", "name"))
			for _, list := range []string{"podMetricsEndpoints", "endpoints"} {
				if port := mocktest.Dig(r.Inputs, "spec", list, 0, "port"); port != nil {
					entry += " " + fmt.Sprint(port)
				}
			}
			out = append(out, entry)
		}
	}
	slices.Sort(out)
	return out
}

func TestMonitoringObjectsAsConfigured(t *testing.T) {
	// prod: monitoring, dashboards and the canary on (its preset); written by hand from the
	// components' pod labels and metrics ports.
	prod := mustRun(t, "prod", nil)
	want := []string{
		"PodMonitor/kafka-exporter metrics",
		"PodMonitor/loki http",
		"PodMonitor/loki-canary metrics",
		"PodMonitor/loki-gateway metrics",
		"PodMonitor/memcached metrics",
		"PrometheusRule/obs-stack",
		"ServiceMonitor/alloy http-metrics",
	}
	if got := monitors(prod); !slices.Equal(got, want) {
		t.Errorf("prod monitors:\n got  %q\n want %q", got, want)
	}
	for _, kind := range []string{"PodMonitor", "ServiceMonitor", "PrometheusRule"} {
		for _, r := range prod.OfType("kubernetes:monitoring.coreos.com/v1:" + kind) {
			if got := mocktest.Dig(r.Inputs, "metadata", "labels", "release"); got != "kube-prometheus-stack" {
				t.Errorf("%s %s: release label %v, want kube-prometheus-stack (what the Prometheus of kube-prometheus-stack selects)", kind, r.Name, got)
			}
			if got := mocktest.Dig(r.Inputs, "metadata", "namespace"); got != "observability" {
				t.Errorf("%s %s: namespace %v", kind, r.Name, got)
			}
			if kind != "PrometheusRule" {
				list := map[string]string{"PodMonitor": "podMetricsEndpoints", "ServiceMonitor": "endpoints"}[kind]
				if got := mocktest.Dig(r.Inputs, "spec", list, 0, "interval"); got != "30s" {
					t.Errorf("%s %s: interval %v, want the preset's 30s", kind, r.Name, got)
				}
				if got := mocktest.Dig(r.Inputs, "spec", "selector", "matchLabels", "app.kubernetes.io/instance"); got != Instance {
					t.Errorf("%s %s: selects instance %v", kind, r.Name, got)
				}
				// The typed spec's unset structs must not reach the object (bearerTokenSecret: {key: ""}).
				if raw, _ := json.Marshal(r.Inputs["spec"]); strings.Contains(string(raw), `""`) || strings.Contains(string(raw), "{}") {
					t.Errorf("%s %s: empty fields in %s", kind, r.Name, raw)
				}
			}
		}
	}
	rule := prod.One(t, "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
	groups, _ := mocktest.Dig(rule.Inputs, "spec", "groups").([]any)
	var alerts int
	for i := range groups {
		rules, _ := mocktest.Dig(groups[i], "rules").([]any)
		alerts += len(rules)
	}
	if alerts < 10 {
		t.Errorf("the PrometheusRule holds %d alerts", alerts)
	}

	var dashboards []mocktest.Resource
	for _, cm := range prod.OfType("kubernetes:core/v1:ConfigMap") {
		if mocktest.Dig(cm.Inputs, "metadata", "labels", "grafana_dashboard") == "1" {
			dashboards = append(dashboards, cm)
		}
	}
	if len(dashboards) != 1 {
		t.Fatalf("%d dashboard ConfigMaps in prod, want 1", len(dashboards))
	}
	var files []string
	for k := range dashboards[0].Inputs["data"].(map[string]any) {
		files = append(files, k)
	}
	slices.Sort(files)
	if want := "obs-stack-alloy.json obs-stack-gateway.json obs-stack-kafka.json obs-stack-loki.json obs-stack-memcached.json obs-stack-overview.json"; strings.Join(files, " ") != want {
		t.Errorf("dashboards %q, want %q", strings.Join(files, " "), want)
	}
	if got := mocktest.Dig(dashboards[0].Inputs, "metadata", "name"); got != "obs-stack-dashboards-observability" {
		t.Errorf("dashboards ConfigMap %v", got)
	}

	// dev: none of it, and no exporter sidecar or monitoring pod.
	dev := mustRun(t, "dev", nil)
	if got := monitors(dev); len(got) != 0 {
		t.Errorf("dev monitors %q, want none (monitoring.enabled is off in dev)", got)
	}
	for _, kind := range []string{"Deployment", "StatefulSet"} {
		for _, w := range dev.OfType("kubernetes:apps/v1:" + kind) {
			if n := len(mocktest.Dig(w.Inputs, "spec", "template", "spec", "containers").([]any)); n != 1 {
				t.Errorf("dev %s %s has %d containers", kind, w.Name, n)
			}
			if w.Name == "canary" || w.Name == "kafka-exporter" {
				t.Errorf("dev runs %s", w.Name)
			}
		}
	}

	// Overrides the way users write them: dashboards only, in Grafana's namespace, with another label.
	only := mustRun(t, "dev", map[string]string{
		"obs-stack:monitoring.dashboards": "true", "obs-stack:grafana.namespace": "grafana",
		"obs-stack:monitoring.dashboardLabel": "dashboards", "obs-stack:monitoring.dashboardLabelValue": "obs",
	})
	if got := monitors(only); len(got) != 0 {
		t.Errorf("dashboards only: monitors %q", got)
	}
	cm := only.OfType("kubernetes:core/v1:ConfigMap")
	found := false
	for _, c := range cm {
		if mocktest.Dig(c.Inputs, "metadata", "labels", "dashboards") == "obs" {
			found = true
			if ns := mocktest.Dig(c.Inputs, "metadata", "namespace"); ns != "grafana" {
				t.Errorf("dashboards in namespace %v, want grafana", ns)
			}
		}
	}
	if !found {
		t.Error("no dashboards ConfigMap with the overridden label")
	}
}

// TestExporterSidecars: with monitoring on, memcached and nginx pods carry their exporter,
// pointed at the main container over the pod's loopback.
func TestExporterSidecars(t *testing.T) {
	prod := mustRun(t, "prod", nil)
	want := map[string]string{
		"loki-chunks-cache":  "--memcached.address=localhost:11211 --web.listen-address=:9150",
		"loki-results-cache": "--memcached.address=localhost:11211 --web.listen-address=:9150",
		"loki-gateway":       "--nginx.scrape-uri=http://127.0.0.1:8081/stub_status --web.listen-address=:9113",
	}
	for _, d := range prod.OfType("kubernetes:apps/v1:Deployment") {
		args, ok := want[d.Name]
		if !ok {
			continue
		}
		delete(want, d.Name)
		c := mocktest.Dig(d.Inputs, "spec", "template", "spec", "containers", 1)
		var got []string
		for _, a := range mocktest.Dig(c, "args").([]any) {
			got = append(got, fmt.Sprint(a))
		}
		if strings.Join(got, " ") != args || mocktest.Dig(c, "ports", 0, "name") != "metrics" {
			t.Errorf("%s exporter: args %q port %v", d.Name, got, mocktest.Dig(c, "ports", 0))
		}
	}
	if len(want) > 0 {
		t.Errorf("no exporter found on %v", want)
	}
}

// TestRingAlertsFollowTheTopology: the ring alerts of each mode, from the whole program, name
// the rings its targets join, written by hand from Loki's docs (the scalable modes address the
// query schedulers directly, so only the single binary joins a scheduler ring).
func TestRingAlertsFollowTheTopology(t *testing.T) {
	for name, tc := range map[string]struct {
		stack  string
		config map[string]string
		want   string
	}{
		"dev":             {"dev", map[string]string{"obs-stack:monitoring.enabled": "true"}, `name=~"compactor|distributor|ingester|ruler|scheduler"`},
		"prod":            {"prod", nil, `name=~"compactor|distributor|ingester|ruler"`},
		"simple scalable": {"prod", map[string]string{"obs-stack:loki.mode": "SimpleScalable"}, `name=~"compactor|distributor|ingester|ruler"`},
	} {
		t.Run(name, func(t *testing.T) {
			rule := mustRun(t, tc.stack, tc.config).One(t, "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
			raw, err := json.Marshal(rule.Inputs)
			if err != nil {
				t.Fatal(err)
			}
			var spec struct {
				Spec struct {
					Groups []struct {
						Rules []struct{ Alert, Expr string }
					}
				}
			}
			if err := json.Unmarshal(raw, &spec); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, g := range spec.Spec.Groups {
				for _, r := range g.Rules {
					if r.Alert == "LokiRingMembersUnhealthy" {
						found = true
						if !strings.Contains(r.Expr, tc.want) {
							t.Errorf("LokiRingMembersUnhealthy: %s lacks %s", r.Expr, tc.want)
						}
					}
				}
			}
			if !found {
				t.Error("no LokiRingMembersUnhealthy alert")
			}
		})
	}
}
