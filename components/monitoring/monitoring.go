// Package monitoring is the stack's self-monitoring: Prometheus Operator scrape targets
// (ServiceMonitors, PodMonitors), the alerts as a PrometheusRule and the dashboards as one
// sidecar ConfigMap, both built by the mixin package.
package monitoring

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"obs-stack/components/kube"
	"obs-stack/components/monitoring/mixin"
)

// OperatorModule is the Prometheus Operator's Go module whose CRD files
// (example/prometheus-operator-crd/) match the typed API this package builds objects with
// (pkg/apis/monitoring at the same version, go.mod): the integration suite installs them.
// v0.94.1 is the newest release of the main module the Go module proxy serves (v0.95.x: 403).
const OperatorModule = "github.com/prometheus-operator/prometheus-operator@v0.94.1"

// Args of the component.
type Args struct {
	kube.Stack
	// Options say which parts of the stack run, and so what is scraped.
	Options mixin.Options
	// Monitors creates the scrape targets and the PrometheusRule (monitoring.enabled).
	Monitors bool
	// SelectorLabels label every monitor and the rule: the Prometheus's selector.
	SelectorLabels map[string]string
	// ScrapeInterval of every monitor, a Prometheus duration.
	ScrapeInterval string
	// Rules are the alerts (mixin.Rules(Options)).
	Rules monitoringv1.PrometheusRuleSpec
	// Dashboards are dashboard JSON by file name (mixin.Dashboards(Options)); nil ships none.
	Dashboards map[string][]byte
	// DashboardNamespace is where Grafana's sidecar looks; empty means the stack's namespace.
	DashboardNamespace string
	// DashboardLabels are the sidecar's label.
	DashboardLabels map[string]string
}

// Monitoring is the component.
type Monitoring struct {
	pulumi.ResourceState
	// Monitors are the kinds and names of the scrape targets, e.g. PodMonitor/loki.
	Monitors []string
}

// Target is one set of pods Prometheus scrapes.
type Target struct {
	// Name of the monitor; App is the pods' app.kubernetes.io/name.
	Name, App string
	// Port is the name of the port serving /metrics.
	Port string
	// Service: scrape through the pods' Service (a ServiceMonitor); else the pods (a PodMonitor).
	Service bool
}

// Targets are the scrape targets of the parts that run. Loki is scraped from its pods (the
// stateful targets and the schedulers have a ClusterIP and a headless Service, so a
// ServiceMonitor would scrape their pods twice); the exporter sidecars share pods with memcached and nginx, whose Services serve
// clients, not metrics; Alloy has a Service for its metrics alone.
func Targets(o mixin.Options) []Target {
	t := []Target{{Name: "loki", App: "loki", Port: "http"}, {Name: "loki-gateway", App: "loki-gateway", Port: kube.MetricsPortName},
		{Name: "alloy", App: "alloy", Port: "http-metrics", Service: true}}
	if o.Caches {
		t = append(t, Target{Name: "memcached", App: "memcached", Port: kube.MetricsPortName})
	}
	if o.Kafka {
		t = append(t, Target{Name: "kafka-exporter", App: "kafka-exporter", Port: kube.MetricsPortName})
	}
	if o.Canary {
		t = append(t, Target{Name: "loki-canary", App: "loki-canary", Port: kube.MetricsPortName})
	}
	return t
}

// New declares the monitors, the rule and the dashboards ConfigMap.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	c := &Monitoring{}
	if err := ctx.RegisterComponentResource("obs-stack:monitoring:Monitoring", name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering monitoring component: %w", err)
	}
	parent := pulumi.Parent(c)
	labels := kube.NewLabels("obs-stack-monitoring", args.Instance, "monitoring", "").With(args.SelectorLabels)
	custom := func(kind, objectName string, spec any) error {
		fields, err := specFields(spec)
		if err != nil {
			return fmt.Errorf("%s %s: %w", kind, objectName, err)
		}
		_, err = apiextensions.NewCustomResource(ctx, name+"-"+strings.ToLower(kind)+"-"+objectName, &apiextensions.CustomResourceArgs{
			ApiVersion:  pulumi.String(monitoringv1.SchemeGroupVersion.String()),
			Kind:        pulumi.String(kind),
			Metadata:    kube.Meta(objectName, args.Namespace, labels),
			OtherFields: kubernetes.UntypedArgs{"spec": fields},
		}, parent)
		if err != nil {
			return fmt.Errorf("creating %s %s: %w", kind, objectName, err)
		}
		c.Monitors = append(c.Monitors, kind+"/"+objectName)
		return nil
	}

	if args.Monitors {
		interval := monitoringv1.Duration(args.ScrapeInterval)
		for _, t := range Targets(args.Options) {
			selector := metav1.LabelSelector{MatchLabels: kube.AppSelector(t.App, args.Instance)}
			port := t.Port
			var err error
			if t.Service {
				err = custom(monitoringv1.ServiceMonitorsKind, t.Name, monitoringv1.ServiceMonitorSpec{
					Selector: selector, Endpoints: []monitoringv1.Endpoint{{Port: port, Path: "/metrics", Interval: interval}},
				})
			} else {
				err = custom(monitoringv1.PodMonitorsKind, t.Name, monitoringv1.PodMonitorSpec{
					Selector: selector, PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{{Port: &port, Path: "/metrics", Interval: interval}},
				})
			}
			if err != nil {
				return nil, err
			}
		}
		if err := custom(monitoringv1.PrometheusRuleKind, "obs-stack", args.Rules); err != nil {
			return nil, err
		}
	}

	if args.Dashboards != nil {
		data := pulumi.StringMap{}
		for _, file := range slices.Sorted(maps.Keys(args.Dashboards)) {
			data[file] = pulumi.String(args.Dashboards[file])
		}
		dashLabels := kube.NewLabels("obs-stack-dashboards", args.Instance, "dashboards", "").With(args.DashboardLabels)
		var namespace pulumi.StringInput = args.Namespace
		if args.DashboardNamespace != "" {
			namespace = pulumi.String(args.DashboardNamespace)
		}
		// One ConfigMap: Grafana's sidecar loads every .json key of a labelled ConfigMap. Named
		// after the stack's namespace: several stacks may share Grafana's namespace.
		if _, err := corev1.NewConfigMap(ctx, name+"-dashboards", &corev1.ConfigMapArgs{
			Metadata: kube.Meta(DashboardsConfigMap(args.NamespaceName), namespace, dashLabels),
			Data:     data,
		}, parent); err != nil {
			return nil, fmt.Errorf("creating the dashboards ConfigMap: %w", err)
		}
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"monitors": pulumi.ToStringArray(c.Monitors)}); err != nil {
		return nil, fmt.Errorf("registering monitoring outputs: %w", err)
	}
	return c, nil
}

// specFields is a typed spec as the untyped map a CustomResource takes. Empty strings, maps
// and lists are dropped: the Go types serialise some unset structs as {"key": ""}, which the
// CRD's schema would keep as a set field.
func specFields(spec any) (pulumi.Map, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	pruned, _ := prune(m).(map[string]any)
	return pulumi.ToMap(pruned), nil
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if p := prune(e); p == nil {
				delete(x, k)
			} else {
				x[k] = p
			}
		}
		if len(x) == 0 {
			return nil
		}
	case []any:
		var out []any
		for _, e := range x {
			if p := prune(e); p != nil {
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	}
	return v
}

// DashboardsConfigMap names the dashboards ConfigMap of the stack in namespace.
func DashboardsConfigMap(namespace string) string { return "obs-stack-dashboards-" + namespace }
