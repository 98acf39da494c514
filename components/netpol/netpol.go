// Package netpol declares the stack's NetworkPolicies: one that denies all ingress and egress
// of every pod in the stack's namespace, then exactly the pipeline's flows (Flows), each as an
// ingress rule on the receiving pods and an egress rule on the sending pods when they live in
// the namespace. The rules are grouped by the pods they select: one policy per pod group
// (PolicyName), holding every ingress and egress rule of that group, one rule per flow with
// the flow's own peers and ports. Policies are additive, so this allows exactly what one
// policy per flow and direction would, with fewer objects (each costs the engine and the
// provider a round trip on every preview and up). The program creates it only with
// cluster.networkPolicies on.
//
// Who may come in from outside the namespace:
//   - Grafana: pods labelled GrafanaPodLabels in grafana.namespace (the stack's namespace when
//     empty) may reach the gateway; Grafana always reads Loki through the gateway.
//   - Prometheus: every pod of a namespace labelled MetricsScraperLabel=true may scrape Loki
//     (3100) and Alloy (12345), and with monitoring on the exporters beside nginx (9113) and
//     memcached (9150), the Kafka exporter (9308) and the canary (3500).
//   - Kafka producers: every pod of a namespace labelled KafkaProducerLabel=true may reach the
//     brokers' client port; inside the stack's namespace only Alloy and the topic Job may.
//
// No ingress policy admits traffic from everywhere. Two egress flows go to Anywhere, because
// their peers are not pods and their addresses are not known at preview: Alloy to the API
// server (TCP 443 and 6443), and Loki to an S3 store outside the cluster (its port only).
//
// What the policies leave to the cluster: Kubernetes always allows a pod's traffic with its own
// node (the kubelet's probes); a node-local DNS cache (169.254.20.10) is no kube-system pod and
// needs its own egress rule; Cilium matches an API server on the nodes as an entity, not by
// ipBlock, and needs a CiliumNetworkPolicy toEntities kube-apiserver. Every pod of the stack's
// namespace is under default-deny, a Grafana there too: it gets DNS and the gateway, nothing
// more, not even its users' ingress, so run Grafana in its own namespace (grafana.namespace).
package netpol

import (
	"fmt"
	"reflect"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/kube"
	"obs-stack/stacks/objstore"
)

// Args of the NetworkPolicies component: which components, and so which flows, exist. Who
// may come in from other namespaces is decided by GrafanaNamespace and by namespace labels
// (MetricsScraperLabel, KafkaProducerLabel).
type Args struct {
	kube.Stack
	// Caches: Loki reads and writes memcached.
	Caches bool
	// ObjectStores are where the object stores' traffic goes (objstore.Store.Egress of every
	// store in use), as validation parsed it.
	ObjectStores []objstore.Egress
	// GrafanaNamespace is where Grafana runs; empty means the stack's namespace.
	GrafanaNamespace string
	// PodLogs: Alloy discovers (and may tail) pods through the API server.
	PodLogs bool
	// Kafka runs in the stack; KafkaTopics: the topic Job creates topics; ConsumeKafka: Alloy
	// consumes them.
	Kafka, KafkaTopics, ConsumeKafka bool
	// Monitoring: the exporters run and are scraped; Canary: loki-canary runs.
	Monitoring, Canary bool
}

// Policies is the component.
type Policies struct {
	pulumi.ResourceState

	// Names are the NetworkPolicies' metadata names: default-deny first, then one per pod
	// group (PolicyName) in the order the groups first appear in Flows.
	Names []string
}

// DefaultDeny is the name of the policy that denies everything in the namespace.
const DefaultDeny = "default-deny"

// New declares the NetworkPolicies.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Policies, error) {
	if err := check(args); err != nil {
		return nil, err
	}
	groups, err := podGroups(Flows(args))
	if err != nil {
		return nil, err
	}
	c := &Policies{}
	if err := ctx.RegisterComponentResource("obs-stack:netpol:Policies", name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering NetworkPolicies component: %w", err)
	}
	parent := pulumi.Parent(c)
	policy := func(policyName, selected string, spec *networkingv1.NetworkPolicySpecArgs) error {
		labels := kube.NewLabels("network-policy", args.Instance, selected, "")
		_, err := networkingv1.NewNetworkPolicy(ctx, name+"-"+policyName, &networkingv1.NetworkPolicyArgs{
			Metadata: kube.Meta(policyName, args.Namespace, labels.All),
			Spec:     spec,
		}, parent)
		if err != nil {
			return fmt.Errorf("creating NetworkPolicy %s: %w", policyName, err)
		}
		c.Names = append(c.Names, policyName)
		return nil
	}

	// No rules: with both types listed, nothing in or out is allowed unless a flow below allows it.
	if err := policy(DefaultDeny, "all-pods", &networkingv1.NetworkPolicySpecArgs{
		PodSelector: &metav1.LabelSelectorArgs{},
		PolicyTypes: pulumi.StringArray{pulumi.String("Ingress"), pulumi.String("Egress")},
	}); err != nil {
		return nil, err
	}
	for _, g := range groups {
		spec := &networkingv1.NetworkPolicySpecArgs{PodSelector: podSelector(g.pods, args.Instance)}
		var types pulumi.StringArray
		if len(g.ingress) > 0 {
			types = append(types, pulumi.String("Ingress"))
			var rules networkingv1.NetworkPolicyIngressRuleArray
			for _, f := range g.ingress {
				rules = append(rules, networkingv1.NetworkPolicyIngressRuleArgs{From: policyPeers(f.From, args.Instance), Ports: policyPorts(f.Ports)})
			}
			spec.Ingress = rules
		}
		if len(g.egress) > 0 {
			types = append(types, pulumi.String("Egress"))
			var rules networkingv1.NetworkPolicyEgressRuleArray
			for _, f := range g.egress {
				rules = append(rules, networkingv1.NetworkPolicyEgressRuleArgs{To: policyPeers(f.To, args.Instance), Ports: policyPorts(f.Ports)})
			}
			spec.Egress = rules
		}
		spec.PolicyTypes = types
		if err := policy(PolicyName(g.pods), g.pods.Name, spec); err != nil {
			return nil, err
		}
	}

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"names": pulumi.ToStringArray(c.Names)}); err != nil {
		return nil, fmt.Errorf("registering NetworkPolicies outputs: %w", err)
	}
	return c, nil
}

// PolicyName names the policy of the pods a peer selects: <peer>-flows (a DNS label, as the
// peer's name is). It names the pods, not the flows, so it stays when flows come and go.
func PolicyName(selected Peer) string {
	return selected.Name + "-flows"
}

// podGroup is the stack's pods one peer selects and the flows that reach them (ingress) or
// leave them (egress), in the order of Flows.
type podGroup struct {
	pods            Peer
	ingress, egress []Flow
}

// podGroups groups the flows by the in-namespace pods they select, in order of first
// appearance, so that policy names and rule order are stable. Two peers with one name but
// different pods would merge unrelated rules, so that is an error.
func podGroups(flows []Flow) ([]*podGroup, error) {
	var groups []*podGroup
	byName := map[string]*podGroup{}
	group := func(p Peer) (*podGroup, error) {
		if g, ok := byName[p.Name]; ok {
			if !reflect.DeepEqual(g.pods, p) {
				return nil, fmt.Errorf("network policy peers %+v and %+v share the name %s; give them different names in netpol.Flows", g.pods, p, p.Name)
			}
			return g, nil
		}
		g := &podGroup{pods: p}
		byName[p.Name] = g
		groups = append(groups, g)
		return g, nil
	}
	for _, f := range flows {
		if f.From.InNamespace() {
			g, err := group(f.From)
			if err != nil {
				return nil, err
			}
			g.egress = append(g.egress, f)
		}
		if f.To.InNamespace() {
			g, err := group(f.To)
			if err != nil {
				return nil, err
			}
			g.ingress = append(g.ingress, f)
		}
	}
	return groups, nil
}

// check refuses flows that cannot be expressed, before anything is registered.
func check(args *Args) error {
	for _, e := range args.ObjectStores {
		if e.Namespace == args.NamespaceName {
			return fmt.Errorf("%s: the object store runs in the stack's namespace %s, where default-deny blocks the store's own pods; run the store in its own namespace, or set obs-stack:cluster.networkPolicies false",
				e.Name, args.NamespaceName)
		}
	}
	return nil
}

// podLabels are the labels selecting the peer's pods; empty selects every pod.
func (p Peer) podLabels(instance string) pulumi.StringMap {
	m := pulumi.StringMap{}
	if p.App != "" {
		m = pulumi.ToStringMap(kube.AppSelector(p.App, instance))
		if p.Component != "" {
			m[kube.LabelComponent] = pulumi.String(p.Component)
		}
	}
	for k, v := range p.Pods {
		m[k] = pulumi.String(v)
	}
	return m
}

func podSelector(p Peer, instance string) *metav1.LabelSelectorArgs {
	return &metav1.LabelSelectorArgs{MatchLabels: p.podLabels(instance)}
}

// policyPeers renders a peer as the from/to of a rule.
func policyPeers(p Peer, instance string) networkingv1.NetworkPolicyPeerArray {
	var out networkingv1.NetworkPolicyPeerArray
	for _, cidr := range p.CIDRs {
		out = append(out, networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(cidr)}})
	}
	if len(out) > 0 {
		return out
	}
	peer := networkingv1.NetworkPolicyPeerArgs{PodSelector: podSelector(p, instance)}
	switch {
	case p.Namespace != "":
		peer.NamespaceSelector = &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{NamespaceNameLabel: pulumi.String(p.Namespace)}}
	case p.NamespaceLabels != nil:
		peer.NamespaceSelector = &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(p.NamespaceLabels)}
	}
	return networkingv1.NetworkPolicyPeerArray{peer}
}

func policyPorts(ports []Port) networkingv1.NetworkPolicyPortArray {
	var out networkingv1.NetworkPolicyPortArray
	for _, p := range ports {
		out = append(out, networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String(p.Protocol), Port: pulumi.Int(p.Number)})
	}
	return out
}
