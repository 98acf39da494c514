package kafka

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/kube"
	"obs-stack/internal/mocktest"
)

// testArgs are the arguments the program would pass for a preset (plus config overrides).
func testArgs(t *testing.T, preset string, config map[string]string) *Args {
	t.Helper()
	s := mocktest.Spec(t, preset, config)
	k := s.Kafka
	return &Args{
		Stack: kube.Stack{Namespace: pulumi.String(s.Cluster.Namespace), NamespaceName: s.Cluster.Namespace, Domain: s.Cluster.Domain, Instance: "obs-stack"},
		Image: k.Image, Workload: k.Workload, MemoryLimitBytes: s.MemoryLimits["kafka"], StorageClass: s.Cluster.StorageClass, ProtectData: s.Cluster.ProtectData,
		ClusterID: k.ClusterID, OffsetsReplicationFactor: k.OffsetsReplicationFactor, TransactionReplicationFactor: k.TransactionReplicationFactor,
		Topics: k.Topics,
	}
}

// result is the component's outputs, resolved.
type result struct {
	bootstrapServers, clusterID string
	topics                      []string
}

// run declares the component for a preset (plus config overrides) against the mocks.
func run(t *testing.T, preset string, config map[string]string) (*mocktest.Recorder, result) {
	t.Helper()
	args := testArgs(t, preset, config)
	args.Instance = "test"
	rec := &mocktest.Recorder{}
	var out result
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		rp, err := random.NewProvider(ctx, "random", &random.ProviderArgs{})
		if err != nil {
			return err
		}
		k, err := New(ctx, "kafka", args, pulumi.Providers(rp))
		if err != nil {
			return err
		}
		out.topics = k.Topics
		var wg sync.WaitGroup
		wg.Add(1)
		out.bootstrapServers = strings.Join(k.Brokers, ",")
		k.ClusterID.ApplyT(func(id string) error {
			defer wg.Done()
			out.clusterID = id
			return nil
		})
		wg.Wait()
		return nil
	}, pulumi.WithMocks("obs-stack", preset, rec))
	if err != nil {
		t.Fatal(err)
	}
	return rec, out
}

func containerEnv(sts mocktest.Resource) map[string]string {
	env := map[string]string{}
	list, _ := mocktest.Dig(sts.Inputs, "spec", "template", "spec", "containers", 0, "env").([]any)
	for _, e := range list {
		env[mocktest.Dig(e, "name").(string)] = mocktest.Dig(e, "value").(string)
	}
	return env
}

func TestDevRegistersOneBroker(t *testing.T) {
	rec, out := run(t, "dev", nil)

	sts := rec.One(t, "kubernetes:apps/v1:StatefulSet")
	if got := mocktest.Dig(sts.Inputs, "metadata", "name"); got != "kafka" {
		t.Errorf("StatefulSet name = %v", got)
	}
	if got := mocktest.Dig(sts.Inputs, "spec", "replicas"); got != float64(1) {
		t.Errorf("replicas = %v", got)
	}
	if got := mocktest.Dig(sts.Inputs, "spec", "serviceName"); got != "kafka-headless" {
		t.Errorf("serviceName = %v", got)
	}
	if got := mocktest.Dig(sts.Inputs, "spec", "podManagementPolicy"); got != "Parallel" {
		t.Errorf("podManagementPolicy = %v", got)
	}
	claim := mocktest.Dig(sts.Inputs, "spec", "volumeClaimTemplates", 0)
	if mocktest.Dig(claim, "metadata", "name") != "data" || mocktest.Dig(claim, "spec", "resources", "requests", "storage") != "10Gi" {
		t.Errorf("volume claim template = %v", claim)
	}

	services := rec.OfType("kubernetes:core/v1:Service")
	if len(services) != 2 {
		t.Fatalf("want a headless and a ClusterIP Service, got %d", len(services))
	}
	byName := map[string]mocktest.Resource{}
	for _, s := range services {
		byName[mocktest.Dig(s.Inputs, "metadata", "name").(string)] = s
	}
	headless, client := byName["kafka-headless"], byName["kafka"]
	if mocktest.Dig(headless.Inputs, "spec", "clusterIP") != "None" || mocktest.Dig(headless.Inputs, "spec", "publishNotReadyAddresses") != true {
		t.Errorf("kafka-headless spec = %v", mocktest.Dig(headless.Inputs, "spec"))
	}
	if mocktest.Dig(headless.Inputs, "spec", "ports", 0, "port") != float64(9092) || mocktest.Dig(headless.Inputs, "spec", "ports", 1, "port") != float64(9093) {
		t.Errorf("kafka-headless ports = %v", mocktest.Dig(headless.Inputs, "spec", "ports"))
	}
	if mocktest.Dig(client.Inputs, "spec", "clusterIP") != nil || mocktest.Dig(client.Inputs, "spec", "ports", 0, "port") != float64(9092) || mocktest.Dig(client.Inputs, "spec", "ports", 1) != nil {
		t.Errorf("kafka (ClusterIP) spec = %v", mocktest.Dig(client.Inputs, "spec"))
	}

	id := rec.One(t, "random:index/randomId:RandomId")
	if mocktest.Dig(id.Inputs, "byteLength") != float64(16) || mocktest.Dig(id.Inputs, "keepers") != nil {
		t.Errorf("cluster id inputs = %v (16 bytes, no keepers)", id.Inputs)
	}
	if !strings.Contains(id.Provider, "pulumi:providers:random") {
		t.Errorf("the cluster id must use an explicit random provider, got %q", id.Provider)
	}
	if got := containerEnv(sts)["CLUSTER_ID"]; got != mocktest.ClusterID || out.clusterID != mocktest.ClusterID {
		t.Errorf("CLUSTER_ID env = %q, clusterId output = %q, want the generated %q", got, out.clusterID, mocktest.ClusterID)
	}

	job := rec.One(t, "kubernetes:batch/v1:Job")
	if name, _ := mocktest.Dig(job.Inputs, "metadata", "name").(string); !regexp.MustCompile(`^kafka-topics-[0-9a-f]{8}$`).MatchString(name) {
		t.Errorf("Job name = %q", name)
	}
	if mocktest.Dig(job.Inputs, "spec", "backoffLimit") != float64(6) || mocktest.Dig(job.Inputs, "spec", "ttlSecondsAfterFinished") != nil {
		t.Errorf("Job spec = %v", mocktest.Dig(job.Inputs, "spec"))
	}
	if !contains(job.Dependencies, urnSuffix(sts)) {
		t.Errorf("the Job must depend on the StatefulSet, depends on %v", job.Dependencies)
	}
	script, _ := mocktest.Dig(job.Inputs, "spec", "template", "spec", "containers", 0, "command", 2).(string)
	if !strings.Contains(script, "\nensure logs 1 1\n") || !strings.Contains(script, "--bootstrap-server kafka-0.kafka-headless") {
		t.Errorf("topic script = %q", script)
	}

	if n := len(rec.OfType("kubernetes:policy/v1:PodDisruptionBudget")); n != 0 {
		t.Errorf("one broker needs no PDB, got %d", n)
	}
	if strings.Join(out.topics, ",") != "logs" {
		t.Errorf("Topics = %v", out.topics)
	}
	rec.One(t, "obs-stack:kafka:Kafka")
	for _, r := range rec.Resources {
		if r.Type != "obs-stack:kafka:Kafka" && r.Type != "pulumi:providers:random" && !strings.HasSuffix(r.Parent, "obs-stack:kafka:Kafka::kafka") {
			t.Errorf("%s %s is not a child of the component (parent %q)", r.Type, r.Name, r.Parent)
		}
	}
}

func TestProdRegistersAQuorumOfThree(t *testing.T) {
	rec, out := run(t, "prod", nil)
	sts := rec.One(t, "kubernetes:apps/v1:StatefulSet")
	if got := mocktest.Dig(sts.Inputs, "spec", "replicas"); got != float64(3) {
		t.Errorf("replicas = %v", got)
	}
	env := containerEnv(sts)
	if voters := strings.Split(env["KAFKA_CONTROLLER_QUORUM_VOTERS"], ","); len(voters) != 3 || voters[2] != "2@kafka-2.kafka-headless.observability.svc.cluster.local:9093" {
		t.Errorf("quorum voters = %v", voters)
	}
	if got := env["KAFKA_HEAP_OPTS"]; got != "-Xmx2048m -Xms2048m" {
		t.Errorf("heap = %q, want half of the 4Gi limit", got)
	}
	if aff := mocktest.Dig(sts.Inputs, "spec", "template", "spec", "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", 0, "topologyKey"); aff != "kubernetes.io/hostname" {
		t.Errorf("prod brokers must be spread one per node, affinity = %v", aff)
	}
	pdb := rec.One(t, "kubernetes:policy/v1:PodDisruptionBudget")
	if got, want := mocktest.Dig(pdb.Inputs, "spec", "selector", "matchLabels"), mocktest.Dig(sts.Inputs, "spec", "selector", "matchLabels"); !equalMaps(got, want) {
		t.Errorf("PDB selects %v, brokers are %v", got, want)
	}
	if got := strings.Count(out.bootstrapServers, ",") + 1; got != 3 {
		t.Errorf("bootstrapServers = %q, want 3 brokers", out.bootstrapServers)
	}
}

// TestJobBootstrapNamesTheComponentsObjects: every broker address the topic Job uses is a pod
// of the StatefulSet behind the headless Service the component created, in its namespace.
func TestJobBootstrapNamesTheComponentsObjects(t *testing.T) {
	for _, preset := range []string{"dev", "prod"} {
		rec, out := run(t, preset, nil)
		sts := rec.One(t, "kubernetes:apps/v1:StatefulSet")
		stsName, ns := mocktest.Dig(sts.Inputs, "metadata", "name"), mocktest.Dig(sts.Inputs, "metadata", "namespace")
		replicas := int(mocktest.Dig(sts.Inputs, "spec", "replicas").(float64))
		headless := map[string]bool{}
		for _, s := range rec.OfType("kubernetes:core/v1:Service") {
			if mocktest.Dig(s.Inputs, "spec", "clusterIP") == "None" && mocktest.Dig(s.Inputs, "metadata", "namespace") == ns {
				headless[mocktest.Dig(s.Inputs, "metadata", "name").(string)] = true
			}
		}
		script := mocktest.Dig(rec.One(t, "kubernetes:batch/v1:Job").Inputs, "spec", "template", "spec", "containers", 0, "command", 2).(string)
		m := regexp.MustCompile(`--bootstrap-server (\S+)`).FindStringSubmatch(script)
		if m == nil {
			t.Fatalf("%s: no --bootstrap-server in %q", preset, script)
		}
		if m[1] != out.bootstrapServers {
			t.Errorf("%s: Job bootstrap %q differs from the bootstrapServers output %q", preset, m[1], out.bootstrapServers)
		}
		hosts := strings.Split(m[1], ",")
		if len(hosts) != replicas {
			t.Errorf("%s: %d bootstrap hosts for %d brokers", preset, len(hosts), replicas)
		}
		for i, h := range hosts {
			want := regexp.MustCompile(`^` + regexp.QuoteMeta(stsName.(string)) + `-(\d+)\.([a-z0-9-]+)\.` + regexp.QuoteMeta(ns.(string)) + `\.svc\.cluster\.local:9092$`)
			p := want.FindStringSubmatch(h)
			if p == nil || p[1] != strconv.Itoa(i) || !headless[p[2]] {
				t.Errorf("%s: bootstrap host %q is not pod %d of StatefulSet %v behind a headless Service %v", preset, h, i, stsName, headless)
			}
		}
	}
}

func TestBrokerPodsAreHardened(t *testing.T) {
	rec, _ := run(t, "prod", nil)
	for _, typ := range []string{"kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job"} {
		w := rec.One(t, typ)
		pod := mocktest.Dig(w.Inputs, "spec", "template", "spec")
		sc := mocktest.Dig(pod, "securityContext")
		if mocktest.Dig(sc, "runAsNonRoot") != true || mocktest.Dig(sc, "runAsUser") != float64(1000) || mocktest.Dig(pod, "automountServiceAccountToken") != false {
			t.Errorf("%s: pod security %v, automount %v", typ, sc, mocktest.Dig(pod, "automountServiceAccountToken"))
		}
		for _, list := range []string{"initContainers", "containers"} {
			containers, _ := mocktest.Dig(pod, list).([]any)
			for _, c := range containers {
				csc := mocktest.Dig(c, "securityContext")
				if mocktest.Dig(csc, "readOnlyRootFilesystem") != true || mocktest.Dig(csc, "allowPrivilegeEscalation") != false || mocktest.Dig(csc, "capabilities", "drop", 0) != "ALL" {
					t.Errorf("%s %s: container security context %v", typ, mocktest.Dig(c, "name"), csc)
				}
			}
		}
	}
	pod := mocktest.Dig(rec.One(t, "kubernetes:apps/v1:StatefulSet").Inputs, "spec", "template", "spec")
	if mocktest.Dig(pod, "enableServiceLinks") != false {
		t.Error("service links would inject KAFKA_PORT etc., which the image reads as server properties")
	}
	if mocktest.Dig(pod, "containers", 0, "readinessProbe", "tcpSocket", "port") != "client" {
		t.Errorf("readiness probe = %v", mocktest.Dig(pod, "containers", 0, "readinessProbe"))
	}
	mounts := map[string]bool{}
	for _, m := range mocktest.Dig(pod, "containers", 0, "volumeMounts").([]any) {
		mounts[mocktest.Dig(m, "mountPath").(string)] = true
	}
	for _, path := range []string{dataDir, configDir, logDir, "/tmp"} {
		if !mounts[path] {
			t.Errorf("read-only root filesystem: %s must be a mounted volume, mounts are %v", path, mounts)
		}
	}
}

func TestConfigChangeRollsBrokersAndTopicChangeRenamesTheJob(t *testing.T) {
	hash := func(rec *mocktest.Recorder) any {
		return mocktest.Dig(rec.One(t, "kubernetes:apps/v1:StatefulSet").Inputs, "spec", "template", "metadata", "annotations", "obs-stack.io/config-hash")
	}
	jobName := func(rec *mocktest.Recorder) any {
		return mocktest.Dig(rec.One(t, "kubernetes:batch/v1:Job").Inputs, "metadata", "name")
	}
	before, _ := run(t, "dev", nil)
	again, _ := run(t, "dev", nil)
	if hash(before) == nil || hash(before) != hash(again) || jobName(before) != jobName(again) {
		t.Fatalf("hash and Job name must be deterministic: %v/%v, %v/%v", hash(before), hash(again), jobName(before), jobName(again))
	}
	bigger, _ := run(t, "dev", map[string]string{"obs-stack:kafka": `{"resources":{"limits":{"memory":"2Gi"}}}`})
	if hash(bigger) == hash(before) {
		t.Error("a heap change must change the config hash")
	}
	if jobName(bigger) != jobName(before) {
		t.Error("a broker change must not re-run the topic Job")
	}
	morePartitions, _ := run(t, "dev", map[string]string{"obs-stack:kafka": `{"topics":[{"name":"logs","partitions":3,"replicationFactor":1}]}`})
	if jobName(morePartitions) == jobName(before) {
		t.Error("a topic change must create a new Job (Jobs are immutable)")
	}
	if hash(morePartitions) != hash(before) {
		t.Error("a topic change must not roll the brokers")
	}
}

// urnSuffix is how the resource's URN ends: type and name.
func urnSuffix(r mocktest.Resource) string { return r.Type + "::" + r.Name }

func contains(urns []string, suffix string) bool {
	for _, u := range urns {
		if strings.HasSuffix(u, suffix) {
			return true
		}
	}
	return false
}

func equalMaps(a, b any) bool {
	am, ok1 := a.(map[string]any)
	bm, ok2 := b.(map[string]any)
	if !ok1 || !ok2 || len(am) != len(bm) {
		return false
	}
	for k, v := range am {
		if bm[k] != v {
			return false
		}
	}
	return true
}

// TestAdoptedClusterID: an explicit kafka.clusterId is used as is and nothing is generated.
func TestAdoptedClusterID(t *testing.T) {
	const id = "MkU4OEVBMjU1OTJDNEI3Rg"
	rec, out := run(t, "dev", map[string]string{"obs-stack:kafka": `{"clusterId":"` + id + `"}`})
	if n := len(rec.OfType("random:index/randomId:RandomId")); n != 0 {
		t.Errorf("an adopted id must not generate one, got %d RandomIds", n)
	}
	if out.clusterID != id {
		t.Errorf("clusterId output = %q, want %q", out.clusterID, id)
	}
}
