package alloy

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
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

// TenantEnv are the environment variables holding the credentials of the i-th tenant of
// ConfigInput.Tenants: LOKI_USERNAME_<i> and LOKI_PASSWORD_<i>. They are derived from the
// index, not the name: tenant ids may hold characters an env var name should not (-.*'()!),
// and sanitizing them could map two tenants (team-a, team_a) to one name. The index is stable
// for a given list, and the config and the DaemonSet derive both from the same list.
func TenantEnv(i int) (username, password string) {
	return envUsername + "_" + strconv.Itoa(i), envPassword + "_" + strconv.Itoa(i)
}

// tenantLabel is the label of the i-th tenant's loki.write (and of its pod-log loki.relabel):
// an Alloy identifier whatever the tenant id holds.
func tenantLabel(i int) string { return "tenant_" + strconv.Itoa(i) }

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
	// Tenants get the logs of their namespaces and the messages of their topics, each written
	// with its own credentials (see TenantEnv); everything else goes to TenantID. Needs BasicAuth.
	Tenants []TenantRoute
}

// TenantRoute is what one tenant claims.
type TenantRoute struct {
	// Name is the tenant id (a valid Loki tenant id, validated upstream).
	Name string
	// Namespaces whose pods' logs belong to the tenant; each claimed by one tenant at most.
	Namespaces []string
	// Topics of KafkaTopics whose messages belong to the tenant; each claimed by one tenant at most.
	Topics []string
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
	if len(in.Tenants) > 0 && !in.BasicAuth {
		errs = append(errs, errors.New("alloy config: tenants need basic auth (the gateway maps each user to its tenant)"))
	}
	names := map[string]bool{}
	namespaces, topics := map[string]string{}, map[string]string{}
	// claim refuses a value claimed twice: the entry would reach two writers.
	claim := func(claimed map[string]string, what, value, tenant string) {
		switch owner, ok := claimed[value]; {
		case value == "":
			errs = append(errs, fmt.Errorf("alloy config: tenant %q claims an empty %s", tenant, what))
		case ok:
			errs = append(errs, fmt.Errorf("alloy config: %s %q is claimed by tenants %q and %q", what, value, owner, tenant))
		default:
			claimed[value] = tenant
		}
	}
	for _, t := range in.Tenants {
		if t.Name == "" {
			errs = append(errs, errors.New("alloy config: a tenant has no name"))
		} else if names[t.Name] {
			errs = append(errs, fmt.Errorf("alloy config: tenant %q listed twice", t.Name))
		}
		names[t.Name] = true
		for _, ns := range t.Namespaces {
			claim(namespaces, "namespace", ns, t.Name)
		}
		for _, topic := range t.Topics {
			claim(topics, "topic", topic, t.Name)
			if topic != "" && !slices.Contains(in.KafkaTopics, topic) {
				errs = append(errs, fmt.Errorf("alloy config: tenant %q claims topic %q, which Alloy does not consume (topics %q)", t.Name, topic, in.KafkaTopics))
			}
		}
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
		podLogs(root, in.PodLogSource, tenantRoutes(in.Tenants, "", "namespace", func(t TenantRoute) []string { return t.Namespaces }))
	}
	if len(in.KafkaBrokers) > 0 {
		kafka(root, in, tenantRoutes(in.Tenants, "kafka_", "topic", func(t TenantRoute) []string { return t.Topics }))
	}

	write(root, "default", in.PushURL, in.TenantID, in.BasicAuth, envUsername, envPassword)
	for i, t := range in.Tenants {
		username, password := TenantEnv(i)
		write(root, tenantLabel(i), in.PushURL, t.Name, true, username, password)
	}

	var out bytes.Buffer
	if _, err := f.WriteTo(&out); err != nil { // formats by parsing: a malformed config fails here
		return "", fmt.Errorf("formatting the Alloy config: %w", err)
	}
	return out.String(), nil
}

// write declares a loki.write to the gateway.
func write(root *builder.Body, label, url, tenantID string, basicAuth bool, usernameEnv, passwordEnv string) {
	endpoint := block(block(root, "loki.write", label), "endpoint", "")
	endpoint.SetAttributeValue("url", url)
	if tenantID != "" {
		endpoint.SetAttributeValue("tenant_id", tenantID)
	}
	if basicAuth {
		auth := block(endpoint, "basic_auth", "")
		auth.SetAttributeTokens("username", env(usernameEnv))
		auth.SetAttributeTokens("password", env(passwordEnv))
	}
}

// Routing to tenants. The gateway authenticates each basic-auth user and pins X-Scope-OrgID
// to that user's tenant, replacing whatever header the client sent. So a tenant's entries must
// be pushed with that tenant's own credentials: one loki.write per tenant, its endpoint's
// basic_auth reading the tenant's env vars, its tenant_id the tenant's id (set for clarity;
// the gateway would pin it anyway). stage.tenant in loki.process would only set the header
// the gateway overwrites, and sends everything with the default credentials.
// https://grafana.com/docs/alloy/latest/reference/components/loki/loki.write/ (endpoint >
// basic_auth, endpoint tenant_id: "The tenant ID used by default to push logs").
//
// Each path (pod logs, Kafka) fans out to one loki.relabel per claiming tenant, whose rule
// keeps only the entries whose label (namespace, topic) matches the tenant's values, and to
// an "unclaimed" loki.relabel whose rule drops every claimed value; the values are claimed by
// one tenant at most (ConfigInput.check), so each entry passes exactly one relabel.
// https://grafana.com/docs/alloy/latest/reference/components/loki/loki.relabel/ (rule block:
// action "keep" drops the entries whose source_labels value does not match regex, "drop" the
// ones whose value does). Alloy anchors the regex at both ends, and each value is QuoteMeta'd,
// so "team-a" matches neither "team-ab" nor, for a topic "a.b", "aXb". Pod logs carry no topic
// label and Kafka messages no namespace label, so each path has its own relabels: one
// "unclaimed" for both would drop nothing of the other path but would need both rules.

// relabelRoute is one loki.relabel of a path: it keeps (or drops) the entries whose label
// matches regex and forwards the rest to the loki.write named writer.
type relabelRoute struct {
	relabel, action, label, regex, writer string
}

// tenantRoutes are a path's relabels: one per tenant claiming values of that path, then the
// unclaimed one. None when no tenant claims anything: the path writes to the default writer.
func tenantRoutes(tenants []TenantRoute, prefix, label string, claims func(TenantRoute) []string) []relabelRoute {
	var routes []relabelRoute
	var claimed []string
	for i, t := range tenants {
		values := claims(t)
		if len(values) == 0 {
			continue
		}
		claimed = append(claimed, values...)
		routes = append(routes, relabelRoute{relabel: prefix + tenantLabel(i), action: "keep", label: label, regex: alternatives(values), writer: tenantLabel(i)})
	}
	if len(claimed) == 0 {
		return nil
	}
	return append(routes, relabelRoute{relabel: prefix + "unclaimed", action: "drop", label: label, regex: alternatives(claimed), writer: "default"})
}

// alternatives is a regex matching exactly the values (Alloy anchors it).
func alternatives(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return strings.Join(quoted, "|")
}

// forwardTo is the receiver list of a path: its relabels, or the default writer without routes.
func forwardTo(routes []relabelRoute) []builder.Token {
	if len(routes) == 0 {
		return list(ref("loki.write.default.receiver"))
	}
	var receivers [][]builder.Token
	for _, r := range routes {
		receivers = append(receivers, ref("loki.relabel."+r.relabel+".receiver"))
	}
	return list(receivers...)
}

// appendRoutes declares a path's relabels.
func appendRoutes(root *builder.Body, routes []relabelRoute) {
	for _, r := range routes {
		relabel := block(root, "loki.relabel", r.relabel)
		relabel.SetAttributeTokens("forward_to", list(ref("loki.write."+r.writer+".receiver")))
		rule := block(relabel, "rule", "")
		rule.SetAttributeValue("action", r.action)
		rule.SetAttributeValue("source_labels", []string{r.label})
		rule.SetAttributeValue("regex", r.regex)
	}
}

// podLogs discovers the pods of Alloy's own node (Alloy is a DaemonSet), labels them and
// tails their containers; routes split them between the tenants.
func podLogs(root *builder.Body, source string, routes []relabelRoute) {
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
	process.SetAttributeTokens("forward_to", forwardTo(routes))
	if source == SourceFile {
		// Files hold the runtime's CRI lines (time stream flags message); the API returns bare lines.
		block(process, "stage.cri", "")
	}
	appendRoutes(root, routes)
}

// kafka consumes the topics; the loki.relabel rules keep topic and partition, which the
// source would otherwise drop with every other __meta label. The source applies them before
// forwarding, so routes split the messages on topic.
func kafka(root *builder.Body, in ConfigInput, routes []relabelRoute) {
	source := block(root, "loki.source.kafka", "kafka")
	source.SetAttributeValue("brokers", in.KafkaBrokers)
	source.SetAttributeValue("topics", in.KafkaTopics)
	if in.KafkaGroupID != "" {
		source.SetAttributeValue("group_id", in.KafkaGroupID)
	}
	// Keep the producer's timestamps: a backlog read late keeps the time it was logged.
	source.SetAttributeValue("use_incoming_timestamp", true)
	source.SetAttributeTokens("relabel_rules", ref("loki.relabel.kafka.rules"))
	source.SetAttributeTokens("forward_to", forwardTo(routes))

	// Only its rules are used; forward_to is required, and matches where the source writes.
	relabel := block(root, "loki.relabel", "kafka")
	relabel.SetAttributeTokens("forward_to", forwardTo(routes))
	for _, r := range [][2]string{{"__meta_kafka_topic", "topic"}, {"__meta_kafka_partition", "partition"}} {
		rule := block(relabel, "rule", "")
		rule.SetAttributeValue("source_labels", []string{r[0]})
		rule.SetAttributeValue("target_label", r[1])
	}
	appendRoutes(root, routes)
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
