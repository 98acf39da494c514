package alloy

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/grafana/alloy/syntax/ast"
	"github.com/grafana/alloy/syntax/parser"
	"github.com/grafana/alloy/syntax/printer"

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

// configCases are the configs every structural test covers; the first three are golden.
func configCases() map[string]ConfigInput {
	dev, prod := presetInput(stacks.Dev()), presetInput(stacks.Prod())
	fileSource := prod
	fileSource.PodLogSource = SourceFile
	kafkaOnly := dev
	kafkaOnly.PodLogs = false
	podLogsOnly := prod
	podLogsOnly.KafkaBrokers, podLogsOnly.KafkaTopics = nil, nil
	return map[string]ConfigInput{
		"dev": dev, "prod": prod, "prod-file-source": fileSource,
		"kafka-only": kafkaOnly, "pod-logs-only": podLogsOnly,
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
	for _, name := range []string{"dev", "prod", "prod-file-source"} {
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
