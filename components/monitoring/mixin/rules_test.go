package mixin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	"sigs.k8s.io/yaml"
)

const testRunbooks = "https://runbooks.example/docs/runbooks.md"

// testRings are the rings each target joins, written by hand from Loki's docs (pkg/loki
// modules: the scalable modes address the schedulers, so no target but the single binary
// joins the scheduler ring); the program takes them from stacks.Topologies.
var testRings = map[string][]string{
	"single-binary": {"ingester", "distributor", "compactor", "ruler", "scheduler"},
	"write":         {"ingester", "distributor"},
	"backend":       {"compactor", "ruler"},
	"distributor":   {"distributor"},
	"ingester":      {"ingester"},
	"compactor":     {"compactor"},
	"ruler":         {"ruler"},
}

// ruleSets are the Options the rule tests evaluate, by the rule file a test file names.
var ruleSets = map[string]Options{
	// A dev stack: one single binary, no Kafka, caches or canary.
	"generated/dev.yaml": {
		Namespace:      "obs-dev",
		Mode:           "SingleBinary",
		LokiTargets:    []string{"single-binary"},
		LokiReplicas:   map[string]int{"single-binary": 1},
		LokiRings:      testRings,
		RunbookBaseURL: testRunbooks,
	},
	// A prod stack: Distributed, with everything.
	"generated/prod.yaml": {
		Namespace: "obs-prod",
		Mode:      "Distributed",
		LokiTargets: []string{"distributor", "ingester", "querier", "query-frontend", "query-scheduler",
			"index-gateway", "compactor", "ruler"},
		LokiReplicas: map[string]int{"distributor": 3, "ingester": 3, "querier": 3, "query-frontend": 2, "query-scheduler": 2,
			"index-gateway": 2, "compactor": 1, "ruler": 2},
		LokiRings:          testRings,
		Caches:             true,
		Kafka:              true,
		KafkaConsumerGroup: "alloy",
		Canary:             true,
		RunbookBaseURL:     testRunbooks,
	},
}

// The promtool `test rules` file format (cmd/promtool/unittest.go), the parts we use.
type unitTestFile struct {
	RuleFiles          []string    `json:"rule_files"`
	EvaluationInterval string      `json:"evaluation_interval"`
	Tests              []testGroup `json:"tests"`
}

type testGroup struct {
	Name        string `json:"name"`
	Interval    string `json:"interval"`
	InputSeries []struct {
		Series string `json:"series"`
		Values string `json:"values"`
	} `json:"input_series"`
	AlertRuleTests []alertTestCase `json:"alert_rule_test"`
}

type alertTestCase struct {
	EvalTime  string `json:"eval_time"`
	Alertname string `json:"alertname"`
	ExpAlerts []struct {
		ExpLabels      map[string]string `json:"exp_labels"`
		ExpAnnotations map[string]string `json:"exp_annotations"`
	} `json:"exp_alerts"`
}

func mustDuration(t *testing.T, s, fallback string) time.Duration {
	t.Helper()
	if s == "" {
		s = fallback
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return time.Duration(d)
}

// ruleFile writes the rule file of a rule set, as RuleGroupsYAML renders it, into dir.
func ruleFile(t *testing.T, dir, set string) string {
	t.Helper()
	out, err := RuleGroupsYAML(Rules(ruleSets[set]))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.Base(set))
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// coverage records, per alert name, whether some test expects it firing and some test
// expects it quiet while the test group holds series of the metrics it reads.
type coverage struct{ firing, quiet map[string]bool }

func TestRuleUnitTests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "rules", "*.test.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule test files in testdata/rules (%v)", err)
	}
	dir := t.TempDir()
	cov := coverage{firing: map[string]bool{}, quiet: map[string]bool{}}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runRuleTestFile(t, file, dir, cov) })
	}

	for set, opts := range ruleSets {
		for _, name := range alertNames(opts) {
			if !cov.firing[name] {
				t.Errorf("%s: alert %s has no test case where it fires", set, name)
			}
			if !cov.quiet[name] {
				t.Errorf("%s: alert %s has no test case where it stays quiet on series it reads", set, name)
			}
		}
	}
}

func alertNames(o Options) []string {
	var names []string
	for _, g := range Rules(o).Groups {
		for _, r := range g.Rules {
			names = append(names, r.Alert)
		}
	}
	return names
}

func runRuleTestFile(t *testing.T, file, dir string, cov coverage) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var f unitTestFile
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	if len(f.RuleFiles) != 1 {
		t.Fatalf("%s: rule_files must name exactly one rule set, got %v", file, f.RuleFiles)
	}
	set := f.RuleFiles[0]
	opts, ok := ruleSets[set]
	if !ok {
		t.Fatalf("%s: rule_files names %q, not one of the rule sets of rules_test.go", file, set)
	}
	exprs := map[string]string{}
	for _, g := range Rules(opts).Groups {
		for _, r := range g.Rules {
			exprs[r.Alert] = r.Expr.String()
		}
	}
	rulePath := ruleFile(t, dir, set)
	evalInterval := mustDuration(t, f.EvaluationInterval, "1m")

	for i, tg := range f.Tests {
		name := tg.Name
		if name == "" {
			name = fmt.Sprintf("unnamed#%d", i)
		}
		t.Run(name, func(t *testing.T) {
			seriesNames := map[string]bool{}
			for _, s := range tg.InputSeries {
				lbls, err := parser.NewParser(parser.Options{}).ParseMetric(s.Series)
				if err != nil {
					t.Fatalf("series %q: %v", s.Series, err)
				}
				seriesNames[lbls.Get(labels.MetricName)] = true
			}
			for _, tc := range tg.AlertRuleTests {
				expr, ok := exprs[tc.Alertname]
				if !ok {
					t.Errorf("alert %q is not an alert of %s", tc.Alertname, set)
					continue
				}
				if len(tc.ExpAlerts) > 0 {
					cov.firing[tc.Alertname] = true
				} else if slices.ContainsFunc(metricNames(t, expr), func(n string) bool { return seriesNames[n] }) {
					cov.quiet[tc.Alertname] = true
				}
			}
			evalGroup(t, tg, rulePath, evalInterval)
		})
	}
}

// evalGroup loads the group's series, evaluates the rule file at every evaluation interval
// up to the last eval_time, and compares the firing alerts at each eval_time, as promtool's
// testGroup.test does.
func evalGroup(t *testing.T, tg testGroup, rulePath string, evalInterval time.Duration) {
	interval := mustDuration(t, tg.Interval, evalInterval.String())
	var load strings.Builder
	fmt.Fprintf(&load, "load %s\n", model.Duration(interval))
	for _, s := range tg.InputSeries {
		fmt.Fprintf(&load, "  %s %s\n", s.Series, s.Values)
	}
	suite, err := promqltest.NewLazyLoader(load.String(), promqltest.LazyLoaderOpts{EnableAtModifier: true, EnableNegativeOffset: true})
	if err != nil {
		t.Fatalf("loading input_series: %v", err)
	}
	defer func() {
		if err := suite.Close(); err != nil {
			t.Error(err)
		}
	}()
	suite.SubqueryInterval = evalInterval

	m := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(suite.QueryEngine(), suite.Storage()),
		AppendableV2: suite.Storage(),
		Context:      context.Background(),
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
	})
	groupsMap, errs := m.LoadGroups(interval, labels.EmptyLabels(), "", nil, false, rulePath)
	if len(errs) > 0 {
		t.Fatalf("loading the rules: %v", errs)
	}
	var groups []*rules.Group
	for _, g := range groupsMap {
		groups = append(groups, g)
		for _, r := range g.Rules() {
			if ar, ok := r.(*rules.AlertingRule); ok {
				ar.SetRestored(true) // as promtool: no `for` state to restore from storage
			}
		}
	}

	byTime := map[time.Duration][]alertTestCase{}
	var times []time.Duration
	for _, tc := range tg.AlertRuleTests {
		at := mustDuration(t, tc.EvalTime, "0s")
		if _, seen := byTime[at]; !seen {
			times = append(times, at)
		}
		byTime[at] = append(byTime[at], tc)
	}
	slices.Sort(times)
	if len(times) == 0 {
		t.Fatal("no alert_rule_test")
	}

	start := time.Unix(0, 0).UTC()
	next := 0
	for ts := start; !ts.After(start.Add(times[len(times)-1])); ts = ts.Add(evalInterval) {
		suite.WithSamplesTill(ts, func(err error) {
			if err != nil {
				t.Fatalf("appending samples till %s: %v", ts.Sub(start), err)
			}
			for _, g := range groups {
				g.Eval(suite.Context(), ts)
				for _, r := range g.Rules() {
					if r.LastError() != nil {
						t.Fatalf("rule %s at %s: %v", r.Name(), ts.Sub(start), r.LastError())
					}
				}
			}
		})
		// An eval_time between two evaluations sees the earlier one.
		for next < len(times) && times[next] < ts.Sub(start)+evalInterval {
			for _, tc := range byTime[times[next]] {
				compareAlerts(t, tc, firingAlerts(groups, tc.Alertname))
			}
			next++
		}
	}
}

func firingAlerts(groups []*rules.Group, name string) []string {
	var got []string
	for _, g := range groups {
		for _, r := range g.Rules() {
			ar, ok := r.(*rules.AlertingRule)
			if !ok || ar.Name() != name {
				continue
			}
			for _, a := range ar.ActiveAlerts() {
				if a.State == rules.StateFiring {
					got = append(got, alertString(a.Labels, a.Annotations))
				}
			}
		}
	}
	sort.Strings(got)
	return got
}

func compareAlerts(t *testing.T, tc alertTestCase, got []string) {
	t.Helper()
	var want []string
	for _, a := range tc.ExpAlerts {
		lbls := map[string]string{labels.AlertName: tc.Alertname}
		for k, v := range a.ExpLabels {
			lbls[k] = v
		}
		want = append(want, alertString(labels.FromMap(lbls), labels.FromMap(a.ExpAnnotations)))
	}
	sort.Strings(want)
	if !slices.Equal(want, got) {
		t.Errorf("alert %s at %s:\n  want %s\n  got  %s", tc.Alertname, tc.EvalTime,
			strings.Join(want, "\n       "), strings.Join(got, "\n       "))
	}
}

func alertString(lbls, annotations labels.Labels) string {
	return lbls.String() + " " + annotations.String()
}

// TestRuleFilesUpToDate keeps testdata/rules/generated (what promtool would read, and what a
// reviewer reads) equal to RuleGroupsYAML(Rules()); go test -update rewrites it.
func TestRuleFilesUpToDate(t *testing.T) {
	for set, opts := range ruleSets {
		got, err := RuleGroupsYAML(Rules(opts))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "rules", set)
		if *updateGolden {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update writes it)", err)
		}
		if !bytes.Equal(want, got) {
			t.Errorf("%s differs from RuleGroupsYAML(Rules()); run go test -update and review the diff", path)
		}
	}
}

// TestRulesByOptions: each part of the stack brings its alerts and only its alerts.
func TestRulesByOptions(t *testing.T) {
	always := []string{"LokiPushErrors", "LokiQueryErrors", "LokiRequestLatencyHigh", "LokiRequestsRefusedByLimits",
		"ObsStackPodPending", "ObsStackPodCrashLooping", "ObsStackPVCFillingUp", "LokiGatewayDown",
		"AlloyLokiWriteFailures", "AlloyLokiWriteDroppedEntries"}
	cases := []struct {
		name  string
		opts  Options
		extra []string
		rings string // the ring matcher of LokiRingMembersUnhealthy, "" for no such alert
	}{
		{"dev", ruleSets["generated/dev.yaml"], []string{"LokiRingMembersUnhealthy", "LokiRingMembersMissing"},
			`name=~"compactor|distributor|ingester|ruler|scheduler"`},
		{"prod", ruleSets["generated/prod.yaml"], []string{"LokiRingMembersUnhealthy", "LokiRingMembersMissing", "KafkaUnderReplicatedPartitions",
			"KafkaAlloyConsumerLag", "MemcachedEvictions", "LokiCanaryMissingEntries"},
			`name=~"compactor|distributor|ingester|ruler"`},
		{"simple scalable, Kafka without Alloy consuming it", Options{Namespace: "s", Mode: "SimpleScalable",
			LokiTargets: []string{"read", "write", "backend"}, LokiRings: testRings, Kafka: true},
			[]string{"LokiRingMembersUnhealthy", "KafkaUnderReplicatedPartitions"},
			`name=~"compactor|distributor|ingester|ruler"`},
		{"no Loki targets known", Options{Namespace: "n"}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := append(slices.Clone(always), c.extra...)
			got := alertNames(c.opts)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(want, got) {
				t.Errorf("alerts\n  got  %v\n  want %v", got, want)
			}
			for _, g := range Rules(c.opts).Groups {
				for _, r := range g.Rules {
					if r.Alert == "LokiRingMembersUnhealthy" && !strings.Contains(r.Expr.String(), c.rings) {
						t.Errorf("ring alert %q does not select %s", r.Expr.String(), c.rings)
					}
				}
			}
		})
	}
}

// TestRulesSelectOnlyTheirNamespace: every selector of every expression carries
// namespace="<o.Namespace>", so two stacks in one Prometheus never alert on each other.
func TestRulesSelectOnlyTheirNamespace(t *testing.T) {
	for set, opts := range ruleSets {
		for _, g := range Rules(opts).Groups {
			for _, r := range g.Rules {
				node, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr.String())
				if err != nil {
					t.Fatalf("%s: %s: %v", set, r.Alert, err)
				}
				parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
					vs, ok := n.(*parser.VectorSelector)
					if !ok {
						return nil
					}
					if !slices.ContainsFunc(vs.LabelMatchers, func(m *labels.Matcher) bool {
						return m.Name == "namespace" && m.Type == labels.MatchEqual && m.Value == opts.Namespace
					}) {
						t.Errorf("%s: %s selects %s without namespace=%q", set, r.Alert, vs, opts.Namespace)
					}
					return nil
				})
			}
		}
	}
}

// TestAlertsAreDocumented: every alert says how bad it is, what happened and where its
// runbook section is, and docs/runbooks.md has that section.
func TestAlertsAreDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\S+)\s*$`).FindAllStringSubmatch(string(raw), -1) {
		headings[strings.ToLower(m[1])] = true
	}
	for set, opts := range ruleSets {
		for _, g := range Rules(opts).Groups {
			for _, r := range g.Rules {
				if s := r.Labels["severity"]; s != "critical" && s != "warning" {
					t.Errorf("%s: %s has severity %q, want critical or warning", set, r.Alert, s)
				}
				for _, key := range []string{"summary", "description"} {
					if r.Annotations[key] == "" {
						t.Errorf("%s: %s has no %s annotation", set, r.Alert, key)
					}
				}
				if r.For == nil || *r.For == "" {
					t.Errorf("%s: %s has no for:", set, r.Alert)
				}
				anchor := strings.ToLower(r.Alert)
				if want := opts.RunbookBaseURL + "#" + anchor; r.Annotations["runbook_url"] != want {
					t.Errorf("%s: %s has runbook_url %q, want %q", set, r.Alert, r.Annotations["runbook_url"], want)
				}
				if !headings[anchor] {
					t.Errorf("docs/runbooks.md has no section \"## %s\"", r.Alert)
				}
			}
		}
	}
}
