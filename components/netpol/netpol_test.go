package netpol

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/kube"
	"obs-stack/internal/mocktest"
	"obs-stack/stacks"
)

const (
	policyType = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
	instance   = "obs-stack"
)

// ArgsFor are the arguments the program passes for a spec (exported for the reachability test).
func ArgsFor(spec stacks.Spec, instance string) *Args {
	args := &Args{
		Stack:            kube.Stack{Namespace: pulumi.String(spec.Cluster.Namespace), NamespaceName: spec.Cluster.Namespace, Domain: spec.Cluster.Domain, Instance: instance},
		Caches:           spec.Loki.Caches.ChunksCache.Enabled || spec.Loki.Caches.ResultsCache.Enabled,
		GrafanaNamespace: spec.Grafana.Namespace,
		PodLogs:          spec.Alloy.PodLogs,
		Kafka:            spec.Kafka.Enabled,
		KafkaTopics:      spec.Kafka.Enabled && len(spec.Kafka.Topics) > 0,
		ConsumeKafka:     spec.Kafka.Enabled && spec.Alloy.ConsumeKafka,
		Monitoring:       spec.Monitoring.Enabled,
		Canary:           spec.Monitoring.Canary.Enabled,
	}
	if slices.Contains(spec.Loki.ObjectStores(), stacks.StorageS3) {
		args.ObjectStore = &spec.Loki.Storage.S3
	}
	return args
}

// run declares the policies for spec against the mocks.
func run(t *testing.T, spec stacks.Spec) (*mocktest.Recorder, []string, error) {
	t.Helper()
	rec := &mocktest.Recorder{}
	var names []string
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		c, err := New(ctx, "netpol", ArgsFor(spec, instance))
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
	"all-pods":     {},
	"grafana":      {"app.kubernetes.io/name": "grafana"}, // when grafana.namespace is the stack's
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
// the receiver; both must name the other end and exactly the flow's ports.
func TestEveryFlowIsAllowedOnBothEnds(t *testing.T) {
	for name, spec := range specs() {
		t.Run(name, func(t *testing.T) {
			policies := mustRun(t, spec)
			want := map[string]bool{DefaultDeny: true}
			for _, f := range Flows(ArgsFor(spec, instance)) {
				check := func(direction, rulesKey, peerKey string, selected, other Peer) {
					policyName := PolicyName(f, direction)
					want[policyName] = true
					p, ok := policies[policyName]
					if !ok {
						t.Errorf("%s -> %s: no %s policy %s", f.From.Name, f.To.Name, direction, policyName)
						return
					}
					s := p.Inputs["spec"].(map[string]any)
					if got := mocktest.Dig(s, "podSelector", "matchLabels"); !reflect.DeepEqual(got, stackPods[selected.Name]) {
						t.Errorf("%s selects %v, want the %s pods %v", policyName, got, selected.Name, stackPods[selected.Name])
					}
					if got, want := s["policyTypes"], []any{strings.ToUpper(direction[:1]) + direction[1:]}; !reflect.DeepEqual(got, want) {
						t.Errorf("%s: policyTypes = %v, want %v", policyName, got, want)
					}
					rules, _ := s[rulesKey].([]any)
					if len(rules) != 1 {
						t.Fatalf("%s: want one %s rule, got %v", policyName, rulesKey, rules)
					}
					if got, want := mocktest.Dig(rules[0], peerKey), rulePeer(t, other); !reflect.DeepEqual(got, want) {
						t.Errorf("%s: %s = %v, want %v", policyName, peerKey, got, want)
					}
					if got, want := mocktest.Dig(rules[0], "ports"), rulePorts(f.Ports); !reflect.DeepEqual(got, want) {
						t.Errorf("%s: ports = %v, want %v", policyName, got, want)
					}
				}
				if f.To.InNamespace() {
					check("ingress", "ingress", "from", f.To, f.From)
				}
				if f.From.InNamespace() {
					check("egress", "egress", "to", f.From, f.To)
				}
				if !f.From.InNamespace() && !f.To.InNamespace() {
					t.Errorf("%s -> %s: neither end is in the stack's namespace", f.From.Name, f.To.Name)
				}
			}
			for name := range policies {
				if !want[name] {
					t.Errorf("policy %s belongs to no flow", name)
				}
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
	for name, tc := range map[string]struct {
		spec stacks.Spec
		want []string
	}{
		"dev":         {stacks.Dev(), []string{"alloy-to-kube-apiserver-egress"}},
		"prod":        {stacks.Prod(), []string{"alloy-to-kube-apiserver-egress"}}, // MinIO is in the cluster
		"prod-aws":    {aws, []string{"alloy-to-kube-apiserver-egress", "loki-to-object-store-egress"}},
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
							got = append(got, policyName)
						}
					}
				}
			}
			got = slices.Compact(slices.Sorted(slices.Values(got)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("egress to anywhere in %v, want only %v", got, tc.want)
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
			if !slices.Contains(names(with), "alloy-to-kafka-egress") || !slices.Contains(names(with), "kafka-to-kafka-ingress") {
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
				want = []string{"loki-to-memcached-egress", "loki-to-memcached-ingress"}
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
	badEndpoint := stacks.Prod()
	badEndpoint.Loki.Storage.S3.Endpoint = "http://minio:ninety"
	for name, tc := range map[string]struct {
		spec stacks.Spec
		want string
	}{
		"store in stack namespace": {storeInside, "in the stack's namespace"},
		"bad endpoint":             {badEndpoint, `loki.storage.s3.endpoint = "http://minio:ninety"`},
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
