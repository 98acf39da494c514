package mixin

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// metricsFile lists, per scraped component, the metric names it exports as Prometheus
// stores them, each list read from the component's source or docs at the pinned version.
type metricsFile struct {
	Components map[string]struct {
		Version string   `json:"version"`
		Source  string   `json:"source"`
		Metrics []string `json:"metrics"`
	} `json:"components"`
}

// metricNames are the metric names expr selects (its vector selectors' names), sorted.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("parsing %q: %v", expr, err)
	}
	var names []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			t.Errorf("%q selects %s without a metric name: its metrics cannot be checked", expr, vs)
			return nil
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		return nil
	})
	slices.Sort(names)
	return names
}

// knownMetrics maps every metric name of testdata/metrics.yaml to its component.
func knownMetrics(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "metrics.yaml"))
	if err != nil {
		t.Fatalf("reading the metric list: %v", err)
	}
	var f metricsFile
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		t.Fatalf("parsing testdata/metrics.yaml: %v", err)
	}
	known := map[string]string{}
	for component, c := range f.Components {
		if c.Version == "" || c.Source == "" || len(c.Metrics) == 0 {
			t.Errorf("testdata/metrics.yaml: component %s needs version, source and metrics", component)
		}
		for _, name := range c.Metrics {
			if other, dup := known[name]; dup {
				t.Errorf("testdata/metrics.yaml: %s is listed under both %s and %s", name, other, component)
			}
			known[name] = component
		}
	}
	return known
}

func TestMetricNamesReadsEverySelector(t *testing.T) {
	got := metricNames(t, `sum(rate(a_total{x="1"}[5m])) / on() group_left max({__name__="b"}) > histogram_quantile(0.9, c_bucket)`)
	if want := []string{"a_total", "b", "c_bucket"}; !slices.Equal(got, want) {
		t.Errorf("metricNames = %v, want %v", got, want)
	}
}

func TestRulesUseOnlyKnownMetrics(t *testing.T) {
	known := knownMetrics(t)
	for setName, opts := range ruleSets {
		for _, g := range Rules(opts).Groups {
			for _, r := range g.Rules {
				for _, name := range metricNames(t, r.Expr.String()) {
					if _, ok := known[name]; !ok {
						t.Errorf("%s: alert %s uses %s, which no component of testdata/metrics.yaml exports", setName, r.Alert, name)
					}
				}
			}
		}
	}
}
