package netpol

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/kube"
	"obs-stack/internal/mocktest"
	"obs-stack/stacks"
	"obs-stack/stacks/objstore"
)

const (
	policyType = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
	instance   = "obs-stack"
)

// argsFor are the arguments the program passes for a spec.
func argsFor(spec stacks.Spec, instance string) *Args {
	args := &Args{
		Stack:            kube.Stack{Namespace: pulumi.String(spec.Cluster.Namespace), NamespaceName: spec.Cluster.Namespace, Domain: spec.Cluster.Domain, Instance: instance},
		Caches:           spec.Loki.Caches.Enabled(),
		GrafanaNamespace: spec.Grafana.Namespace,
		PodLogs:          spec.Alloy.PodLogs,
		Kafka:            spec.Kafka.Enabled,
		KafkaTopics:      spec.Kafka.Enabled && len(spec.Kafka.Topics) > 0,
		ConsumeKafka:     spec.Kafka.Enabled && spec.Alloy.ConsumeKafka,
		Monitoring:       spec.Monitoring.Enabled,
		Canary:           spec.Monitoring.Canary.Enabled,
	}
	// As validation passes it on: every store in use, parsed (problems are validation's to report).
	st := spec.Loki.Storage
	// Validation's own refusal of a store in the stack's namespace is left out (no
	// NetworkPolicies in env), so that netpol's check of it is tested.
	env := objstore.Env{Domain: spec.Cluster.Domain, Namespace: spec.Cluster.Namespace}
	for _, store := range objstore.Parse(discard{}, st.Settings(), st.Type, spec.Loki.ObjectStores(), env).All {
		args.ObjectStores = append(args.ObjectStores, store.Egress()...)
	}
	return args
}

// run declares the policies for spec against the mocks.
func run(t *testing.T, spec stacks.Spec) (*mocktest.Recorder, []string, error) {
	t.Helper()
	rec := &mocktest.Recorder{}
	var names []string
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		c, err := New(ctx, "netpol", argsFor(spec, instance))
		if err != nil {
			return err
		}
		names = c.Names
		return nil
	}, pulumi.WithMocks("obs-stack", "test", rec))
	return rec, names, err
}

func mustRun(t *testing.T, spec stacks.Spec) map[string]mocktest.Resource {
	t.Helper()
	rec, names, err := run(t, spec)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]mocktest.Resource{}
	for _, p := range rec.OfType(policyType) {
		name, _ := mocktest.Dig(p.Inputs, "metadata", "name").(string)
		byName[name] = p
		if ns := mocktest.Dig(p.Inputs, "metadata", "namespace"); ns != spec.Cluster.Namespace {
			t.Errorf("%s: namespace = %v", name, ns)
		}
		if p.Parent == "" || !strings.HasSuffix(p.Parent, "obs-stack:netpol:Policies::netpol") {
			t.Errorf("%s: parent = %q, want the component", name, p.Parent)
		}
	}
	if len(byName) != len(names) {
		t.Errorf("Names lists %d policies, %d registered", len(names), len(byName))
	}
	for _, n := range names {
		if _, ok := byName[n]; !ok {
			t.Errorf("Names lists %s, which is not registered", n)
		}
	}
	return byName
}

// Selectors of the stack's pods, written out as the components label them.
var stackPods = map[string]map[string]any{
	"loki":         {"app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": instance},
	"memcached":    {"app.kubernetes.io/name": "memcached", "app.kubernetes.io/instance": instance},
	"gateway":      {"app.kubernetes.io/name": "loki-gateway", "app.kubernetes.io/instance": instance, "app.kubernetes.io/component": "gateway"},
	"alloy":        {"app.kubernetes.io/name": "alloy", "app.kubernetes.io/instance": instance, "app.kubernetes.io/component": "collector"},
	"kafka":        {"app.kubernetes.io/name": "kafka", "app.kubernetes.io/instance": instance, "app.kubernetes.io/component": "broker"},
	"kafka-topics": {"app.kubernetes.io/name": "kafka", "app.kubernetes.io/instance": instance, "app.kubernetes.io/component": "topics"},
	// monitoring's
	"kafka-exporter": {"app.kubernetes.io/name": "kafka-exporter", "app.kubernetes.io/instance": instance, "app.kubernetes.io/component": "exporter"},
	"loki-canary":    {"app.kubernetes.io/name": "loki-canary", "app.kubernetes.io/instance": instance, "app.kubernetes.io/component": "canary"},
	"all-pods":       {},
	"grafana":        {"app.kubernetes.io/name": "grafana"}, // when grafana.namespace is the stack's
}

// rulePeer is how a flow's far end must appear in a rule's from/to.
func rulePeer(t *testing.T, p Peer) []any {
	t.Helper()
	if len(p.CIDRs) > 0 {
		var out []any
		for _, c := range p.CIDRs {
			out = append(out, map[string]any{"ipBlock": map[string]any{"cidr": c}})
		}
		return out
	}
	if p.InNamespace() {
		sel, ok := stackPods[p.Name]
		if !ok {
			t.Fatalf("no selector written down for %s", p.Name)
		}
		return []any{map[string]any{"podSelector": map[string]any{"matchLabels": sel}}}
	}
	nsLabels := map[string]any{}
	for k, v := range p.NamespaceLabels {
		nsLabels[k] = v
	}
	if p.Namespace != "" {
		nsLabels["kubernetes.io/metadata.name"] = p.Namespace
	}
	pods := map[string]any{}
	for k, v := range p.Pods {
		pods[k] = v
	}
	return []any{map[string]any{
		"namespaceSelector": map[string]any{"matchLabels": nsLabels},
		"podSelector":       map[string]any{"matchLabels": pods},
	}}
}

func rulePorts(ports []Port) []any {
	var out []any
	for _, p := range ports {
		out = append(out, map[string]any{"protocol": p.Protocol, "port": float64(p.Number)})
	}
	return out
}

func specs() map[string]stacks.Spec {
	elsewhere := stacks.Prod()
	elsewhere.Grafana.Namespace = "monitoring"
	return map[string]stacks.Spec{"dev": stacks.Dev(), "prod": stacks.Prod(), "prod-grafana-elsewhere": elsewhere}
}

func TestDefaultDenyCoversEveryPodBothWays(t *testing.T) {
	for name, spec := range specs() {
		t.Run(name, func(t *testing.T) {
			deny, ok := mustRun(t, spec)[DefaultDeny]
			if !ok {
				t.Fatal("no default-deny policy")
			}
			spec := deny.Inputs["spec"].(map[string]any)
			if sel := spec["podSelector"]; !reflect.DeepEqual(sel, map[string]any{}) {
				t.Errorf("podSelector = %v, want {} (every pod)", sel)
			}
			if types := spec["policyTypes"]; !reflect.DeepEqual(types, []any{"Ingress", "Egress"}) {
				t.Errorf("policyTypes = %v", types)
			}
			if spec["ingress"] != nil || spec["egress"] != nil {
				t.Errorf("default-deny must have no rules: %v", spec)
			}
		})
	}
}

// Under default-deny a connection needs an egress rule on the sender and an ingress rule on
// the receiver. Each is a rule of its own in the policy of that end's pods, naming the other
// end and exactly the flow's ports; a policy holds no rule that is no flow's, and lists exactly
// the policy types it has rules of.
func TestEveryFlowIsAllowedOnBothEnds(t *testing.T) {
	for name, spec := range specs() {
		t.Run(name, func(t *testing.T) {
			policies := mustRun(t, spec)
			selected := map[string]Peer{} // policy name -> the pods it selects
			rules := map[string][]any{}   // policy name + "/ingress" or "/egress" -> its rules
			for _, f := range Flows(argsFor(spec, instance)) {
				if f.To.InNamespace() {
					n := PolicyName(f.To)
					selected[n] = f.To
					rules[n+"/ingress"] = append(rules[n+"/ingress"], map[string]any{"from": rulePeer(t, f.From), "ports": rulePorts(f.Ports)})
				}
				if f.From.InNamespace() {
					n := PolicyName(f.From)
					selected[n] = f.From
					rules[n+"/egress"] = append(rules[n+"/egress"], map[string]any{"to": rulePeer(t, f.To), "ports": rulePorts(f.Ports)})
				}
				if !f.From.InNamespace() && !f.To.InNamespace() {
					t.Errorf("%s -> %s: neither end is in the stack's namespace", f.From.Name, f.To.Name)
				}
			}
			for policyName, pods := range selected {
				p, ok := policies[policyName]
				if !ok {
					t.Errorf("no policy %s for the %s pods", policyName, pods.Name)
					continue
				}
				s := p.Inputs["spec"].(map[string]any)
				if got := mocktest.Dig(s, "podSelector", "matchLabels"); !reflect.DeepEqual(got, stackPods[pods.Name]) {
					t.Errorf("%s selects %v, want the %s pods %v", policyName, got, pods.Name, stackPods[pods.Name])
				}
				var wantTypes []any
				for _, direction := range []string{"ingress", "egress"} {
					got, _ := s[direction].([]any)
					want := rules[policyName+"/"+direction]
					if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
						t.Errorf("%s: %s rules\n  got  %v\n  want %v", policyName, direction, got, want)
					}
					if len(want) > 0 {
						wantTypes = append(wantTypes, strings.ToUpper(direction[:1])+direction[1:])
					}
				}
				if got := s["policyTypes"]; !reflect.DeepEqual(got, wantTypes) {
					t.Errorf("%s: policyTypes = %v, want %v", policyName, got, wantTypes)
				}
			}
			for name := range policies {
				if _, ok := selected[name]; !ok && name != DefaultDeny {
					t.Errorf("policy %s belongs to no flow", name)
				}
			}
		})
	}
}

// One policy per group of the stack's pods, written out by hand: its name, and how many
// ingress and egress rules (one per flow) it holds.
func TestOnePolicyPerPodGroup(t *testing.T) {
	dev := map[string]string{
		DefaultDeny:          "in 0, out 0",
		"all-pods-flows":     "in 0, out 1", // DNS
		"alloy-flows":        "in 1, out 3", // Prometheus; gateway, API server, Kafka
		"grafana-flows":      "in 0, out 1", // gateway
		"gateway-flows":      "in 2, out 1", // Alloy, Grafana; Loki
		"loki-flows":         "in 3, out 1", // gateway, Loki, Prometheus; Loki
		"kafka-flows":        "in 4, out 1", // Kafka, topic Job, Alloy, producers; Kafka
		"kafka-topics-flows": "in 0, out 1", // Kafka
	}
	prod := maps.Clone(dev)
	prod["loki-flows"] = "in 3, out 3"           // + memcached, MinIO
	prod["memcached-flows"] = "in 2, out 0"      // Loki, Prometheus (its exporter)
	prod["gateway-flows"] = "in 4, out 1"        // + Prometheus (nginx exporter), the canary
	prod["kafka-flows"] = "in 5, out 1"          // + the Kafka exporter
	prod["kafka-exporter-flows"] = "in 1, out 1" // Prometheus; Kafka
	prod["loki-canary-flows"] = "in 1, out 1"    // Prometheus; gateway
	elsewhere := maps.Clone(prod)
	delete(elsewhere, "grafana-flows") // Grafana's namespace is not the stack's
	want := map[string]map[string]string{"dev": dev, "prod": prod, "prod-grafana-elsewhere": elsewhere}
	for name, spec := range specs() {
		t.Run(name, func(t *testing.T) {
			got := map[string]string{}
			for policyName, p := range mustRun(t, spec) {
				ingress, _ := mocktest.Dig(p.Inputs, "spec", "ingress").([]any)
				egress, _ := mocktest.Dig(p.Inputs, "spec", "egress").([]any)
				got[policyName] = fmt.Sprintf("in %d, out %d", len(ingress), len(egress))
			}
			if !maps.Equal(got, want[name]) {
				t.Errorf("policies:\n  got  %v\n  want %v", got, want[name])
			}
		})
	}
}

// No ingress rule admits everyone: every rule names its sources, none by address, and a
// namespace selector always selects something specific.
func TestNoIngressFromEverywhere(t *testing.T) {
	for name, spec := range specs() {
		t.Run(name, func(t *testing.T) {
			for policyName, p := range mustRun(t, spec) {
				s := p.Inputs["spec"].(map[string]any)
				ingress, _ := s["ingress"].([]any)
				for _, rule := range ingress {
					from, _ := mocktest.Dig(rule, "from").([]any)
					if len(from) == 0 {
						t.Errorf("%s: ingress rule without from admits everyone", policyName)
					}
					for _, peer := range from {
						if mocktest.Dig(peer, "ipBlock") != nil {
							t.Errorf("%s: ingress by address %v", policyName, peer)
						}
						if ns, ok := mocktest.Dig(peer, "namespaceSelector").(map[string]any); ok {
							if labels, _ := ns["matchLabels"].(map[string]any); len(labels) == 0 {
								t.Errorf("%s: ingress from every namespace %v", policyName, peer)
							}
						}
					}
					if ports, _ := mocktest.Dig(rule, "ports").([]any); len(ports) == 0 {
						t.Errorf("%s: ingress rule on every port", policyName)
					}
				}
				egress, _ := s["egress"].([]any)
				for _, rule := range egress {
					if to, _ := mocktest.Dig(rule, "to").([]any); len(to) == 0 {
						t.Errorf("%s: egress rule without to", policyName)
					}
					if ports, _ := mocktest.Dig(rule, "ports").([]any); len(ports) == 0 {
						t.Errorf("%s: egress rule on every port", policyName)
					}
				}
			}
		})
	}
}

// Egress to every address is allowed only to the API server and to a store outside the
// cluster, both documented: neither is a pod, and their addresses are not known at preview.
func TestEgressToAnywhereOnlyWhereDocumented(t *testing.T) {
	aws := stacks.Prod()
	aws.Loki.Storage.S3.Endpoint = ""
	apiServer := "alloy-flows to anywhere on TCP/443 TCP/6443"
	for name, tc := range map[string]struct {
		spec stacks.Spec
		want []string
	}{
		"dev":         {stacks.Dev(), []string{apiServer}},
		"prod":        {stacks.Prod(), []string{apiServer}}, // MinIO is in the cluster
		"prod-aws":    {aws, []string{apiServer, "loki-flows to anywhere on TCP/443"}},
		"no-pod-logs": {func() stacks.Spec { s := stacks.Dev(); s.Alloy.PodLogs = false; return s }(), nil},
	} {
		t.Run(name, func(t *testing.T) {
			var got []string
			for policyName, p := range mustRun(t, tc.spec) {
				egress, _ := mocktest.Dig(p.Inputs, "spec", "egress").([]any)
				for _, rule := range egress {
					to, _ := mocktest.Dig(rule, "to").([]any)
					for _, peer := range to {
						if cidr := mocktest.Dig(peer, "ipBlock", "cidr"); cidr == "0.0.0.0/0" || cidr == "::/0" {
							ports, _ := mocktest.Dig(rule, "ports").([]any)
							var portNames []string
							for _, port := range ports {
								portNames = append(portNames, fmt.Sprintf("%v/%v", mocktest.Dig(port, "protocol"), mocktest.Dig(port, "port")))
							}
							got = append(got, policyName+" to anywhere on "+strings.Join(portNames, " "))
						}
					}
				}
			}
			got = slices.Compact(slices.Sorted(slices.Values(got)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("egress to anywhere in %q, want only %q", got, tc.want)
			}
		})
	}
}

func names(policies map[string]mocktest.Resource) []string {
	var out []string
	for n := range policies {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// mentions reports whether word appears anywhere in a policy spec.
func mentions(spec any, word string) bool { return strings.Contains(fmt.Sprint(spec), word) }

func TestKafkaFlowsVanishWithKafka(t *testing.T) {
	for name, spec := range map[string]stacks.Spec{"dev": stacks.Dev(), "prod": stacks.Prod()} {
		t.Run(name, func(t *testing.T) {
			with := mustRun(t, spec)
			if !slices.Contains(names(with), "kafka-flows") || !mentions(with["alloy-flows"].Inputs["spec"], "kafka") {
				t.Fatalf("kafka.enabled: Kafka flows missing from %v", names(with))
			}
			spec.Kafka.Enabled = false
			without := mustRun(t, spec)
			for n, p := range without {
				if strings.Contains(n, "kafka") || mentions(p.Inputs["spec"], "kafka") {
					t.Errorf("kafka.enabled false, yet %s mentions Kafka", n)
				}
			}
			if len(without) >= len(with) {
				t.Errorf("disabling Kafka should remove policies: %d -> %d", len(with), len(without))
			}
		})
	}
}

func TestMemcachedFlowsOnlyWithCaches(t *testing.T) {
	for name, tc := range map[string]struct {
		spec stacks.Spec
		want bool
	}{"dev": {stacks.Dev(), false}, "prod": {stacks.Prod(), true}} {
		t.Run(name, func(t *testing.T) {
			policies := mustRun(t, tc.spec)
			var got []string
			for n, p := range policies {
				if mentions(p.Inputs["spec"], "memcached") {
					got = append(got, n)
				}
			}
			slices.Sort(got)
			want := []string(nil)
			if tc.want {
				want = []string{"loki-flows", "memcached-flows"}
			}
			if !slices.Equal(got, want) {
				t.Errorf("policies about memcached = %v, want %v", got, want)
			}
		})
	}
}

func TestRefusesWhatItCannotExpress(t *testing.T) {
	storeInside := stacks.Prod()
	storeInside.Loki.Storage.S3.Endpoint = "http://minio." + storeInside.Cluster.Namespace + ".svc:9000"
	// An endpoint that does not parse never reaches netpol: validation refuses it (the
	// catalogue's "s3 endpoint ..." cases) and passes only the parsed endpoint on.
	for name, tc := range map[string]struct {
		spec stacks.Spec
		want string
	}{
		"store in stack namespace": {storeInside, "in the stack's namespace"},
	} {
		t.Run(name, func(t *testing.T) {
			rec, _, err := run(t, tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if len(rec.Resources) != 0 {
				t.Errorf("nothing should be registered, got %d resources", len(rec.Resources))
			}
		})
	}
}

// discard is a check.Reporter that drops what it is told.
type discard struct{}

func (discard) Fail(string, any, string, string, ...any) {}
func (discard) Warn(string, any, string, string)         {}
