package program

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"obs-stack/internal/mocktest"
)

// runner writes the stack file once and returns one run of the program for stack with config
// (full keys to raw values) against the mocks. As after `pulumi config set`: the engine passes
// the values, the stack file lists the keys.
func runner(tb testing.TB, stack string, config map[string]string) func() (*mocktest.Recorder, error) {
	tb.Helper()
	file := map[string]any{}
	for k, v := range config {
		var value any
		if json.Unmarshal([]byte(v), &value) != nil {
			value = v
		}
		file[k] = value
	}
	raw, err := yaml.Marshal(map[string]any{"config": file})
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), raw, 0o644); err != nil {
		tb.Fatal(err)
	}
	withConfig := func(info *pulumi.RunInfo) { info.Config, info.RootDirectory = config, dir }
	return func() (*mocktest.Recorder, error) {
		rec := &mocktest.Recorder{}
		return rec, pulumi.RunErr(Run, pulumi.WithMocks("obs-stack", stack, rec), withConfig)
	}
}

// run runs the program once for stack with config against the mocks.
func run(t *testing.T, stack string, config map[string]string) (*mocktest.Recorder, error) {
	t.Helper()
	return runner(t, stack, config)()
}

func mustRun(t *testing.T, stack string, config map[string]string) *mocktest.Recorder {
	t.Helper()
	rec, err := run(t, stack, config)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// lokiWorkloads are the Loki target workloads (not caches) by Kubernetes kind and name.
func lokiWorkloads(rec *mocktest.Recorder) map[string]mocktest.Resource {
	out := map[string]mocktest.Resource{}
	for _, kind := range []string{"StatefulSet", "Deployment"} {
		for _, res := range rec.OfType("kubernetes:apps/v1:" + kind) {
			if mocktest.Dig(res.Inputs, "metadata", "labels", "app.kubernetes.io/name") == "loki" {
				out[kind+"/"+res.Name] = res
			}
		}
	}
	return out
}

func lokiConfig(t *testing.T, rec *mocktest.Recorder) map[string]any {
	t.Helper()
	var cms []mocktest.Resource
	for _, cm := range rec.OfType("kubernetes:core/v1:ConfigMap") {
		if cm.Name == "loki-config" {
			cms = append(cms, cm)
		}
	}
	if len(cms) != 1 {
		t.Fatalf("want one Loki ConfigMap, got %d", len(cms))
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(mocktest.Dig(cms[0].Inputs, "data", "config.yaml").(string)), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestDevRegistersOneSmallLoki(t *testing.T) {
	rec := mustRun(t, "dev", nil)
	workloads := lokiWorkloads(rec)
	if got := slices.Sorted(maps.Keys(workloads)); len(got) != 1 || got[0] != "StatefulSet/loki-single-binary" {
		t.Fatalf("dev Loki workloads = %v", got)
	}
	sts := workloads["StatefulSet/loki-single-binary"]
	container := mocktest.Dig(sts.Inputs, "spec", "template", "spec", "containers", 0)
	if got := mocktest.Dig(container, "resources", "limits", "memory"); got != "512Mi" {
		t.Errorf("memory limit = %v", got)
	}
	if got := mocktest.Dig(container, "args", 1); got != "-target=all" {
		t.Errorf("target arg = %v", got)
	}
	if got := mocktest.Dig(sts.Inputs, "spec", "replicas"); got != float64(1) {
		t.Errorf("replicas = %v", got)
	}
	if got := mocktest.Dig(lokiConfig(t, rec), "common", "replication_factor"); got != float64(1) {
		t.Errorf("replication_factor = %v", got)
	}
	if n := len(rec.OfType("kubernetes:policy/v1:PodDisruptionBudget")); n != 0 {
		t.Errorf("one replica needs no PDB, got %d", n)
	}
	if n := len(rec.OfType("pulumi:providers:kubernetes")); n != 1 {
		t.Errorf("want exactly one explicit Kubernetes provider, got %d", n)
	}
}

func TestProdRegistersEveryDistributedComponent(t *testing.T) {
	rec := mustRun(t, "prod", nil)
	// Loki's Distributed targets, those that keep state on disk as StatefulSets, with the
	// replicas the prod preset documents.
	want := map[string]int{
		"Deployment/loki-distributor":     3,
		"StatefulSet/loki-ingester":       3,
		"Deployment/loki-querier":         3,
		"Deployment/loki-query-frontend":  2,
		"Deployment/loki-query-scheduler": 2,
		"StatefulSet/loki-index-gateway":  2,
		"StatefulSet/loki-compactor":      1,
		"StatefulSet/loki-ruler":          2,
	}
	got := lokiWorkloads(rec)
	if strings.Join(slices.Sorted(maps.Keys(got)), ",") != strings.Join(slices.Sorted(maps.Keys(want)), ",") {
		t.Fatalf("prod workloads = %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	pdbs := map[string]bool{}
	for _, p := range rec.OfType("kubernetes:policy/v1:PodDisruptionBudget") {
		pdbs[p.Name] = true
	}
	for name, replicas := range want {
		if r := mocktest.Dig(got[name].Inputs, "spec", "replicas"); r != float64(replicas) {
			t.Errorf("%s replicas = %v, want %d", name, r, replicas)
		}
		_, short, _ := strings.Cut(name, "/")
		if pdbs[short] != (replicas > 1) {
			t.Errorf("%s: PDB present = %v with %d replicas", name, pdbs[short], replicas)
		}
	}
	ingester := got["StatefulSet/loki-ingester"]
	if aff := mocktest.Dig(ingester.Inputs, "spec", "template", "spec", "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", 0, "topologyKey"); aff != "kubernetes.io/hostname" {
		t.Errorf("ingesters must be spread one per node, affinity = %v", aff)
	}
	if got := mocktest.Dig(lokiConfig(t, rec), "common", "replication_factor"); got != float64(3) {
		t.Errorf("replication_factor = %v", got)
	}
	caches := 0
	for _, d := range rec.OfType("kubernetes:apps/v1:Deployment") {
		if mocktest.Dig(d.Inputs, "metadata", "labels", "app.kubernetes.io/name") == "memcached" {
			caches++
			mem := mocktest.Dig(d.Inputs, "spec", "template", "spec", "containers", 0, "resources")
			if mocktest.Dig(mem, "requests", "memory") != mocktest.Dig(mem, "limits", "memory") {
				t.Errorf("%s: cache memory request and limit must be one number: %v", d.Name, mem)
			}
		}
	}
	if caches != 2 {
		t.Errorf("want chunks and results caches, got %d", caches)
	}
}

func TestModeOverrideRegistersOnlyReadWriteBackend(t *testing.T) {
	rec := mustRun(t, "prod", map[string]string{"obs-stack:loki": `{"mode":"SimpleScalable"}`})
	got := strings.Join(slices.Sorted(maps.Keys(lokiWorkloads(rec))), ",")
	if want := "Deployment/loki-read,StatefulSet/loki-backend,StatefulSet/loki-write"; got != want {
		t.Fatalf("SimpleScalable workloads = %s, want %s", got, want)
	}
	for _, svc := range rec.OfType("kubernetes:core/v1:Service") {
		for _, gone := range []string{"distributor", "ingester", "querier", "single-binary"} {
			if strings.Contains(svc.Name, gone) {
				t.Errorf("Service %s belongs to another mode", svc.Name)
			}
		}
	}
}

// TestConfigChangeRollsOnlyLokiPods: a Loki config change gives every Loki pod template a new
// config hash, and leaves the other pod templates (gateway, Alloy, Kafka, memcached) exactly as
// they were, hash included, so only Loki's pods roll.
func TestConfigChangeRollsOnlyLokiPods(t *testing.T) {
	const hashKey = "obs-stack.io/config-hash"
	// templates are the pod templates by "Kind/name"; loki tells which run Loki.
	templates := func(rec *mocktest.Recorder) (out map[string]any, loki map[string]bool) {
		out, loki = map[string]any{}, map[string]bool{}
		for _, kind := range []string{"StatefulSet", "Deployment", "DaemonSet"} {
			for _, w := range rec.OfType("kubernetes:apps/v1:" + kind) {
				out[kind+"/"+w.Name] = mocktest.Dig(w.Inputs, "spec", "template")
				loki[kind+"/"+w.Name] = mocktest.Dig(w.Inputs, "metadata", "labels", "app.kubernetes.io/name") == "loki"
			}
		}
		return out, loki
	}
	for _, c := range []struct {
		stack, retention string
		lokiPods         int
		others           []string // the pods that must not roll, written out by hand
	}{
		{"dev", "72h", 1, []string{"DaemonSet/alloy", "Deployment/loki-gateway", "StatefulSet/kafka"}},
		{"prod", "240h", 8, []string{"DaemonSet/alloy", "Deployment/canary", "Deployment/kafka-exporter", "Deployment/loki-chunks-cache", "Deployment/loki-gateway", "Deployment/loki-results-cache", "StatefulSet/kafka"}},
	} {
		before, lokiPods := templates(mustRun(t, c.stack, nil))
		after, _ := templates(mustRun(t, c.stack, map[string]string{"obs-stack:loki": `{"limits":{"retentionPeriod":"` + c.retention + `"}}`}))
		again, _ := templates(mustRun(t, c.stack, nil))
		var others []string
		for name, tmpl := range before {
			hash := mocktest.Dig(tmpl, "metadata", "annotations", hashKey)
			if !reflect.DeepEqual(tmpl, again[name]) {
				t.Errorf("%s %s: the pod template differs between two runs of the same config", c.stack, name)
			}
			if lokiPods[name] {
				if hash == nil || hash == mocktest.Dig(after[name], "metadata", "annotations", hashKey) {
					t.Errorf("%s %s: config hash must change with Loki's config: %v -> %v", c.stack, name, hash, mocktest.Dig(after[name], "metadata", "annotations", hashKey))
				}
				continue
			}
			others = append(others, name)
			if got := mocktest.Dig(after[name], "metadata", "annotations", hashKey); got != hash {
				t.Errorf("%s %s: config hash changed with Loki's config: %v -> %v", c.stack, name, hash, got)
			}
			if !reflect.DeepEqual(tmpl, after[name]) {
				t.Errorf("%s %s: pod template changed with Loki's config", c.stack, name)
			}
		}
		if n := len(before) - len(others); n != c.lokiPods {
			t.Errorf("%s: %d Loki pod templates, want %d", c.stack, n, c.lokiPods)
		}
		if slices.Sort(others); !slices.Equal(others, c.others) {
			t.Errorf("%s: pods other than Loki's are %v, want %v", c.stack, others, c.others)
		}
		for _, name := range c.others {
			// Pods that read no config file have no hash.
			noConfig := []string{"Deployment/loki-chunks-cache", "Deployment/loki-results-cache", "Deployment/canary", "Deployment/kafka-exporter"}
			if !slices.Contains(noConfig, name) && mocktest.Dig(before[name], "metadata", "annotations", hashKey) == nil {
				t.Errorf("%s %s has no config hash to keep", c.stack, name)
			}
		}
	}
}

func TestPodsAreHardened(t *testing.T) {
	rec := mustRun(t, "prod", nil)
	checked := 0
	for _, kind := range []string{"StatefulSet", "Deployment"} {
		for _, w := range rec.OfType("kubernetes:apps/v1:" + kind) {
			checked++
			pod := mocktest.Dig(w.Inputs, "spec", "template", "spec")
			if mocktest.Dig(pod, "securityContext", "runAsNonRoot") != true || mocktest.Dig(pod, "automountServiceAccountToken") != false {
				t.Errorf("%s: pod security context %v", w.Name, mocktest.Dig(pod, "securityContext"))
			}
			containers, _ := mocktest.Dig(pod, "containers").([]any)
			for i := range containers { // the exporter sidecars too
				c := mocktest.Dig(pod, "containers", i, "securityContext")
				if mocktest.Dig(c, "readOnlyRootFilesystem") != true || mocktest.Dig(c, "allowPrivilegeEscalation") != false || mocktest.Dig(c, "capabilities", "drop", 0) != "ALL" {
					t.Errorf("%s container %d: security context %v", w.Name, i, c)
				}
			}
		}
	}
	// 8 Loki targets, 2 caches, the gateway, Kafka, the Kafka exporter and the canary (Alloy,
	// a DaemonSet, mounts its token).
	if checked != 14 {
		t.Errorf("checked %d workloads, want prod's 14", checked)
	}
}

func TestSecretsStayOutOfConfigMaps(t *testing.T) {
	rec := mustRun(t, "prod", nil)
	cfg := lokiConfig(t, rec)
	if got := mocktest.Dig(cfg, "common", "storage", "s3", "secret_access_key"); got != "${AWS_SECRET_ACCESS_KEY}" {
		t.Errorf("S3 secret must come from the environment, config has %v", got)
	}
	env := mocktest.Dig(lokiWorkloads(rec)["StatefulSet/loki-ingester"].Inputs, "spec", "template", "spec", "containers", 0, "env", 1)
	if mocktest.Dig(env, "valueFrom", "secretKeyRef", "name") != "loki-s3-credentials" {
		t.Errorf("ingester env = %v", env)
	}
}

func TestWholeStackIsDeclared(t *testing.T) {
	// One NetworkPolicy per pod group plus default-deny (issue 11: each object costs a round
	// trip on every preview); before the merge, one per flow and direction: dev 20, prod 23.
	// prod's two more: the Kafka exporter's and the canary's pods (monitoring).
	networkPolicies := map[string]int{"dev": 8, "prod": 11}
	for _, stack := range []string{"dev", "prod"} {
		rec := mustRun(t, stack, nil)
		if n := len(rec.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy")); n != networkPolicies[stack] {
			t.Errorf("%s: %d NetworkPolicies, want %d", stack, n, networkPolicies[stack])
		}
		for _, component := range []string{"obs-stack:loki:Loki", "obs-stack:gateway:Gateway", "obs-stack:grafana:Datasources", "obs-stack:alloy:Alloy", "obs-stack:kafka:Kafka"} {
			if n := len(rec.OfType(component)); n != 1 {
				t.Errorf("%s: %s registered %d times", stack, component, n)
			}
		}
		if n := len(rec.OfType("pulumi:providers:kubernetes")) + len(rec.OfType("pulumi:providers:random")); n != 2 {
			t.Errorf("%s: want one explicit kubernetes and one random provider, got %d", stack, n)
		}
	}
}

// serviceHost matches an in-cluster Service DNS name in any config text.
var serviceHost = regexp.MustCompile(`([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9-]+)\.svc\.cluster\.local`)

// TestNoDanglingServiceNames: every in-cluster name any component writes into a config,
// an env var or an argument is a Service some component creates (or a per-pod name under a
// headless one).
func TestNoDanglingServiceNames(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		rec := mustRun(t, stack, nil)
		services := map[string]bool{}
		for _, svc := range rec.OfType("kubernetes:core/v1:Service") {
			services[fmt.Sprint(mocktest.Dig(svc.Inputs, "metadata", "name"), ".", mocktest.Dig(svc.Inputs, "metadata", "namespace"))] = true
		}
		services["kube-dns.kube-system"] = true   // the cluster's DNS, from cluster.dnsService
		services["minio.minio"] = stack == "prod" // prod's object store, outside the stack (loki.storage.s3.endpoint)
		found := 0
		for _, r := range rec.Resources {
			text := fmt.Sprint(r.Inputs)
			for _, m := range serviceHost.FindAllStringSubmatch(text, -1) {
				found++
				name := m[1] + "." + m[3]
				if services[name] {
					continue
				}
				// kafka-0.kafka-headless.ns: a pod under a headless Service
				if pod, svc, ok := strings.Cut(m[0], "."); ok && pod != "" && services[strings.TrimSuffix(svc, ".svc.cluster.local")] {
					continue
				}
				t.Errorf("%s: %s %s refers to %s, which no component creates", stack, r.Type, r.Name, m[0])
			}
		}
		if found < 10 {
			t.Fatalf("%s: only %d in-cluster names found; the scan is broken", stack, found)
		}
	}
}

// TestEveryHeadlessServiceIsUsed: a headless Service exists only where something resolves
// it: a StatefulSet's serviceName (its pods' DNS names), or a name some component writes into
// a config, an env var or an argument. The hand-written lists are the Loki targets the
// Loki config addresses per pod in each mode (issue 11 dropped the distributor's, querier's,
// query frontend's and SimpleScalable read's, which nothing resolved).
func TestEveryHeadlessServiceIsUsed(t *testing.T) {
	for _, tc := range []struct {
		name, stack string
		config      map[string]string
		want        []string // Loki's headless Services, besides memberlist and the caches
	}{
		{"dev (SingleBinary)", "dev", nil, []string{"loki-single-binary-headless"}},
		{"prod (Distributed)", "prod", nil, []string{"loki-compactor-headless", "loki-index-gateway-headless", "loki-ingester-headless", "loki-query-scheduler-headless", "loki-ruler-headless"}},
		{"prod (SimpleScalable)", "prod", map[string]string{"obs-stack:loki": `{"mode":"SimpleScalable"}`}, []string{"loki-backend-headless", "loki-write-headless"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := mustRun(t, tc.stack, tc.config)
			serviceNames := map[string]bool{}
			for _, sts := range rec.OfType("kubernetes:apps/v1:StatefulSet") {
				serviceNames[fmt.Sprint(mocktest.Dig(sts.Inputs, "spec", "serviceName"))] = true
			}
			var loki []string
			for _, svc := range rec.OfType("kubernetes:core/v1:Service") {
				if mocktest.Dig(svc.Inputs, "spec", "clusterIP") != "None" {
					continue
				}
				name := fmt.Sprint(mocktest.Dig(svc.Inputs, "metadata", "name"))
				if strings.HasSuffix(name, "-headless") && strings.HasPrefix(name, "loki-") {
					loki = append(loki, name)
				}
				used := serviceNames[name]
				for _, r := range rec.Resources {
					if r.Type != "kubernetes:core/v1:Service" && strings.Contains(fmt.Sprint(r.Inputs), name+".") {
						used = true
					}
				}
				if !used {
					t.Errorf("headless Service %s: no StatefulSet names it and no config resolves it", name)
				}
			}
			slices.Sort(loki)
			if !slices.Equal(loki, tc.want) {
				t.Errorf("Loki's headless Services = %v, want %v", loki, tc.want)
			}
		})
	}
}

func TestGrafanaReadsThroughTheGateway(t *testing.T) {
	rec := mustRun(t, "prod", nil)
	var file string
	for _, s := range rec.OfType("kubernetes:core/v1:Secret") {
		if mocktest.Dig(s.Inputs, "metadata", "labels", "grafana_datasource") == "1" {
			file, _ = mocktest.Dig(s.Inputs, "stringData", "obs-stack-datasources.yaml").(string)
		}
	}
	var prov struct {
		Datasources []map[string]any `json:"datasources"`
	}
	if err := yaml.Unmarshal([]byte(file), &prov); err != nil || len(prov.Datasources) == 0 {
		t.Fatalf("no datasource provisioning Secret (%v): %q", err, file)
	}
	loki := prov.Datasources[0]
	if loki["url"] != "http://loki-gateway.observability.svc.cluster.local" {
		t.Errorf("Loki datasource url = %v, want the gateway", loki["url"])
	}
	if mocktest.Dig(loki, "jsonData", "httpHeaderName1") != "X-Scope-OrgID" || mocktest.Dig(loki, "secureJsonData", "httpHeaderValue1") != "default" {
		t.Errorf("tenant header = %v / %v", mocktest.Dig(loki, "jsonData"), mocktest.Dig(loki, "secureJsonData"))
	}
	if mocktest.Dig(loki, "jsonData", "timeout") != float64(60) || mocktest.Dig(loki, "jsonData", "maxLines") != float64(1000) {
		t.Errorf("jsonData = %v", mocktest.Dig(loki, "jsonData"))
	}
	if mocktest.Dig(loki, "secureJsonData", "basicAuthPassword") != mocktest.Password {
		t.Errorf("the datasource must carry the gateway password in secureJsonData")
	}
}

// TestSecretsNeverInPlainObjects: the gateway password appears only in Secrets.
func TestSecretsNeverInPlainObjects(t *testing.T) {
	rec := mustRun(t, "prod", nil)
	inSecret := 0
	for _, r := range rec.Resources {
		has := strings.Contains(fmt.Sprint(r.Inputs), mocktest.Password)
		switch {
		case has && r.Type == "kubernetes:core/v1:Secret":
			inSecret++
		case has:
			t.Errorf("%s %s contains the gateway password", r.Type, r.Name)
		}
	}
	if inSecret != 2 { // the gateway auth Secret and Grafana's datasource Secret
		t.Errorf("password found in %d Secrets, want 2", inSecret)
	}
}

// TestPortNamesAreValid: the API server refuses container port names over 15 characters
// (IANA service names), which mocks would not notice.
func TestPortNamesAreValid(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		rec := mustRun(t, stack, nil)
		checked := 0
		for _, kind := range []string{"StatefulSet", "Deployment", "DaemonSet"} {
			for _, w := range rec.OfType("kubernetes:apps/v1:" + kind) {
				containers, _ := mocktest.Dig(w.Inputs, "spec", "template", "spec", "containers").([]any)
				for _, c := range containers {
					ports, _ := mocktest.Dig(c, "ports").([]any)
					for _, p := range ports {
						name, _ := mocktest.Dig(p, "name").(string)
						checked++
						if errs := validation.IsValidPortName(name); len(errs) > 0 {
							t.Errorf("%s %s: port name %q: %v", kind, w.Name, name, errs)
						}
					}
				}
			}
		}
		for _, svc := range rec.OfType("kubernetes:core/v1:Service") {
			ports, _ := mocktest.Dig(svc.Inputs, "spec", "ports").([]any)
			for _, p := range ports {
				if target, ok := mocktest.Dig(p, "targetPort").(string); ok {
					if errs := validation.IsValidPortName(target); len(errs) > 0 {
						t.Errorf("Service %s: targetPort %q: %v", svc.Name, target, errs)
					}
				}
			}
		}
		if checked < 5 {
			t.Fatalf("%s: only %d container ports checked", stack, checked)
		}
	}
}

// TestVersionLabelReadsTheImageAsTheRuntimeDoes: the app.kubernetes.io/version label is the
// image's tag as a container runtime reads the reference (values written by hand): a registry
// port is no tag, and an image pinned by digest alone has no version.
func TestVersionLabelReadsTheImageAsTheRuntimeDoes(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	for image, want := range map[string]any{
		"grafana/loki:3.7.8":                               "3.7.8",
		"registry.local:5000/grafana/loki:3.7.8-amd64":     "3.7.8-amd64",
		"registry.local:5000/grafana/loki":                 nil,
		"registry.local:5000/grafana/loki@" + digest:       nil,
		"registry.local:5000/grafana/loki:3.7.8@" + digest: "3.7.8",
	} {
		rec := mustRun(t, "dev", map[string]string{"obs-stack:loki.image": image})
		sts := lokiWorkloads(rec)["StatefulSet/loki-single-binary"]
		if got := mocktest.Dig(sts.Inputs, "metadata", "labels", "app.kubernetes.io/version"); got != want {
			t.Errorf("loki.image %s: version label %v, want %v", image, got, want)
		}
		if got := mocktest.Dig(sts.Inputs, "spec", "template", "spec", "containers", 0, "image"); got != image {
			t.Errorf("loki.image %s: the container runs %v", image, got)
		}
	}
}
