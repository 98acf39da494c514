package mixin

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// updateGolden rewrites the golden files: the dashboards and the generated rule files.
var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The two option sets the goldens are kept for, written out by hand.
var (
	devOptions = Options{
		Namespace:          "observability-dev",
		Mode:               "SingleBinary",
		LokiTargets:        []string{"single-binary"},
		Kafka:              true,
		KafkaConsumerGroup: "alloy",
	}
	prodOptions = Options{
		Namespace: "observability",
		Mode:      "Distributed",
		LokiTargets: []string{"distributor", "ingester", "querier", "query-frontend", "query-scheduler",
			"index-gateway", "compactor", "ruler"},
		Caches:             true,
		Kafka:              true,
		KafkaConsumerGroup: "alloy",
		Canary:             true,
		RunbookBaseURL:     "https://runbooks.example.com/obs-stack",
	}
	variants = map[string]Options{"dev": devOptions, "prod": prodOptions}
)

func mustDashboards(t *testing.T, o Options) map[string][]byte {
	t.Helper()
	out, err := Dashboards(o)
	if err != nil {
		t.Fatalf("Dashboards(%+v): %v", o, err)
	}
	return out
}

func TestDashboardsGolden(t *testing.T) {
	for variant, o := range variants {
		t.Run(variant, func(t *testing.T) {
			dir := filepath.Join("testdata", "dashboards", variant)
			got := mustDashboards(t, o)
			if *updateGolden {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for name, text := range got {
					if err := os.WriteFile(filepath.Join(dir, name), text, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatalf("reading goldens (run go test ./components/monitoring/mixin -update): %v", err)
			}
			var onDisk []string
			for _, e := range entries {
				onDisk = append(onDisk, e.Name())
			}
			if names := dashSortedKeys(got); !slices.Equal(onDisk, names) {
				t.Errorf("golden files %v, dashboards %v", onDisk, names)
			}
			for name, text := range got {
				want, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if !bytes.Equal(text, want) {
					t.Errorf("%s differs from its golden; review the change and rerun with -update", name)
				}
			}
		})
	}
}

// The dashboard set per option set, by hand.
func TestDashboardSets(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		want []string
	}{
		{"dev", devOptions, []string{"obs-stack-alloy.json", "obs-stack-gateway.json", "obs-stack-kafka.json",
			"obs-stack-loki.json", "obs-stack-overview.json"}},
		{"prod", prodOptions, []string{"obs-stack-alloy.json", "obs-stack-gateway.json", "obs-stack-kafka.json",
			"obs-stack-loki.json", "obs-stack-memcached.json", "obs-stack-overview.json"}},
		{"bare", Options{Namespace: "logs", Mode: "SimpleScalable", LokiTargets: []string{"read", "write", "backend"}},
			[]string{"obs-stack-alloy.json", "obs-stack-gateway.json", "obs-stack-loki.json", "obs-stack-overview.json"}},
		{"caches only", Options{Namespace: "logs", Mode: "Distributed", Caches: true},
			[]string{"obs-stack-alloy.json", "obs-stack-gateway.json", "obs-stack-loki.json", "obs-stack-memcached.json",
				"obs-stack-overview.json"}},
	}
	for _, c := range cases {
		if got := dashSortedKeys(mustDashboards(t, c.o)); !slices.Equal(got, c.want) {
			t.Errorf("%s: dashboards %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := Dashboards(Options{Mode: "SingleBinary"}); err == nil {
		t.Error("no namespace: want an error, got dashboards")
	}
}

// Panels that depend on an option, by title, with the options that must show them.
func TestDashboardPanelsFollowOptions(t *testing.T) {
	kafkaNoGroup := devOptions
	kafkaNoGroup.KafkaConsumerGroup = ""
	cases := []struct {
		name, file, title string
		o                 Options
		want              bool
	}{
		{"dev: lag of Alloy's group", "obs-stack-overview.json", "Kafka lag of Alloy", devOptions, true},
		{"Kafka, Alloy not consuming", "obs-stack-overview.json", "Kafka lag of Alloy", kafkaNoGroup, false},
		{"Kafka, Alloy not consuming", "obs-stack-alloy.json", "Kafka lag", kafkaNoGroup, false},
		{"prod: Alloy's lag", "obs-stack-alloy.json", "Kafka lag", prodOptions, true},
		{"dev: no canary", "obs-stack-overview.json", "Canary entries", devOptions, false},
		{"prod: canary", "obs-stack-overview.json", "Canary entries", prodOptions, true},
		{"prod: canary", "obs-stack-overview.json", "Canary missing ratio", prodOptions, true},
		{"dev: single-binary row", "obs-stack-loki.json", "Target: single-binary", devOptions, true},
		{"dev: no distributor row", "obs-stack-loki.json", "Target: distributor", devOptions, false},
		{"prod: distributor row", "obs-stack-loki.json", "Target: distributor", prodOptions, true},
		{"prod: ruler row", "obs-stack-loki.json", "Target: ruler", prodOptions, true},
		{"prod: ruler CPU, nested in its row", "obs-stack-loki.json", "ruler: CPU", prodOptions, true},
	}
	for _, c := range cases {
		d := dashDecode(t, c.file, mustDashboards(t, c.o)[c.file])
		got := false
		for _, p := range dashPanels(d) {
			if p.Title == c.title {
				got = true
			}
		}
		if got != c.want {
			t.Errorf("%s: panel %q in %s: %v, want %v", c.name, c.title, c.file, got, c.want)
		}
	}
	// The prod Loki dashboard has one collapsed row per Distributed target.
	var rows []string
	for _, p := range dashDecode(t, "loki", mustDashboards(t, prodOptions)["obs-stack-loki.json"]).Panels {
		if p.Type == "row" && p.Collapsed {
			rows = append(rows, p.Title)
		}
	}
	wantRows := []string{"Target: distributor", "Target: ingester", "Target: querier", "Target: query-frontend",
		"Target: query-scheduler", "Target: index-gateway", "Target: compactor", "Target: ruler"}
	if !slices.Equal(rows, wantRows) {
		t.Errorf("prod Loki rows %v, want %v", rows, wantRows)
	}
}

// The overview's error ratios look at the target that receives the route in each mode.
func TestDashboardErrorRatiosSelectEntryTarget(t *testing.T) {
	cases := []struct {
		o                       Options
		pushMatcher, qryMatcher string
	}{
		{devOptions, `pod=~"loki-single-binary-.+"`, `pod=~"loki-single-binary-.+"`},
		{prodOptions, `pod=~"loki-distributor-.+"`, `pod=~"loki-query-frontend-.+"`},
		{Options{Namespace: "logs", Mode: "SimpleScalable"}, `pod=~"loki-write-.+"`, `pod=~"loki-read-.+"`},
	}
	for _, c := range cases {
		d := dashDecode(t, "overview", mustDashboards(t, c.o)["obs-stack-overview.json"])
		exprs := map[string]string{}
		for _, p := range dashPanels(d) {
			for _, tg := range p.Targets {
				exprs[p.Title] = tg.Expr
			}
		}
		if got := exprs["Push error ratio"]; strings.Count(got, c.pushMatcher) != 2 || !strings.Contains(got, `status_code=~"5.."`) {
			t.Errorf("%s push error ratio %q: want %s in both selectors and a 5xx numerator", c.o.Mode, got, c.pushMatcher)
		}
		if got := exprs["Query error ratio"]; strings.Count(got, c.qryMatcher) != 2 {
			t.Errorf("%s query error ratio %q: want %s in both selectors", c.o.Mode, got, c.qryMatcher)
		}
	}
}

func TestDashboardUIDs(t *testing.T) {
	wantDev := map[string]string{
		"obs-stack-overview.json": "obs-stack-observability-dev-overview",
		"obs-stack-loki.json":     "obs-stack-observability-dev-loki",
		"obs-stack-gateway.json":  "obs-stack-observability-dev-gateway",
		"obs-stack-alloy.json":    "obs-stack-observability-dev-alloy",
		"obs-stack-kafka.json":    "obs-stack-observability-dev-kafka",
	}
	for name, text := range mustDashboards(t, devOptions) {
		if got := dashDecode(t, name, text).UID; got != wantDev[name] {
			t.Errorf("dev %s: uid %q, want %q", name, got, wantDev[name])
		}
	}
	if got := dashDecode(t, "memcached", mustDashboards(t, prodOptions)["obs-stack-memcached.json"]).UID; got != "obs-stack-observability-memcached" {
		t.Errorf("prod memcached uid %q", got)
	}

	// Unique and within Grafana's 40 characters across stacks, long namespaces included; two
	// 63-character namespaces that differ only at the end must not collide.
	long1 := strings.Repeat("a", 62) + "1"
	long2 := strings.Repeat("a", 62) + "2"
	seen := map[string]string{}
	for _, o := range []Options{devOptions, prodOptions, {Namespace: long1, Caches: true, Kafka: true}, {Namespace: long2, Caches: true, Kafka: true}} {
		for name, text := range mustDashboards(t, o) {
			uid := dashDecode(t, name, text).UID
			if len(uid) > 40 || len(uid) == 0 {
				t.Errorf("%s/%s: uid %q has %d characters, Grafana takes 1 to 40", o.Namespace, name, uid, len(uid))
			}
			if !regexp.MustCompile(`^[a-zA-Z0-9-]+$`).MatchString(uid) {
				t.Errorf("%s/%s: uid %q has characters outside [a-zA-Z0-9-]", o.Namespace, name, uid)
			}
			key := o.Namespace + "/" + name
			if other, dup := seen[uid]; dup {
				t.Errorf("uid %q used by %s and %s", uid, other, key)
			}
			seen[uid] = key
		}
	}
	if got := dashboardUID(long1, "memcached"); !strings.HasPrefix(got, "obs-stack-aaaa") || !strings.HasSuffix(got, "-memcached") {
		t.Errorf("long namespace uid %q: want obs-stack-<namespace prefix>-<hash>-memcached", got)
	}
}

// Every dashboard: the datasource variable, the tag, and every panel and query reading the
// datasource from the variable.
func TestDashboardDatasources(t *testing.T) {
	for variant, o := range variants {
		for name, text := range mustDashboards(t, o) {
			d := dashDecode(t, name, text)
			where := variant + "/" + name
			if !slices.Contains(d.Tags, "obs-stack") {
				t.Errorf("%s: tags %v lack obs-stack", where, d.Tags)
			}
			var dsVars int
			for _, v := range d.Templating.List {
				if v.Type == "datasource" && v.Name == "datasource" && v.Query == "prometheus" {
					dsVars++
				}
			}
			if dsVars != 1 {
				t.Errorf("%s: %d datasource variables (type datasource, query prometheus), want 1", where, dsVars)
			}
			panels := dashPanels(d)
			if len(panels) == 0 {
				t.Errorf("%s: no panels", where)
			}
			for _, p := range panels {
				if p.Type == "row" {
					continue
				}
				if p.Datasource == nil || p.Datasource.UID != "${datasource}" || p.Datasource.Type != "prometheus" {
					t.Errorf("%s: panel %q datasource %+v, want prometheus ${datasource}", where, p.Title, p.Datasource)
				}
				if len(p.Targets) == 0 {
					t.Errorf("%s: panel %q has no queries", where, p.Title)
				}
				refIDs := map[string]bool{}
				for _, tg := range p.Targets {
					if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
						t.Errorf("%s: panel %q query %q datasource %+v, want ${datasource}", where, p.Title, tg.Expr, tg.Datasource)
					}
					if tg.RefID == "" || refIDs[tg.RefID] {
						t.Errorf("%s: panel %q query refId %q empty or repeated", where, p.Title, tg.RefID)
					}
					refIDs[tg.RefID] = true
				}
			}
		}
	}
}

// Every query parses as PromQL once Grafana's variables are replaced, and every selector
// in it holds namespace="<the stack's namespace>".
func TestDashboardQueries(t *testing.T) {
	for variant, o := range variants {
		for name, text := range mustDashboards(t, o) {
			for _, p := range dashPanels(dashDecode(t, name, text)) {
				for _, tg := range p.Targets {
					where := variant + "/" + name + " panel " + p.Title
					expr, err := parseDashboardExpr(tg.Expr)
					if err != nil {
						t.Errorf("%s: %v\n%s", where, err, tg.Expr)
						continue
					}
					var selectors int
					parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
						vs, ok := node.(*parser.VectorSelector)
						if !ok {
							return nil
						}
						selectors++
						ok = false
						for _, m := range vs.LabelMatchers {
							if m.Name == "namespace" && m.Type.String() == "=" && m.Value == o.Namespace {
								ok = true
							}
						}
						if !ok {
							t.Errorf("%s: selector %s lacks namespace=%q", where, vs, o.Namespace)
						}
						return nil
					})
					if selectors == 0 {
						t.Errorf("%s: %q selects no series", where, tg.Expr)
					}
				}
			}
		}
	}
}

func TestParseDashboardExprRejects(t *testing.T) {
	for _, bad := range []string{
		`sum(rate(x{namespace="a"}[$__rate_interval])`, // unbalanced
		`rate(x{namespace="a"}[$unknown])`,             // a variable the test does not know
	} {
		if _, err := parseDashboardExpr(bad); err == nil {
			t.Errorf("%q: want a parse error", bad)
		}
	}
}

// Every metric a dashboard reads is one the components export (testdata/metrics-dashboards.yaml).
func TestDashboardMetricsKnown(t *testing.T) {
	known := knownMetrics(t)
	used := map[string]bool{}
	for variant, o := range variants {
		for name, text := range mustDashboards(t, o) {
			for _, p := range dashPanels(dashDecode(t, name, text)) {
				for _, tg := range p.Targets {
					for _, m := range dashMetricNames(t, tg.Expr) {
						used[m] = true
						if _, ok := known[m]; !ok {
							t.Errorf("%s/%s panel %q: metric %s is not in testdata/metrics.yaml", variant, name, p.Title, m)
						}
					}
				}
			}
		}
	}
	// The extraction itself: a histogram's bucket series and both sides of a ratio.
	got := dashMetricNames(t, `histogram_quantile(0.99, sum by (le) (rate(a_bucket{namespace="x"}[$__rate_interval]))) / b{namespace="x"}`)
	if !slices.Equal(got, []string{"a_bucket", "b"}) {
		t.Errorf("dashMetricNames: %v, want [a_bucket b]", got)
	}
	if len(used) < 40 {
		t.Errorf("only %d metric names found in the dashboards; is the walk missing panels?", len(used))
	}
}

// dashboardVars are Grafana's interval variables, replaced by durations before parsing.
var dashboardVars = regexp.MustCompile(`\$\{?(__rate_interval|__interval|__range|__range_s|__interval_ms)\}?`)

func parseDashboardExpr(expr string) (parser.Expr, error) {
	replaced := dashboardVars.ReplaceAllStringFunc(expr, func(v string) string {
		switch strings.Trim(v, "${}") {
		case "__range_s", "__interval_ms":
			return "60"
		default:
			return "5m"
		}
	})
	return parser.NewParser(parser.Options{}).ParseExpr(replaced)
}

// dashMetricNames lists the metric names a dashboard expression selects (metricNames after
// Grafana's interval variables are replaced).
func dashMetricNames(t *testing.T, expr string) []string {
	t.Helper()
	parsed, err := parseDashboardExpr(expr)
	if err != nil {
		t.Fatalf("parsing %q: %v", expr, err)
	}
	return metricNames(t, parsed.String())
}

// The parts of Grafana's dashboard JSON the tests read.
type dashboardJSON struct {
	UID        string      `json:"uid"`
	Title      string      `json:"title"`
	Tags       []string    `json:"tags"`
	Panels     []panelJSON `json:"panels"`
	Templating struct {
		List []struct {
			Type  string `json:"type"`
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type datasourceJSON struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panelJSON struct {
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Collapsed  bool            `json:"collapsed"`
	Datasource *datasourceJSON `json:"datasource"`
	Targets    []struct {
		RefID      string          `json:"refId"`
		Expr       string          `json:"expr"`
		Datasource *datasourceJSON `json:"datasource"`
	} `json:"targets"`
	Panels []panelJSON `json:"panels"`
}

func dashDecode(t *testing.T, name string, text []byte) dashboardJSON {
	t.Helper()
	var d dashboardJSON
	if err := json.Unmarshal(text, &d); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// dashPanels flattens the dashboard's panels and the panels nested in (collapsed) rows.
func dashPanels(d dashboardJSON) []panelJSON {
	var out []panelJSON
	var walk func([]panelJSON)
	walk = func(ps []panelJSON) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func dashSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
