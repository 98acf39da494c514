package alloy

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/grafana/alloy/syntax/ast"
	"github.com/grafana/alloy/syntax/parser"
	"github.com/grafana/alloy/syntax/printer"
	"github.com/grafana/alloy/syntax/token"

	"obs-stack/internal/golden"
	"obs-stack/stacks"
)

// knownArguments lists, per block ("component > block > block" as the Alloy v1.18 reference
// writes it), the argument and block names the reference documents. The parsed config may
// use nothing else: Alloy refuses unknown names at start-up. Only the components and blocks
// this package emits are listed.
var knownArguments = map[string][]string{
	"discovery.kubernetes": {"role", "api_server", "bearer_token_file", "bearer_token", "enable_http2", "follow_redirects",
		"http_headers", "kubeconfig_file", "no_proxy", "proxy_connect_header", "proxy_from_environment", "proxy_url",
		"attach_metadata", "authorization", "basic_auth", "namespaces", "oauth2", "selectors", "tls_config"},
	"discovery.kubernetes > selectors": {"role", "field", "label"},
	"discovery.relabel":                {"targets", "rule"},
	"discovery.relabel > rule":         {"action", "modulus", "regex", "replacement", "separator", "source_labels", "target_label"},
	"loki.source.kubernetes":           {"forward_to", "targets", "client", "clustering"},
	"local.file_match":                 {"path_targets", "ignore_older_than", "sync_period"},
	"loki.source.file": {"forward_to", "targets", "encoding", "legacy_positions_file", "on_positions_file_error", "tail_from_end",
		"decompression", "file_match", "file_watch"},
	"loki.process": {"forward_to", "stage.cri", "stage.decolorize", "stage.docker", "stage.drop", "stage.eventlogmessage",
		"stage.geoip", "stage.json", "stage.label_drop", "stage.label_keep", "stage.labels", "stage.limit", "stage.logfmt",
		"stage.luhn", "stage.match", "stage.metrics", "stage.multiline", "stage.output", "stage.pack", "stage.pattern",
		"stage.regex", "stage.replace", "stage.sampling", "stage.static_labels", "stage.structured_metadata",
		"stage.structured_metadata_drop", "stage.template", "stage.tenant", "stage.timestamp", "stage.truncate",
		"stage.windowsevent"},
	"loki.process > stage.cri": {"max_partial_line_size_truncate", "max_partial_line_size", "max_partial_lines"},
	"loki.source.kafka": {"brokers", "forward_to", "topics", "assignor", "group_id", "labels", "relabel_rules",
		"use_incoming_timestamp", "version", "authentication"},
	"loki.relabel":        {"forward_to", "max_cache_size", "rule"},
	"loki.relabel > rule": {"action", "modulus", "regex", "replacement", "separator", "source_labels", "target_label"},
	"loki.write":          {"external_labels", "max_streams", "endpoint", "wal"},
	"loki.write > endpoint": {"url", "batch_size", "batch_wait", "bearer_token_file", "bearer_token", "enable_http2",
		"follow_redirects", "http_headers", "headers", "max_backoff_period", "max_backoff_retries", "min_backoff_period",
		"name", "no_proxy", "proxy_connect_header", "proxy_from_environment", "proxy_url", "remote_timeout",
		"retry_on_http_429", "tenant_id", "authorization", "basic_auth", "oauth2", "queue_config", "tls_config"},
	"loki.write > endpoint > basic_auth": {"password_file", "password", "username"},
}

// requiredArguments are the arguments the reference marks required; Alloy refuses a block without them.
var requiredArguments = map[string][]string{
	"discovery.kubernetes":             {"role"},
	"discovery.kubernetes > selectors": {"role"},
	"discovery.relabel":                {"targets"},
	"loki.source.kubernetes":           {"forward_to", "targets"},
	"local.file_match":                 {"path_targets"},
	"loki.source.file":                 {"forward_to", "targets"},
	"loki.process":                     {"forward_to"},
	"loki.source.kafka":                {"brokers", "forward_to", "topics"},
	"loki.relabel":                     {"forward_to"},
	"loki.write > endpoint":            {"url"},
}

// knownExports are the fields each component exports (reference "Exported fields"); a
// reference such as loki.process.pods.receiver must name a declared component and one of these.
var knownExports = map[string][]string{
	"discovery.kubernetes": {"targets"},
	"discovery.relabel":    {"output", "rules"},
	"local.file_match":     {"targets"},
	"loki.process":         {"receiver"},
	"loki.relabel":         {"receiver", "rules"},
	"loki.write":           {"receiver"},
}

// knownFunctions are the standard-library functions the config may call.
var knownFunctions = []string{"sys.env"}

const testPushURL = "http://loki-gateway.observability.svc.cluster.local/loki/api/v1/push"

// presetInput is the ConfigInput New builds for a preset, with the brokers the Kafka
// component would pass (one per broker pod) and the preset's topics.
func presetInput(s stacks.Spec) ConfigInput {
	in := testArgs(s).configInput()
	in.PushURL, in.KafkaTopics, in.KafkaBrokers = testPushURL, nil, nil
	for i := range s.Kafka.Replicas {
		in.KafkaBrokers = append(in.KafkaBrokers, fmt.Sprintf("kafka-%d.kafka-headless.observability.svc.cluster.local:9092", i))
	}
	for _, t := range s.Kafka.Topics {
		in.KafkaTopics = append(in.KafkaTopics, t.Name)
	}
	return in
}

// tenantsInput is prod with two tenants: team-a claims two namespaces and a topic whose name
// holds a regex metacharacter, team-b a namespace and a topic; "logs" stays unclaimed.
func tenantsInput() ConfigInput {
	in := presetInput(stacks.Prod())
	in.KafkaTopics = []string{"logs", "audit.v1", "billing"}
	in.Tenants = []TenantRoute{
		{Name: "team-a", Namespaces: []string{"team-a", "team-a-jobs"}, Topics: []string{"audit.v1"}},
		{Name: "team-b", Namespaces: []string{"team-b"}, Topics: []string{"billing"}},
	}
	return in
}

// configCases are the configs every structural test covers; dev, prod, prod-file-source and
// tenants are golden.
func configCases() map[string]ConfigInput {
	dev, prod := presetInput(stacks.Dev()), presetInput(stacks.Prod())
	fileSource := prod
	fileSource.PodLogSource = SourceFile
	kafkaOnly := dev
	kafkaOnly.PodLogs = false
	podLogsOnly := prod
	podLogsOnly.KafkaBrokers, podLogsOnly.KafkaTopics = nil, nil
	tenants := tenantsInput()
	tenantsFileSource := tenants
	tenantsFileSource.PodLogSource = SourceFile
	// Only namespaces claimed: the Kafka path keeps writing to the default writer directly.
	tenantsNoTopics := tenants
	tenantsNoTopics.Tenants = []TenantRoute{{Name: "team-a", Namespaces: []string{"team-a"}}}
	return map[string]ConfigInput{
		"dev": dev, "prod": prod, "prod-file-source": fileSource,
		"kafka-only": kafkaOnly, "pod-logs-only": podLogsOnly,
		"tenants": tenants, "tenants-file-source": tenantsFileSource, "tenants-no-topics": tenantsNoTopics,
	}
}

func mustBuild(t *testing.T, in ConfigInput) string {
	t.Helper()
	text, err := BuildConfig(in)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func mustParse(t *testing.T, text string) *ast.File {
	t.Helper()
	f, err := parser.ParseFile("config.alloy", []byte(text))
	if err != nil {
		t.Fatalf("the rendered config does not parse: %v\n%s", err, text)
	}
	return f
}

func TestConfigGolden(t *testing.T) {
	cases := configCases()
	for _, name := range []string{"dev", "prod", "prod-file-source", "tenants"} {
		t.Run(name, func(t *testing.T) {
			golden.Check(t, "config-"+name+".alloy", mustBuild(t, cases[name]))
		})
	}
}

// TestConfigUsesOnlyKnownNames parses every config back and checks each block, argument and
// reference against the tables above, so a misspelt name fails here instead of in the cluster.
func TestConfigUsesOnlyKnownNames(t *testing.T) {
	for name, in := range configCases() {
		t.Run(name, func(t *testing.T) {
			f := mustParse(t, mustBuild(t, in))
			declared := map[string]bool{}
			for _, stmt := range f.Body {
				b, ok := stmt.(*ast.BlockStmt)
				if !ok {
					t.Errorf("top-level attribute %v: the config holds only components", stmt)
					continue
				}
				component := b.GetBlockName()
				if b.Label == "" {
					t.Errorf("%s has no label", component)
				}
				if declared[component+"."+b.Label] {
					t.Errorf("%s %q declared twice", component, b.Label)
				}
				declared[component+"."+b.Label] = true
				checkBlock(t, component, b.Body)
			}
			refs := map[string]bool{}
			for _, stmt := range f.Body {
				b := stmt.(*ast.BlockStmt)
				for _, export := range knownExports[b.GetBlockName()] {
					refs[b.GetBlockName()+"."+b.Label+"."+export] = true
				}
			}
			ast.Walk(&refChecker{t: t, refs: refs}, f)
		})
	}
}

// checkBlock checks a block's names against knownArguments and requiredArguments, recursively.
func checkBlock(t *testing.T, path string, body ast.Body) {
	t.Helper()
	known, ok := knownArguments[path]
	if !ok {
		t.Errorf("block %s is not in knownArguments (check the Alloy reference and add it)", path)
		return
	}
	set := map[string]bool{}
	for _, stmt := range body {
		var name string
		switch s := stmt.(type) {
		case *ast.AttributeStmt:
			name = s.Name.Name
			if set[name] {
				t.Errorf("%s: %s set twice", path, name)
			}
		case *ast.BlockStmt:
			name = s.GetBlockName()
			checkBlock(t, path+" > "+name, s.Body)
		}
		set[name] = true
		if !slices.Contains(known, name) {
			t.Errorf("%s: unknown argument or block %q", path, name)
		}
	}
	for _, req := range requiredArguments[path] {
		if !set[req] {
			t.Errorf("%s: required argument %q missing", path, req)
		}
	}
}

// refChecker fails on references to undeclared components or exports, and unknown functions.
type refChecker struct {
	t    *testing.T
	refs map[string]bool
}

func (c *refChecker) Visit(node ast.Node) ast.Visitor {
	switch n := node.(type) {
	case *ast.CallExpr:
		if fn := dotted(n.Value); !slices.Contains(knownFunctions, fn) {
			c.t.Errorf("call of unknown function %s", fn)
		}
		for _, arg := range n.Args {
			ast.Walk(c, arg)
		}
		return nil
	case *ast.AccessExpr, *ast.IdentifierExpr:
		if ref := dotted(n.(ast.Expr)); !c.refs[ref] {
			c.t.Errorf("reference %s names no declared component export", ref)
		}
		return nil
	}
	return c
}

// dotted spells an identifier or field access chain, e.g. loki.write.default.receiver.
func dotted(e ast.Expr) string {
	switch n := e.(type) {
	case *ast.IdentifierExpr:
		return n.Ident.Name
	case *ast.AccessExpr:
		return dotted(n.Value) + "." + n.Name.Name
	}
	return fmt.Sprintf("<%T>", e)
}

// blocks returns the top-level blocks of a component type, by label.
func blocks(f *ast.File, component string) map[string]*ast.BlockStmt {
	out := map[string]*ast.BlockStmt{}
	for _, stmt := range f.Body {
		if b, ok := stmt.(*ast.BlockStmt); ok && b.GetBlockName() == component {
			out[b.Label] = b
		}
	}
	return out
}

// attr prints an attribute's expression, or "" when the body does not set it.
func attr(t *testing.T, body ast.Body, path ...string) string {
	t.Helper()
	for _, stmt := range body {
		switch s := stmt.(type) {
		case *ast.AttributeStmt:
			if len(path) == 1 && s.Name.Name == path[0] {
				var buf bytes.Buffer
				if err := printer.Fprint(&buf, s.Value); err != nil {
					t.Fatal(err)
				}
				return buf.String()
			}
		case *ast.BlockStmt:
			if len(path) > 1 && s.GetBlockName() == path[0] {
				return attr(t, s.Body, path[1:]...)
			}
		}
	}
	return ""
}

func hasBlock(body ast.Body, name string) bool {
	for _, stmt := range body {
		if b, ok := stmt.(*ast.BlockStmt); ok && b.GetBlockName() == name {
			return true
		}
	}
	return false
}

// TestConfigFacts checks what the configs must say, independently of the golden bytes.
func TestConfigFacts(t *testing.T) {
	cases := configCases()
	parse := func(name string) *ast.File { return mustParse(t, mustBuild(t, cases[name])) }

	dev := parse("dev")
	devWrite := blocks(dev, "loki.write")["default"]
	if got := attr(t, devWrite.Body, "endpoint", "url"); got != `"`+testPushURL+`"` {
		t.Errorf("dev url = %s", got)
	}
	if got := attr(t, devWrite.Body, "endpoint", "tenant_id"); got != "" {
		t.Errorf("auth off: no tenant_id (Loki writes to fake), got %s", got)
	}
	if got := attr(t, devWrite.Body, "endpoint", "basic_auth", "password"); got != "" {
		t.Errorf("auth off: no basic_auth, got password %s", got)
	}
	if got := attr(t, blocks(dev, "discovery.kubernetes")["pods"].Body, "selectors", "field"); got != `"spec.nodeName=" + sys.env("HOSTNAME")` {
		t.Errorf("discovery must be limited to the own node, field = %s", got)
	}
	if blocks(dev, "loki.source.kubernetes")["pods"] == nil || len(blocks(dev, "local.file_match")) != 0 {
		t.Error("api source: loki.source.kubernetes and no file matching")
	}
	kafka := blocks(dev, "loki.source.kafka")["kafka"]
	if kafka == nil {
		t.Fatal("dev consumes Kafka")
	}
	for arg, want := range map[string]string{
		"topics": `["logs"]`, "group_id": `"alloy"`, "use_incoming_timestamp": "true",
		"relabel_rules": "loki.relabel.kafka.rules", "forward_to": "[loki.write.default.receiver]",
		"brokers": `["kafka-0.kafka-headless.observability.svc.cluster.local:9092"]`,
	} {
		if got := attr(t, kafka.Body, arg); got != want {
			t.Errorf("loki.source.kafka %s = %s, want %s", arg, got, want)
		}
	}
	relabeled := map[string]string{}
	for _, stmt := range blocks(dev, "loki.relabel")["kafka"].Body {
		if b, ok := stmt.(*ast.BlockStmt); ok {
			relabeled[attr(t, b.Body, "target_label")] = attr(t, b.Body, "source_labels")
		}
	}
	if relabeled[`"topic"`] != `["__meta_kafka_topic"]` || relabeled[`"partition"`] != `["__meta_kafka_partition"]` {
		t.Errorf("kafka relabel rules = %v", relabeled)
	}

	prodWrite := blocks(parse("prod"), "loki.write")["default"]
	if got := attr(t, prodWrite.Body, "endpoint", "tenant_id"); got != `"default"` {
		t.Errorf("prod tenant_id = %s", got)
	}
	for arg, env := range map[string]string{"username": envUsername, "password": envPassword} {
		if got := attr(t, prodWrite.Body, "endpoint", "basic_auth", arg); got != `sys.env("`+env+`")` {
			t.Errorf("prod basic_auth %s = %s: credentials come from the environment", arg, got)
		}
	}

	file := parse("prod-file-source")
	if blocks(file, "loki.source.kubernetes")["pods"] != nil || blocks(file, "loki.source.file")["pods"] == nil {
		t.Error("file source: loki.source.file instead of loki.source.kubernetes")
	}
	if !hasBlock(blocks(file, "loki.process")["pods"].Body, "stage.cri") {
		t.Error("file source: CRI lines need stage.cri")
	}
	if hasBlock(blocks(dev, "loki.process")["pods"].Body, "stage.cri") {
		t.Error("api source returns bare lines: no stage.cri")
	}

	if len(blocks(parse("pod-logs-only"), "loki.source.kafka")) != 0 {
		t.Error("no brokers: no Kafka source")
	}
	kafkaOnly := parse("kafka-only")
	if len(blocks(kafkaOnly, "discovery.kubernetes"))+len(blocks(kafkaOnly, "loki.source.kubernetes")) != 0 {
		t.Error("podLogs off: no pod discovery or tailing")
	}
}

// TestNoSecretInConfig: every credential argument in the config is a sys.env call, never a literal.
func TestNoSecretInConfig(t *testing.T) {
	for name, in := range configCases() {
		ast.Walk(visitFunc(func(n ast.Node) {
			a, ok := n.(*ast.AttributeStmt)
			if !ok || !slices.Contains([]string{"username", "password", "bearer_token"}, a.Name.Name) {
				return
			}
			if call, ok := a.Value.(*ast.CallExpr); !ok || dotted(call.Value) != "sys.env" {
				t.Errorf("%s: %s must come from sys.env, not the ConfigMap", name, a.Name.Name)
			}
		}), mustParse(t, mustBuild(t, in)))
	}
}

type visitFunc func(ast.Node)

func (f visitFunc) Visit(n ast.Node) ast.Visitor {
	if n != nil {
		f(n)
	}
	return f
}

func TestBuildConfigRejectsIncompleteInput(t *testing.T) {
	good := presetInput(stacks.Dev())
	for name, mutate := range map[string]func(*ConfigInput){
		"no push URL":           func(in *ConfigInput) { in.PushURL = "" },
		"unknown source":        func(in *ConfigInput) { in.PodLogSource = "journal" },
		"brokers without topic": func(in *ConfigInput) { in.KafkaTopics = nil },
		"topics without broker": func(in *ConfigInput) { in.KafkaBrokers = nil },
	} {
		in := good
		mutate(&in)
		if _, err := BuildConfig(in); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

// TestBuildConfigRejectsAmbiguousTenants fails if check() stops refusing a namespace or topic
// claimed by two tenants (its entries would reach two writers), a topic Alloy does not consume
// (its tenant would silently get nothing), or tenants without basic auth (the gateway could
// not tell them apart).
func TestBuildConfigRejectsAmbiguousTenants(t *testing.T) {
	if _, err := BuildConfig(tenantsInput()); err != nil {
		t.Fatalf("the two-tenant input is valid: %v", err)
	}
	for name, mutate := range map[string]func(*ConfigInput){
		"namespace claimed twice": func(in *ConfigInput) { in.Tenants[1].Namespaces = []string{"team-b", "team-a"} },
		"topic claimed twice":     func(in *ConfigInput) { in.Tenants[1].Topics = []string{"audit.v1"} },
		"topic not consumed":      func(in *ConfigInput) { in.Tenants[1].Topics = []string{"payments"} },
		"empty namespace":         func(in *ConfigInput) { in.Tenants[0].Namespaces = []string{""} },
		"tenant listed twice":     func(in *ConfigInput) { in.Tenants[1].Name = "team-a" },
		"tenant without name":     func(in *ConfigInput) { in.Tenants[1].Name = "" },
		"tenants without auth":    func(in *ConfigInput) { in.BasicAuth = false },
	} {
		in := tenantsInput()
		mutate(&in)
		if _, err := BuildConfig(in); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

// TestTenantsRouteEachEntryToOneWriter parses the two-tenant configs back and walks the
// component graph: an entry enters where the pipeline starts (the pod source's discovery
// labels, the Kafka message's __meta labels), goes through every relabel rule on its way and
// through every receiver in forward_to, and the test collects the loki.write components it
// reaches. Each entry must reach exactly one, the one of its tenant, with that tenant's id and
// credentials env. It fails if a route matches on the wrong label (e.g. namespace on the Kafka
// path, or a label the pod pipeline does not set), if a regex is unquoted ("audit.v1" would
// also take "auditXv1") or unanchored in spirit (".*"), if a writer is missing from a fan-out,
// or if the unclaimed relabel does not drop a claimed value (the entry would reach two writers).
func TestTenantsRouteEachEntryToOneWriter(t *testing.T) {
	type entry struct{ namespace, topic string } // one of the two is set
	// Written by hand: which writer, tenant id and credentials each entry must end at.
	want := map[entry]string{
		{namespace: "team-a"}:         "tenant_0",
		{namespace: "team-a-jobs"}:    "tenant_0",
		{namespace: "team-b"}:         "tenant_1",
		{namespace: "observability"}:  "default",
		{namespace: "team-a-staging"}: "default", // not a prefix match
		{namespace: "billing"}:        "default", // a claimed topic, not a claimed namespace
		{topic: "audit.v1"}:           "tenant_0",
		{topic: "billing"}:            "tenant_1",
		{topic: "logs"}:               "default",
		{topic: "auditXv1"}:           "default", // "." is literal
		{topic: "team-b"}:             "default", // a claimed namespace, not a claimed topic
	}
	writers := map[string][3]string{ // tenant_id, username env, password env
		"default":  {`"default"`, `sys.env("LOKI_USERNAME")`, `sys.env("LOKI_PASSWORD")`},
		"tenant_0": {`"team-a"`, `sys.env("LOKI_USERNAME_0")`, `sys.env("LOKI_PASSWORD_0")`},
		"tenant_1": {`"team-b"`, `sys.env("LOKI_USERNAME_1")`, `sys.env("LOKI_PASSWORD_1")`},
	}
	for _, name := range []string{"tenants", "tenants-file-source"} {
		t.Run(name, func(t *testing.T) {
			f := mustParse(t, mustBuild(t, configCases()[name]))
			g := graph{}
			for _, stmt := range f.Body {
				b := stmt.(*ast.BlockStmt)
				g[b.GetBlockName()+"."+b.Label] = b
			}
			writes := blocks(f, "loki.write")
			if len(writes) != len(writers) {
				t.Errorf("loki.write components %v, want %v", slices.Sorted(maps.Keys(writes)), slices.Sorted(maps.Keys(writers)))
			}
			for label, w := range writers {
				b := writes[label]
				if b == nil {
					t.Errorf("no loki.write %q", label)
					continue
				}
				got := [3]string{attr(t, b.Body, "endpoint", "tenant_id"), attr(t, b.Body, "endpoint", "basic_auth", "username"), attr(t, b.Body, "endpoint", "basic_auth", "password")}
				if got != w {
					t.Errorf("loki.write %q: tenant_id, username, password = %v, want %v", label, got, w)
				}
			}

			podSource := "loki.source.kubernetes.pods"
			if name == "tenants-file-source" {
				podSource = "loki.source.file.pods"
			}
			for e, writer := range want {
				var reached []string
				if e.namespace != "" {
					labels := map[string]string{
						"__meta_kubernetes_namespace": e.namespace, "__meta_kubernetes_pod_name": "p",
						"__meta_kubernetes_pod_container_name": "c", "__meta_kubernetes_pod_uid": "u",
					}
					if !g.relabel(t, g.rules(t, "discovery.relabel.pods"), labels) {
						t.Fatalf("discovery.relabel.pods drops the pod of %v", e)
					}
					reached = g.deliver(t, podSource, dropMeta(labels))
				} else {
					labels := map[string]string{"__meta_kafka_topic": e.topic, "__meta_kafka_partition": "0"}
					source := g["loki.source.kafka.kafka"]
					rules := strings.TrimSuffix(attr(t, source.Body, "relabel_rules"), ".rules")
					if !g.relabel(t, g.rules(t, rules), labels) {
						t.Fatalf("%s drops the message of %v", rules, e)
					}
					reached = g.deliver(t, "loki.source.kafka.kafka", dropMeta(labels))
				}
				if len(reached) != 1 || reached[0] != writer {
					t.Errorf("%+v reaches loki.write %v, want exactly [%s]", e, reached, writer)
				}
			}
		})
	}
}

// graph holds the config's components by "name.label", e.g. loki.relabel.tenant_0.
type graph map[string]*ast.BlockStmt

func (g graph) block(t *testing.T, component string) *ast.BlockStmt {
	t.Helper()
	b := g[component]
	if b == nil {
		t.Fatalf("no component %s", component)
	}
	return b
}

// rules are the rule blocks of a relabel component.
func (g graph) rules(t *testing.T, component string) []ast.Body {
	t.Helper()
	var rules []ast.Body
	for _, stmt := range g.block(t, component).Body {
		if b, ok := stmt.(*ast.BlockStmt); ok && b.GetBlockName() == "rule" {
			rules = append(rules, b.Body)
		}
	}
	return rules
}

// deliver passes an entry with labels to component and returns the loki.write labels it reaches.
func (g graph) deliver(t *testing.T, component string, labels map[string]string) []string {
	t.Helper()
	b := g.block(t, component)
	switch b.GetBlockName() {
	case "loki.write":
		return []string{b.Label}
	case "loki.relabel":
		if !g.relabel(t, g.rules(t, component), labels) {
			return nil
		}
	case "loki.process":
		for _, stmt := range b.Body {
			if s, ok := stmt.(*ast.BlockStmt); ok && s.GetBlockName() != "stage.cri" {
				t.Fatalf("%s: the walk does not model %s", component, s.GetBlockName())
			}
		}
	case "loki.source.kubernetes", "loki.source.file", "loki.source.kafka":
	default:
		t.Fatalf("the walk does not model %s", b.GetBlockName())
	}
	fwd, ok := attrExpr(b.Body, "forward_to").(*ast.ArrayExpr)
	if !ok {
		t.Fatalf("%s: forward_to is not a list", component)
	}
	var reached []string
	for _, r := range fwd.Elements {
		receiver := dotted(r)
		next, ok := strings.CutSuffix(receiver, ".receiver")
		if !ok {
			t.Fatalf("%s forwards to %s, not a receiver", component, receiver)
		}
		reached = append(reached, g.deliver(t, next, maps.Clone(labels))...) // each receiver gets its own copy
	}
	return reached
}

// relabel applies rules to labels as Alloy does (Prometheus relabeling: regex anchored at both
// ends, source values joined by separator); it returns false when the entry is dropped.
func (g graph) relabel(t *testing.T, rules []ast.Body, labels map[string]string) bool {
	t.Helper()
	for _, rule := range rules {
		action := stringAttr(t, rule, "action", "replace")
		var values []string
		if arr, ok := attrExpr(rule, "source_labels").(*ast.ArrayExpr); ok {
			for _, el := range arr.Elements {
				values = append(values, labels[stringLit(t, el)])
			}
		}
		value := strings.Join(values, stringAttr(t, rule, "separator", ";"))
		re := regexp.MustCompile("^(?:" + stringAttr(t, rule, "regex", "(.*)") + ")$")
		switch action {
		case "keep":
			if !re.MatchString(value) {
				return false
			}
		case "drop":
			if re.MatchString(value) {
				return false
			}
		case "replace":
			m := re.FindStringSubmatchIndex(value)
			target := stringAttr(t, rule, "target_label", "")
			if m == nil || target == "" {
				continue
			}
			if res := string(re.ExpandString(nil, stringAttr(t, rule, "replacement", "$1"), value, m)); res == "" {
				delete(labels, target)
			} else {
				labels[target] = res
			}
		default:
			t.Fatalf("the walk does not model action %q", action)
		}
	}
	return true
}

// dropMeta removes the labels a source drops before forwarding (those starting with "__").
func dropMeta(labels map[string]string) map[string]string {
	maps.DeleteFunc(labels, func(k, _ string) bool { return strings.HasPrefix(k, "__") })
	return labels
}

func attrExpr(body ast.Body, name string) ast.Expr {
	for _, stmt := range body {
		if a, ok := stmt.(*ast.AttributeStmt); ok && a.Name.Name == name {
			return a.Value
		}
	}
	return nil
}

func stringAttr(t *testing.T, body ast.Body, name, def string) string {
	t.Helper()
	e := attrExpr(body, name)
	if e == nil {
		return def
	}
	return stringLit(t, e)
}

func stringLit(t *testing.T, e ast.Expr) string {
	t.Helper()
	lit, ok := e.(*ast.LiteralExpr)
	if !ok || lit.Kind != token.STRING {
		t.Fatalf("%v is not a string literal", e)
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestNoTenantsNoRouting fails if the config grows a relabel for a path nobody claims, or
// routes without tenants: pod logs and Kafka then write straight to the default writer.
func TestNoTenantsNoRouting(t *testing.T) {
	for name, wantKafka := range map[string]string{"prod": "[loki.write.default.receiver]", "tenants-no-topics": "[loki.write.default.receiver]"} {
		f := mustParse(t, mustBuild(t, configCases()[name]))
		if got := attr(t, blocks(f, "loki.source.kafka")["kafka"].Body, "forward_to"); got != wantKafka {
			t.Errorf("%s: kafka forward_to = %s, want %s", name, got, wantKafka)
		}
	}
	f := mustParse(t, mustBuild(t, configCases()["tenants-no-topics"]))
	if got := attr(t, blocks(f, "loki.process")["pods"].Body, "forward_to"); got != "[loki.relabel.tenant_0.receiver, loki.relabel.unclaimed.receiver]" {
		t.Errorf("pod logs forward_to = %s", got)
	}
	if got := slices.Sorted(maps.Keys(blocks(f, "loki.relabel"))); !slices.Equal(got, []string{"kafka", "tenant_0", "unclaimed"}) {
		t.Errorf("loki.relabel components = %v", got)
	}
}
