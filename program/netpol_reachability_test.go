package program_test

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"obs-stack/components/netpol"
	"obs-stack/internal/mocktest"
	"obs-stack/program"
	"obs-stack/stacks"
	"obs-stack/stacks/load"
	"obs-stack/stacks/objstore"
)

// This test runs the whole program (the real components, as program.Run wires them) to learn
// every pod the stack runs, its labels and its ports, and the NetworkPolicies it declares for
// them; and evaluates the policies with Kubernetes' semantics for every connection
// between those pods and a few outsiders. Allowed must equal the pipeline listed below.

type need struct{ from, to, ports string }

// pipeline are the connections the pipeline needs, by role (see role), with their ports.
// "all-pods" is every pod in the stack's namespace, the stack's or not; "any-address" is every
// address outside the cluster.
func pipeline(spec stacks.Spec) []need {
	needs := []need{
		{"all-pods", "kube-dns", "UDP/53 TCP/53"},
		{"alloy", "gateway", "TCP/8080"},
		{"grafana", "gateway", "TCP/8080"},
		{"gateway", "loki", "TCP/3100"},
		{"loki", "loki", "TCP/3100 TCP/9095 TCP/7946"},
		{"loki", "memcached", "TCP/11211"},
		{"prometheus", "loki", "TCP/3100"},
		{"prometheus", "alloy", "TCP/12345"},
		{"alloy", "kube-apiserver", "TCP/443 TCP/6443"},
		// Documented: the API server's address is not known at preview, so Alloy may reach any
		// address on its ports.
		{"alloy", "any-address", "TCP/443 TCP/6443"},
		{"kafka", "kafka", "TCP/9092 TCP/9093"},
		{"kafka-topics", "kafka", "TCP/9092"},
		{"alloy", "kafka", "TCP/9092"},
		{"producer", "kafka", "TCP/9092"},
	}
	if spec.Monitoring.Enabled { // the exporters, scraped on their own ports
		needs = append(needs,
			need{"prometheus", "gateway", "TCP/9113"},
			need{"prometheus", "memcached", "TCP/9150"},
			need{"kafka-exporter", "kafka", "TCP/9092"},
			need{"prometheus", "kafka-exporter", "TCP/9308"})
	}
	if spec.Monitoring.Canary.Enabled {
		needs = append(needs, need{"loki-canary", "gateway", "TCP/8080"}, need{"prometheus", "loki-canary", "TCP/3500"})
	}
	if awsS3(spec) {
		// Documented: S3's addresses are many and change, so Loki may reach any address on 443.
		needs = append(needs, need{"loki", "object-store", "TCP/443"}, need{"loki", "any-address", "TCP/443"})
	} else {
		needs = append(needs, need{"loki", "object-store", "TCP/9000"}) // the prod preset's MinIO
	}
	return needs
}

func awsS3(spec stacks.Spec) bool {
	return spec.Loki.Storage.Type == objstore.S3 && spec.Loki.Storage.S3.Endpoint == ""
}

// endpoint is a pod (labels set) or an address outside the cluster (ip set).
type endpoint struct {
	role      string
	name      string
	namespace string
	nsLabels  map[string]string
	pod       map[string]string
	ip        string
	ports     []string // what it listens on, as PROTO/number
}

// role names a pod of the stack by what the components label it with.
func role(podLabels map[string]string) string {
	switch name, component := podLabels["app.kubernetes.io/name"], podLabels["app.kubernetes.io/component"]; {
	case name == "loki":
		return "loki"
	case name == "memcached":
		return "memcached"
	case name == "loki-gateway":
		return "gateway"
	case name == "alloy":
		return "alloy"
	case name == "kafka" && component == "broker":
		return "kafka"
	case name == "kafka" && component == "topics":
		return "kafka-topics"
	case name == "kafka-exporter":
		return "kafka-exporter"
	case name == "loki-canary":
		return "loki-canary"
	}
	return ""
}

// stackPods runs the program for stack with config and returns one endpoint per pod template,
// and the specs of the NetworkPolicies the same run declared.
func stackPods(t *testing.T, stack string, config map[string]string, namespace string) ([]endpoint, []networkingv1.NetworkPolicySpec) {
	t.Helper()
	rec := &mocktest.Recorder{}
	withConfig := func(info *pulumi.RunInfo) { info.Config = config }
	if err := pulumi.RunErr(program.Run, pulumi.WithMocks("obs-stack", stack, rec), withConfig); err != nil {
		t.Fatalf("running the program: %v", err)
	}
	var out []endpoint
	for _, kind := range []string{"apps/v1:Deployment", "apps/v1:StatefulSet", "apps/v1:DaemonSet", "batch/v1:Job"} {
		for _, w := range rec.OfType("kubernetes:" + kind) {
			e := endpoint{name: kind + "/" + w.Name, namespace: namespace, pod: map[string]string{}}
			podLabels, _ := mocktest.Dig(w.Inputs, "spec", "template", "metadata", "labels").(map[string]any)
			for k, v := range podLabels {
				e.pod[k] = fmt.Sprint(v)
			}
			containers, _ := mocktest.Dig(w.Inputs, "spec", "template", "spec", "containers").([]any)
			for _, c := range containers {
				ports, _ := mocktest.Dig(c, "ports").([]any)
				for _, p := range ports {
					protocol, _ := mocktest.Dig(p, "protocol").(string)
					if protocol == "" {
						protocol = "TCP"
					}
					e.ports = append(e.ports, fmt.Sprintf("%s/%v", protocol, mocktest.Dig(p, "containerPort")))
				}
			}
			if e.role = role(e.pod); e.role == "" {
				t.Errorf("%s (labels %v) has no role: add its flows to netpol.Flows and to needed", e.name, e.pod)
			}
			out = append(out, e)
		}
	}
	if len(out) < 4 {
		t.Fatalf("only %d pod templates found", len(out))
	}
	return out, policies(t, rec)
}

// outsiders are the pods and addresses around the stack: the ones the pipeline talks to, and
// ones it must not.
func outsiders(spec stacks.Spec) []endpoint {
	ns := spec.Cluster.Namespace
	grafanaNS := spec.Grafana.Namespace
	if grafanaNS == "" {
		grafanaNS = ns
	}
	// The store is MinIO in namespace minio (the prod preset), or AWS S3 on the internet.
	store := func(where string) string {
		if spec.Loki.Storage.Type == objstore.S3 && (where == "internet") == awsS3(spec) {
			return "object-store"
		}
		return "stranger"
	}
	return []endpoint{
		{role: "grafana", name: "grafana", namespace: grafanaNS, pod: map[string]string{"app.kubernetes.io/name": "grafana"}, ports: []string{"TCP/3000"}},
		{role: "stranger", name: "debug pod in the stack's namespace", namespace: ns, pod: map[string]string{"app": "debug"}, ports: []string{"TCP/8080"}},
		{role: "kube-dns", name: "coredns", namespace: "kube-system", pod: map[string]string{"k8s-app": "kube-dns"}, ports: []string{"UDP/53", "TCP/53"}},
		{role: "prometheus", name: "prometheus in a labelled namespace", namespace: "monitoring", nsLabels: map[string]string{netpol.MetricsScraperLabel: "true"},
			pod: map[string]string{"app.kubernetes.io/name": "prometheus"}, ports: []string{"TCP/9090"}},
		{role: "stranger", name: "prometheus in an unlabelled namespace", namespace: "team-metrics",
			pod: map[string]string{"app.kubernetes.io/name": "prometheus"}, ports: []string{"TCP/9090"}},
		{role: "producer", name: "producer in a labelled namespace", namespace: "shop", nsLabels: map[string]string{netpol.KafkaProducerLabel: "true"},
			pod: map[string]string{"app": "shop"}, ports: []string{"TCP/8080"}},
		{role: "stranger", name: "pod in default", namespace: "default", pod: map[string]string{"app": "curl"}, ports: []string{"TCP/80"}},
		{role: "stranger", name: "grafana-looking pod elsewhere", namespace: "default", pod: map[string]string{"app.kubernetes.io/name": "grafana"}, ports: []string{"TCP/3000"}},
		{role: store("minio"), name: "minio", namespace: "minio", pod: map[string]string{"app": "minio"}, ports: []string{"TCP/9000"}},
		{role: "stranger", name: "minio pod elsewhere", namespace: "default", pod: map[string]string{"app": "minio"}, ports: []string{"TCP/9000"}},
		{role: "kube-apiserver", name: "API server", ip: "172.18.0.2", ports: []string{"TCP/443", "TCP/6443"}},
		{role: store("internet"), name: "a host on the internet", ip: "52.219.170.1", ports: []string{"TCP/443", "TCP/9000", "TCP/22"}},
	}
}

// policies are the specs of the NetworkPolicies rec recorded.
func policies(t *testing.T, rec *mocktest.Recorder) []networkingv1.NetworkPolicySpec {
	t.Helper()
	var out []networkingv1.NetworkPolicySpec
	for _, p := range rec.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		raw, err := json.Marshal(p.Inputs["spec"])
		if err != nil {
			t.Fatal(err)
		}
		var s networkingv1.NetworkPolicySpec
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s is not a NetworkPolicySpec: %v", p.Name, err)
		}
		out = append(out, s)
	}
	return out
}

func matches(t *testing.T, sel *metav1.LabelSelector, set map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	return s.Matches(labels.Set(set))
}

// admits reports whether a rule's peer list lets other in (or out), seen from a policy in ns.
// An ipBlock never matches a pod: CNIs differ there, and the stack must not rely on it.
func admits(t *testing.T, peers []networkingv1.NetworkPolicyPeer, ns string, other endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		switch {
		case p.IPBlock != nil:
			_, cidr, err := net.ParseCIDR(p.IPBlock.CIDR)
			if err != nil {
				t.Fatalf("ipBlock %s: %v", p.IPBlock.CIDR, err)
			}
			if other.pod == nil && cidr.Contains(net.ParseIP(other.ip)) {
				return true
			}
		case other.pod == nil:
		case p.NamespaceSelector != nil:
			nsLabels := map[string]string{"kubernetes.io/metadata.name": other.namespace}
			for k, v := range other.nsLabels {
				nsLabels[k] = v
			}
			if matches(t, p.NamespaceSelector, nsLabels) && (p.PodSelector == nil || matches(t, p.PodSelector, other.pod)) {
				return true
			}
		case other.namespace == ns && matches(t, p.PodSelector, other.pod):
			return true
		}
	}
	return false
}

func portAllowed(ports []networkingv1.NetworkPolicyPort, port string) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		protocol := "TCP"
		if p.Protocol != nil {
			protocol = string(*p.Protocol)
		}
		if p.Port == nil || fmt.Sprintf("%s/%s", protocol, p.Port.String()) == port {
			return true
		}
	}
	return false
}

// allowedBy evaluates one side of a connection: self's egress (other is the destination) or
// self's ingress (other is the source). Only the stack's namespace has policies here.
func allowedBy(t *testing.T, specs []networkingv1.NetworkPolicySpec, ns, direction string, self, other endpoint, port string) bool {
	if self.pod == nil || self.namespace != ns {
		return true
	}
	isolated := false
	for _, s := range specs {
		if !matches(t, &s.PodSelector, self.pod) || !slices.Contains(s.PolicyTypes, networkingv1.PolicyType(direction)) {
			continue
		}
		isolated = true
		if direction == "Egress" {
			for _, r := range s.Egress {
				if portAllowed(r.Ports, port) && admits(t, r.To, ns, other) {
					return true
				}
			}
		} else {
			for _, r := range s.Ingress {
				if portAllowed(r.Ports, port) && admits(t, r.From, ns, other) {
					return true
				}
			}
		}
	}
	return !isolated
}

func expected(needs []need, src, dst endpoint, port, ns string) bool {
	for _, n := range needs {
		fromOK := n.from == src.role || (n.from == "all-pods" && src.namespace == ns && src.pod != nil)
		toOK := n.to == dst.role || (n.to == "any-address" && dst.pod == nil)
		if fromOK && toOK && slices.Contains(strings.Fields(n.ports), port) {
			return true
		}
	}
	return false
}

func TestReachabilityIsExactlyThePipeline(t *testing.T) {
	for _, tc := range []struct {
		name, stack string
		config      map[string]string
	}{
		{name: "dev", stack: "dev"},
		{name: "prod", stack: "prod"},
		{name: "prod, Grafana in monitoring, no Kafka", stack: "prod", config: map[string]string{
			"obs-stack:grafana": `{"namespace":"monitoring"}`,
			"obs-stack:kafka":   `{"enabled":false}`,
			"obs-stack:alloy":   `{"consumeKafka":false}`,
		}},
		{name: "prod on AWS S3", stack: "prod", config: map[string]string{
			"obs-stack:loki": `{"storage":{"s3":{"endpoint":""}}}`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := load.Load(tc.stack, tc.config)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := spec.Validate(); err != nil {
				t.Fatal(err)
			}
			ns := spec.Cluster.Namespace
			pods, rules := stackPods(t, tc.stack, tc.config, ns)
			all := append(pods, outsiders(spec)...)
			needs := pipeline(spec)

			seen := map[string]bool{}
			for _, src := range all {
				if src.pod == nil {
					continue // addresses outside the cluster open no connections here
				}
				for _, dst := range all {
					if src.namespace != ns && dst.namespace != ns {
						continue // neither end is governed by the stack's policies
					}
					for _, port := range dst.ports {
						got := allowedBy(t, rules, ns, "Egress", src, dst, port) && allowedBy(t, rules, ns, "Ingress", dst, src, port)
						want := expected(needs, src, dst, port, ns)
						if got != want {
							t.Errorf("%s -> %s %s: allowed %t, want %t", src.name, dst.name, port, got, want)
						}
						if got {
							seen[src.role+" -> "+dst.role] = true
						}
					}
				}
			}
			// Every component the spec runs is reached by what the pipeline needs of it.
			for _, n := range needs {
				if n.from == "all-pods" || n.to == "any-address" {
					continue
				}
				exists := func(r string) bool {
					return slices.ContainsFunc(all, func(e endpoint) bool { return e.role == r })
				}
				if exists(n.from) && exists(n.to) && !seen[n.from+" -> "+n.to] {
					t.Errorf("%s -> %s is needed and both exist, but no connection was allowed", n.from, n.to)
				}
			}
		})
	}
}
