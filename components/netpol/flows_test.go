package netpol

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	"obs-stack/stacks"
	"obs-stack/stacks/objstore"
)

// pairs renders a flow table as "from -> to ports", sorted.
func pairs(flows []Flow) []string {
	var out []string
	for _, f := range flows {
		var ports []string
		for _, p := range f.Ports {
			ports = append(ports, fmt.Sprintf("%s/%d", p.Protocol, p.Number))
		}
		out = append(out, fmt.Sprintf("%s -> %s %s", f.From.Name, f.To.Name, strings.Join(ports, ",")))
	}
	slices.Sort(out)
	return out
}

// The connections the pipeline needs, written out by hand: the table must hold each of them
// and nothing else.
var (
	pipelineCore = []string{
		"all-pods -> kube-dns UDP/53,TCP/53",
		"alloy -> gateway TCP/8080",
		"grafana -> gateway TCP/8080",
		"gateway -> loki TCP/3100",
		"loki -> loki TCP/3100,TCP/9095,TCP/7946",
		"prometheus -> loki TCP/3100",
		"alloy -> kube-apiserver TCP/443,TCP/6443",
		"prometheus -> alloy TCP/12345",
	}
	pipelineKafka = []string{
		"kafka -> kafka TCP/9092,TCP/9093",
		"kafka-topics -> kafka TCP/9092",
		"alloy -> kafka TCP/9092",
		"kafka-producers -> kafka TCP/9092",
	}
	pipelineProdStorage = []string{
		"loki -> memcached TCP/11211",
		"loki -> s3-store TCP/9000", // the prod preset's MinIO
	}
	// prod's monitoring: the exporters and the canary.
	pipelineMonitoring = []string{
		"prometheus -> gateway TCP/9113",
		"prometheus -> memcached TCP/9150",
		"loki-canary -> gateway TCP/8080",
		"prometheus -> loki-canary TCP/3500",
	}
	pipelineMonitoringKafka = []string{
		"kafka-exporter -> kafka TCP/9092",
		"prometheus -> kafka-exporter TCP/9308",
	}
)

func sorted(lists ...[]string) []string {
	out := slices.Concat(lists...)
	slices.Sort(out)
	return out
}

func TestFlowsAreExactlyThePipeline(t *testing.T) {
	noKafka := stacks.Prod()
	noKafka.Kafka.Enabled = false
	noConsumer := stacks.Dev()
	noConsumer.Alloy.ConsumeKafka = false
	noTopics := stacks.Dev()
	noTopics.Kafka.Topics = nil
	noPodLogs := stacks.Dev()
	noPodLogs.Alloy.PodLogs = false
	oneCache := stacks.Prod()
	oneCache.Loki.Caches.ResultsCache.Enabled = false
	noMonitoring := stacks.Prod()
	noMonitoring.Monitoring.Enabled, noMonitoring.Monitoring.Canary.Enabled = false, false
	devMonitored := stacks.Dev()
	devMonitored.Monitoring.Enabled, devMonitored.Monitoring.Canary.Enabled = true, true

	without := func(list []string, drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(p string) bool { return slices.Contains(drop, p) })
	}
	for _, tc := range []struct {
		name string
		spec stacks.Spec
		want []string
	}{
		{"dev", stacks.Dev(), sorted(pipelineCore, pipelineKafka)},
		{"prod", stacks.Prod(), sorted(pipelineCore, pipelineKafka, pipelineProdStorage, pipelineMonitoring, pipelineMonitoringKafka)},
		{"prod without kafka", noKafka, sorted(pipelineCore, pipelineProdStorage, pipelineMonitoring)},
		{"prod without monitoring", noMonitoring, sorted(pipelineCore, pipelineKafka, pipelineProdStorage)},
		{"dev with monitoring, no caches", devMonitored, sorted(pipelineCore, pipelineKafka, pipelineMonitoringKafka, without(pipelineMonitoring, "prometheus -> memcached TCP/9150"))},
		{"alloy not consuming kafka", noConsumer, sorted(pipelineCore, without(pipelineKafka, "alloy -> kafka TCP/9092"))},
		{"no topics to create", noTopics, sorted(pipelineCore, without(pipelineKafka, "kafka-topics -> kafka TCP/9092"))},
		{"no pod logs", noPodLogs, sorted(without(pipelineCore, "alloy -> kube-apiserver TCP/443,TCP/6443"), pipelineKafka)},
		{"one cache still needs memcached", oneCache, sorted(pipelineCore, pipelineKafka, pipelineProdStorage, pipelineMonitoring, pipelineMonitoringKafka)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := pairs(Flows(argsFor(tc.spec, instance)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("flows:\n  got  %q\n  want %q", got, tc.want)
			}
		})
	}
}

// Every pod group gets its own policy, whose name is a valid object name and not default-deny's.
func TestPolicyNamesAreDistinct(t *testing.T) {
	for _, spec := range []stacks.Spec{stacks.Dev(), stacks.Prod()} {
		groups, err := podGroups(Flows(argsFor(spec, instance)))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{DefaultDeny: true}
		for _, g := range groups {
			n := PolicyName(g.pods)
			if seen[n] {
				t.Errorf("two pod groups share policy name %s", n)
			}
			seen[n] = true
			if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
				t.Errorf("policy name %s: %v", n, errs)
			}
		}
	}
}

// Merging by name would give one group's pods another's rules: two peers with one name and
// different pods are refused.
func TestPodGroupsRefuseOneNameForTwoPodSets(t *testing.T) {
	impostor := Peer{Name: "loki", App: "loki-canary"}
	_, err := podGroups([]Flow{
		{From: lokiPods, To: lokiPods, Ports: []Port{tcp(3100)}},
		{From: impostor, To: kubeDNS, Ports: []Port{udp(53)}},
	})
	if err == nil || !strings.Contains(err.Error(), "share the name loki") {
		t.Errorf("err = %v, want one about the shared name loki", err)
	}
}

func TestGrafanaPeerFollowsGrafanaNamespace(t *testing.T) {
	s := stacks.Dev()
	if p := Grafana(argsFor(s, instance)); !p.InNamespace() {
		t.Errorf("grafana.namespace empty: Grafana should be in the stack's namespace, got %+v", p)
	}
	s.Grafana.Namespace = s.Cluster.Namespace
	if p := Grafana(argsFor(s, instance)); !p.InNamespace() {
		t.Errorf("grafana.namespace = stack namespace: got %+v", p)
	}
	s.Grafana.Namespace = "monitoring"
	if p := Grafana(argsFor(s, instance)); p.Namespace != "monitoring" || p.InNamespace() {
		t.Errorf("grafana.namespace monitoring: got %+v", p)
	}
}

// TestObjectStorePeer: an egress with neither namespace nor CIDRs is anywhere; the others
// keep theirs (objstore's tests check what each store's endpoint gives).
func TestObjectStorePeer(t *testing.T) {
	for _, tc := range []struct {
		in        objstore.Egress
		namespace string
		cidrs     []string
	}{
		{in: objstore.Egress{Name: "s3-store", Ports: []int{443}}, cidrs: Anywhere},
		{in: objstore.Egress{Name: "s3-store", Namespace: "minio", Ports: []int{9000}}, namespace: "minio"},
		{in: objstore.Egress{Name: "gke-metadata", CIDRs: []string{"169.254.169.254/32"}, Ports: []int{80}}, cidrs: []string{"169.254.169.254/32"}},
	} {
		peer, ports := ObjectStore(tc.in)
		if peer.Name != tc.in.Name || peer.Namespace != tc.namespace || !slices.Equal(peer.CIDRs, tc.cidrs) {
			t.Errorf("%+v: peer = %+v, want namespace %q cidrs %v", tc.in, peer, tc.namespace, tc.cidrs)
		}
		if len(ports) != 1 || ports[0] != tcp(tc.in.Ports[0]) {
			t.Errorf("%+v: ports = %v", tc.in, ports)
		}
	}
}

// TestOlderS3PeriodKeepsItsEgress: a store moved back from S3 to the filesystem still reads
// the old period's chunks from the bucket, so Loki keeps its way there.
func TestOlderS3PeriodKeepsItsEgress(t *testing.T) {
	spec := stacks.Dev()
	spec.Loki.Storage.S3 = stacks.Prod().Loki.Storage.S3
	spec.Loki.Schemas[0].ObjectStore = objstore.S3
	spec.Loki.Schemas = append(spec.Loki.Schemas, stacks.SchemaPeriod{From: "2099-01-01", Store: "tsdb", ObjectStore: objstore.Filesystem, Schema: "v13", IndexPrefix: "index_", IndexPeriod: "24h"})
	if got := pairs(Flows(argsFor(spec, instance))); !slices.Contains(got, "loki -> s3-store TCP/9000") {
		t.Errorf("filesystem with an older s3 period: flows %v lack Loki's egress to the bucket", got)
	}
}
