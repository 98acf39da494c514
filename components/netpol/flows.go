package netpol

import (
	"obs-stack/components/alloy"
	"obs-stack/components/canary"
	"obs-stack/components/gateway"
	"obs-stack/components/gateway/nginx"
	"obs-stack/components/kafka"
	"obs-stack/components/kube"
	"obs-stack/components/loki"
	"obs-stack/stacks/objstore"
)

const dnsPort = 53

// API server ports a pod may meet behind the kubernetes Service: policies see the endpoint
// after the Service's DNAT, so both are needed (kubeadm, kind and k3s: 6443; GKE, EKS, AKS: 443).
var apiServerPorts = []int{443, 6443}

// Opt-in namespace labels: a cluster admin labels the namespaces allowed in (namespace labels
// need cluster-level rights, pod labels do not, so a pod cannot let itself in).
const (
	// MetricsScraperLabel admits every pod of a namespace labelled "true" to Loki's and
	// Alloy's metrics ports, e.g. kubectl label namespace monitoring obs-stack.io/metrics-scraper=true.
	MetricsScraperLabel = "obs-stack.io/metrics-scraper"
	// KafkaProducerLabel admits every pod of a namespace labelled "true" to the Kafka brokers'
	// client port, e.g. kubectl label namespace shop obs-stack.io/kafka-producer=true.
	KafkaProducerLabel = "obs-stack.io/kafka-producer"
)

// NamespaceNameLabel is the label the API server sets on every namespace to its name.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// GrafanaPodLabels select Grafana's pods (the grafana and kube-prometheus-stack charts' label).
var GrafanaPodLabels = map[string]string{kube.LabelName: "grafana"}

// Anywhere is every address; only used for egress to things that are not pods.
var Anywhere = []string{"0.0.0.0/0", "::/0"}

// Protocols of a Port.
const (
	TCP = "TCP"
	UDP = "UDP"
)

// Port is a destination port as the receiving pod sees it: a Service's port is translated to
// the pod's port before policies apply, so the gateway is 8080, not its Service's 80.
type Port struct {
	Protocol string
	Number   int
}

func tcp(n int) Port { return Port{Protocol: TCP, Number: n} }
func udp(n int) Port { return Port{Protocol: UDP, Number: n} }

// Peer is one end of a flow; which fields are set decides what it is:
//   - App set: the stack's own pods, by app.kubernetes.io/name (and app.kubernetes.io/component
//     when Component is set); the selector also carries app.kubernetes.io/instance.
//   - Pods set: pods with these labels, not the stack's own (Grafana's).
//   - Namespace / NamespaceLabels set: the pods (Pods, or all when nil) of the namespace with
//     that name / of every namespace with those labels; neither: the stack's namespace.
//   - CIDRs set: addresses that are not pods (the API server, a cloud object store).
//
// A Peer with none of these is every pod of the stack's namespace.
type Peer struct {
	// Name identifies the peer in the table and in policy names; a DNS label.
	Name            string
	App, Component  string
	Pods            map[string]string
	Namespace       string
	NamespaceLabels map[string]string
	CIDRs           []string
}

// InNamespace reports whether the peer's pods live in the stack's namespace, where the
// default-deny policy governs their traffic, so the stack must declare both ends of a flow.
func (p Peer) InNamespace() bool {
	return p.Namespace == "" && p.NamespaceLabels == nil && len(p.CIDRs) == 0
}

// Flow is one connection the pipeline needs: From opens it to To on one of Ports.
type Flow struct {
	From, To Peer
	Ports    []Port
	// Why says what the connection carries.
	Why string
}

// The stack's pods. Names and components are the ones the components' New functions label
// their pods with (kube.NewLabels); the cross-check test holds them to the real pod templates.
var (
	allPods     = Peer{Name: "all-pods"}
	lokiPods    = Peer{Name: "loki", App: "loki"} // every target, whatever the mode
	memcached   = Peer{Name: "memcached", App: "memcached"}
	gatewayPods = Peer{Name: "gateway", App: "loki-gateway", Component: "gateway"}
	alloyPods   = Peer{Name: "alloy", App: "alloy", Component: "collector"}
	kafkaPods   = Peer{Name: "kafka", App: "kafka", Component: "broker"}
	topicJob    = Peer{Name: "kafka-topics", App: "kafka", Component: "topics"}
	// monitoring's
	kafkaExporter = Peer{Name: "kafka-exporter", App: "kafka-exporter", Component: "exporter"}
	canaryPods    = Peer{Name: "loki-canary", App: "loki-canary", Component: "canary"}
)

// Peers outside the stack.
var (
	kubeDNS        = Peer{Name: "kube-dns", Namespace: "kube-system"}
	apiServer      = Peer{Name: "kube-apiserver", CIDRs: Anywhere}
	prometheus     = Peer{Name: "prometheus", NamespaceLabels: map[string]string{MetricsScraperLabel: "true"}}
	kafkaProducers = Peer{Name: "kafka-producers", NamespaceLabels: map[string]string{KafkaProducerLabel: "true"}}
)

// Flows are the connections the stack's pipeline needs, and nothing else; only components
// the stack creates appear.
func Flows(args *Args) []Flow {
	var flows []Flow
	add := func(from, to Peer, why string, ports ...Port) {
		flows = append(flows, Flow{From: from, To: to, Ports: ports, Why: why})
	}

	add(allPods, kubeDNS, "DNS: Service names, Loki's memcached SRV records, nginx's resolver", udp(dnsPort), tcp(dnsPort))

	add(alloyPods, gatewayPods, "log push", tcp(nginx.ListenPort))
	add(Grafana(args), gatewayPods, "Grafana's Loki datasource: queries, tail, rules", tcp(nginx.ListenPort))
	add(gatewayPods, lokiPods, "every route the gateway proxies (Loki's HTTP API)", tcp(loki.HTTPPort))
	// All three ports in every mode: the peers are Loki pods only, so a port a lone single
	// binary does not gossip on admits nobody new.
	add(lokiPods, lokiPods, "memberlist ring, scheduler/index-gateway gRPC, compactor and tail HTTP",
		tcp(loki.HTTPPort), tcp(loki.GRPCPort), tcp(loki.MemberlistPort))
	if args.Caches {
		add(lokiPods, memcached, "chunks and results caches", tcp(loki.MemcachedPort))
	}
	for _, e := range args.ObjectStores { // new data's store, and an older period's
		store, ports := ObjectStore(e)
		add(lokiPods, store, e.Why, ports...)
	}
	add(prometheus, lokiPods, "scraping Loki's /metrics", tcp(loki.HTTPPort))

	if args.PodLogs {
		var ports []Port
		for _, p := range apiServerPorts {
			ports = append(ports, tcp(p))
		}
		add(alloyPods, apiServer, "pod discovery and (source api) log tailing", ports...)
	}
	add(prometheus, alloyPods, "scraping Alloy's /metrics", tcp(alloy.HTTPPort))

	if args.Kafka {
		add(kafkaPods, kafkaPods, "KRaft quorum and replication", tcp(kafka.ClientPort), tcp(kafka.ControllerPort))
		if args.KafkaTopics {
			add(topicJob, kafkaPods, "creating the topics", tcp(kafka.ClientPort))
		}
		if args.ConsumeKafka {
			add(alloyPods, kafkaPods, "consuming the topics", tcp(kafka.ClientPort))
		}
		add(kafkaProducers, kafkaPods, "applications producing log records", tcp(kafka.ClientPort))
	}

	if args.Monitoring {
		add(prometheus, gatewayPods, "scraping the nginx exporter beside nginx", tcp(gateway.ExporterPort))
		if args.Caches {
			add(prometheus, memcached, "scraping the memcached exporter beside memcached", tcp(loki.MemcachedExporterPort))
		}
		if args.Kafka {
			add(kafkaExporter, kafkaPods, "the Kafka exporter reading partitions and consumer groups", tcp(kafka.ClientPort))
			add(prometheus, kafkaExporter, "scraping the Kafka exporter", tcp(kafka.ExporterPort))
		}
	}
	if args.Canary {
		add(canaryPods, gatewayPods, "the canary's tail and queries", tcp(nginx.ListenPort))
		add(prometheus, canaryPods, "scraping the canary", tcp(canary.Port))
	}
	return flows
}

// Grafana is the peer reading Loki: Grafana's pods in GrafanaNamespace, the namespace its
// datasource sidecar watches, or in the stack's namespace when that is empty.
func Grafana(args *Args) Peer {
	p := Peer{Name: "grafana", Pods: GrafanaPodLabels}
	if ns := args.GrafanaNamespace; ns != "" && ns != args.NamespaceName {
		p.Namespace = ns
	}
	return p
}

// ObjectStore is the peer and ports of one destination of an object store's traffic: an
// in-cluster namespace's pods, given CIDRs, or Anywhere (a cloud store's addresses are many
// and change).
func ObjectStore(e objstore.Egress) (Peer, []Port) {
	p := Peer{Name: e.Name, Namespace: e.Namespace, CIDRs: e.CIDRs}
	if p.Namespace == "" && p.CIDRs == nil {
		p.CIDRs = Anywhere
	}
	var ports []Port
	for _, port := range e.Ports {
		ports = append(ports, tcp(port))
	}
	return p, ports
}
