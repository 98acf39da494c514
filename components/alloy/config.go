package alloy

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/grafana/alloy/syntax/token"
	"github.com/grafana/alloy/syntax/token/builder"
)

// Pod log sources (obs-stack:alloy.podLogSource).
const (
	SourceAPI  = "api"  // loki.source.kubernetes: tails through the API server, no host mounts
	SourceFile = "file" // local.file_match + loki.source.file on the node's /var/log/pods
)

// Environment variables the config reads; the DaemonSet sets them.
const (
	envNodeName = "HOSTNAME"      // the node's name (downward API), as the Alloy Helm chart sets it
	envUsername = "LOKI_USERNAME" // basic auth username, from the credentials Secret
	envPassword = "LOKI_PASSWORD" // basic auth password, from the credentials Secret
)

// podLogsDir is where the kubelet writes container logs: /var/log/pods/<ns>_<pod>_<uid>/<container>/N.log.
const podLogsDir = "/var/log/pods"

// ConfigInput are the plain values the Alloy config is built from.
type ConfigInput struct {
	// PushURL is the gateway's Loki push URL. Required.
	PushURL string
	// TenantID is sent as X-Scope-OrgID; empty while Loki auth is off (every write lands in "fake").
	TenantID string
	// BasicAuth sends the username and password read from the environment.
	BasicAuth bool
	// PodLogs collects the logs of the pods on Alloy's own node.
	PodLogs bool
	// PodLogSource is SourceAPI or SourceFile; used when PodLogs is set.
	PodLogSource string
	// KafkaBrokers are host:port addresses; empty means no Kafka source.
	KafkaBrokers []string
	// KafkaTopics to consume; required with KafkaBrokers.
	KafkaTopics []string
	// KafkaGroupID is the consumer group all Alloy pods share, so partitions are split between them.
	KafkaGroupID string
}

func (in ConfigInput) check() error {
	var errs []error
	if in.PushURL == "" {
		errs = append(errs, errors.New("alloy config: the Loki push URL is empty"))
	}
	if in.PodLogs && in.PodLogSource != SourceAPI && in.PodLogSource != SourceFile {
		errs = append(errs, fmt.Errorf("alloy config: pod log source %q is neither %q nor %q", in.PodLogSource, SourceAPI, SourceFile))
	}
	if (len(in.KafkaBrokers) == 0) != (len(in.KafkaTopics) == 0) {
		errs = append(errs, fmt.Errorf("alloy config: Kafka needs both brokers and topics, got brokers %q and topics %q", in.KafkaBrokers, in.KafkaTopics))
	}
	return errors.Join(errs...)
}

// BuildConfig renders the Alloy config: pod logs and Kafka topics, relabelled, written to Loki.
// Secrets never enter it: credentials are sys.env references.
func BuildConfig(in ConfigInput) (string, error) {
	if err := in.check(); err != nil {
		return "", err
	}
	f := builder.NewFile()
	root := f.Body()
	root.AppendTokens([]builder.Token{{Tok: token.COMMENT, Lit: "// Rendered by obs-stack (components/alloy); edit the Pulumi program, not this file."}})

	if in.PodLogs {
		podLogs(root, in.PodLogSource)
	}
	if len(in.KafkaBrokers) > 0 {
		kafka(root, in)
	}

	endpoint := block(block(root, "loki.write", "default"), "endpoint", "")
	endpoint.SetAttributeValue("url", in.PushURL)
	if in.TenantID != "" {
		endpoint.SetAttributeValue("tenant_id", in.TenantID)
	}
	if in.BasicAuth {
		auth := block(endpoint, "basic_auth", "")
		auth.SetAttributeTokens("username", env(envUsername))
		auth.SetAttributeTokens("password", env(envPassword))
	}

	var out bytes.Buffer
	if _, err := f.WriteTo(&out); err != nil { // formats by parsing: a malformed config fails here
		return "", fmt.Errorf("formatting the Alloy config: %w", err)
	}
	return out.String(), nil
}

// podLogs discovers the pods of Alloy's own node (Alloy is a DaemonSet), labels them and
// tails their containers.
func podLogs(root *builder.Body, source string) {
	discovery := block(root, "discovery.kubernetes", "pods")
	discovery.SetAttributeValue("role", "pod")
	selectors := block(discovery, "selectors", "")
	selectors.SetAttributeValue("role", "pod")
	// Without this field selector every Alloy pod would watch, and tail, every pod in the cluster.
	selectors.SetAttributeTokens("field", concat(literal("spec.nodeName="), []builder.Token{{Tok: token.ADD}}, env(envNodeName)))

	relabel := block(root, "discovery.relabel", "pods")
	relabel.SetAttributeTokens("targets", ref("discovery.kubernetes.pods.targets"))
	rule := func(target string, sources ...string) *builder.Body {
		r := block(relabel, "rule", "")
		r.SetAttributeValue("source_labels", sources)
		r.SetAttributeValue("target_label", target)
		return r
	}
	rule("namespace", "__meta_kubernetes_namespace")
	rule("pod", "__meta_kubernetes_pod_name")
	rule("container", "__meta_kubernetes_pod_container_name")
	rule("app", "__meta_kubernetes_pod_label_app_kubernetes_io_name")
	rule("job", "__meta_kubernetes_namespace", "__meta_kubernetes_pod_container_name").SetAttributeValue("separator", "/")

	toProcess := list(ref("loki.process.pods.receiver"))
	switch source {
	case SourceAPI:
		k8s := block(root, "loki.source.kubernetes", "pods")
		k8s.SetAttributeTokens("targets", ref("discovery.relabel.pods.output"))
		k8s.SetAttributeTokens("forward_to", toProcess)
	case SourceFile:
		// The kubelet's directory is <namespace>_<pod>_<uid>, so the uid pins the pod.
		path := rule("__path__", "__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name")
		path.SetAttributeValue("separator", "/")
		path.SetAttributeValue("replacement", podLogsDir+"/*$1/*.log")

		match := block(root, "local.file_match", "pods")
		match.SetAttributeTokens("path_targets", ref("discovery.relabel.pods.output"))
		file := block(root, "loki.source.file", "pods")
		file.SetAttributeTokens("targets", ref("local.file_match.pods.targets"))
		file.SetAttributeTokens("forward_to", toProcess)
	}

	process := block(root, "loki.process", "pods")
	process.SetAttributeTokens("forward_to", list(ref("loki.write.default.receiver")))
	if source == SourceFile {
		// Files hold the runtime's CRI lines (time stream flags message); the API returns bare lines.
		block(process, "stage.cri", "")
	}
}

// kafka consumes the topics; the loki.relabel rules keep topic and partition, which the
// source would otherwise drop with every other __meta label.
func kafka(root *builder.Body, in ConfigInput) {
	source := block(root, "loki.source.kafka", "kafka")
	source.SetAttributeValue("brokers", in.KafkaBrokers)
	source.SetAttributeValue("topics", in.KafkaTopics)
	if in.KafkaGroupID != "" {
		source.SetAttributeValue("group_id", in.KafkaGroupID)
	}
	// Keep the producer's timestamps: a backlog read late keeps the time it was logged.
	source.SetAttributeValue("use_incoming_timestamp", true)
	source.SetAttributeTokens("relabel_rules", ref("loki.relabel.kafka.rules"))
	source.SetAttributeTokens("forward_to", list(ref("loki.write.default.receiver")))

	// Only its rules are used; forward_to is required, and matches where the source writes.
	relabel := block(root, "loki.relabel", "kafka")
	relabel.SetAttributeTokens("forward_to", list(ref("loki.write.default.receiver")))
	for _, r := range [][2]string{{"__meta_kafka_topic", "topic"}, {"__meta_kafka_partition", "partition"}} {
		rule := block(relabel, "rule", "")
		rule.SetAttributeValue("source_labels", []string{r[0]})
		rule.SetAttributeValue("target_label", r[1])
	}
}

// block appends a block named like "loki.write" (dots split the name) and returns its body.
func block(parent *builder.Body, name, label string) *builder.Body {
	b := builder.NewBlock(strings.Split(name, "."), label)
	parent.AppendBlock(b)
	return b.Body()
}

// ref is a reference to another component's export, e.g. loki.write.default.receiver.
func ref(path string) []builder.Token {
	var toks []builder.Token
	for i, part := range strings.Split(path, ".") {
		if i > 0 {
			toks = append(toks, builder.Token{Tok: token.DOT})
		}
		toks = append(toks, builder.Token{Tok: token.IDENT, Lit: part})
	}
	return toks
}

// list is an array of expressions, e.g. [loki.write.default.receiver].
func list(items ...[]builder.Token) []builder.Token {
	toks := []builder.Token{{Tok: token.LBRACK}}
	for i, item := range items {
		if i > 0 {
			toks = append(toks, builder.Token{Tok: token.COMMA})
		}
		toks = append(toks, item...)
	}
	return append(toks, builder.Token{Tok: token.RBRACK})
}

// env reads an environment variable at Alloy's start: sys.env("NAME").
func env(name string) []builder.Token {
	return concat(ref("sys.env"), []builder.Token{{Tok: token.LPAREN}}, literal(name), []builder.Token{{Tok: token.RPAREN}})
}

// literal is a Go value encoded as an Alloy literal.
func literal(v any) []builder.Token {
	e := builder.NewExpr()
	e.SetValue(v)
	return e.Tokens()
}

func concat(parts ...[]builder.Token) []builder.Token {
	var toks []builder.Token
	for _, p := range parts {
		toks = append(toks, p...)
	}
	return toks
}
