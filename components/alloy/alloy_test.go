package alloy

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/kube"
	"obs-stack/internal/mocktest"
	"obs-stack/stacks"
)

const (
	daemonSetType = "kubernetes:apps/v1:DaemonSet"
	configMapType = "kubernetes:core/v1:ConfigMap"
	roleType      = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
	bindingType   = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
)

// testArgs are the arguments the program would pass for a spec: outputs for the push URL and
// brokers (as the gateway and Kafka components hand them over), the Secret when auth is on.
func testArgs(s stacks.Spec) *Args {
	a := s.Alloy
	args := &Args{
		Stack: kube.Stack{Namespace: pulumi.String(s.Cluster.Namespace), NamespaceName: s.Cluster.Namespace, Domain: s.Cluster.Domain, Instance: "obs-stack"},
		Image: a.Image, Resources: a.Resources, PodLogs: a.PodLogs, PodLogSource: a.PodLogSource,
		PushURL: testPushURL,
	}
	if s.Loki.AuthEnabled {
		args.Auth = &Auth{CredentialsSecret: pulumi.String("loki-gateway-credentials"), Tenant: s.Loki.Tenant}
	}
	if a.ConsumeKafka && s.Kafka.Enabled {
		args.Kafka = &KafkaSource{
			Brokers: []string{"kafka-0.kafka-headless:9092", "kafka-1.kafka-headless:9092"},
			Topics:  []string{"logs", "audit"}, GroupID: a.KafkaGroupID,
		}
	}
	return args
}

// run declares Alloy against the mocks; it returns the recorder and the MetricsService output.
func run(t *testing.T, args *Args) (*mocktest.Recorder, string, error) {
	t.Helper()
	rec := &mocktest.Recorder{}
	var metricsService string
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		c, err := New(ctx, "alloy", args)
		if err != nil {
			return err
		}
		c.MetricsService.ApplyT(func(name string) string { metricsService = name; return name })
		return nil
	}, pulumi.WithMocks("obs-stack", "test", rec))
	return rec, metricsService, err
}

func mustRun(t *testing.T, args *Args) *mocktest.Recorder {
	t.Helper()
	rec, _, err := run(t, args)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func container(ds mocktest.Resource) any {
	return mocktest.Dig(ds.Inputs, "spec", "template", "spec", "containers", 0)
}

// envByName maps the container's env vars by name.
func envByName(ds mocktest.Resource) map[string]any {
	out := map[string]any{}
	for _, e := range mocktest.Dig(container(ds), "env").([]any) {
		out[mocktest.Dig(e, "name").(string)] = e
	}
	return out
}

func renderedConfig(t *testing.T, rec *mocktest.Recorder) string {
	t.Helper()
	text, _ := mocktest.Dig(rec.One(t, configMapType).Inputs, "data", configFile).(string)
	if text == "" {
		t.Fatal("the ConfigMap holds no config")
	}
	return text
}

func TestDaemonSet(t *testing.T) {
	spec := stacks.Dev()
	rec, metricsService, err := run(t, testArgs(spec))
	if err != nil {
		t.Fatal(err)
	}
	ds := rec.One(t, daemonSetType)
	if got := mocktest.Dig(ds.Inputs, "metadata", "name"); got != "alloy" {
		t.Errorf("DaemonSet name = %v", got)
	}
	c := container(ds)
	if got := mocktest.Dig(c, "image"); got != spec.Alloy.Image {
		t.Errorf("image = %v", got)
	}
	wantArgs := []any{"run", "/etc/alloy/config.alloy", "--storage.path=/var/lib/alloy/data", "--server.http.listen-addr=0.0.0.0:12345"}
	if got, _ := mocktest.Dig(c, "args").([]any); !slices.Equal(got, wantArgs) {
		t.Errorf("args = %v", got)
	}
	if mocktest.Dig(c, "ports", 0, "containerPort") != float64(12345) || mocktest.Dig(c, "ports", 0, "name") != "http-metrics" {
		t.Errorf("ports = %v", mocktest.Dig(c, "ports"))
	}
	if got := mocktest.Dig(c, "readinessProbe", "httpGet", "path"); got != "/-/ready" {
		t.Errorf("readiness path = %v", got)
	}
	if got := mocktest.Dig(c, "resources", "limits", "memory"); got != spec.Alloy.Resources.Limits.Memory {
		t.Errorf("memory limit = %v", got)
	}
	pod := mocktest.Dig(ds.Inputs, "spec", "template", "spec")
	// 473 is the alloy user the grafana/alloy image creates (its own default is root).
	if mocktest.Dig(pod, "securityContext", "runAsUser") != float64(473) || mocktest.Dig(pod, "securityContext", "runAsNonRoot") != true {
		t.Errorf("pod security context = %v", mocktest.Dig(pod, "securityContext"))
	}
	if mocktest.Dig(c, "securityContext", "readOnlyRootFilesystem") != true || mocktest.Dig(c, "securityContext", "capabilities", "drop", 0) != "ALL" {
		t.Errorf("container security context = %v", mocktest.Dig(c, "securityContext"))
	}
	if mocktest.Dig(pod, "automountServiceAccountToken") != true || mocktest.Dig(pod, "serviceAccountName") != "alloy" {
		t.Errorf("pod logs need the alloy ServiceAccount's token: %v / %v", mocktest.Dig(pod, "automountServiceAccountToken"), mocktest.Dig(pod, "serviceAccountName"))
	}
	if got := mocktest.Dig(envByName(ds)["HOSTNAME"], "valueFrom", "fieldRef", "fieldPath"); got != "spec.nodeName" {
		t.Errorf("HOSTNAME must be the node name, got %v", got)
	}
	for _, v := range mocktest.Dig(pod, "volumes").([]any) {
		if mocktest.Dig(v, "hostPath") != nil {
			t.Errorf("api source mounts nothing from the host: %v", v)
		}
	}
	if got := mocktest.Dig(ds.Inputs, "spec", "template", "metadata", "annotations", kube.ConfigHashAnnotation); got != kube.Hash(renderedConfig(t, rec)) {
		t.Errorf("config hash annotation = %v, want the hash of the ConfigMap's config", got)
	}
	svc := rec.One(t, "kubernetes:core/v1:Service")
	if mocktest.Dig(svc.Inputs, "spec", "ports", 0, "port") != float64(12345) || metricsService != "alloy" {
		t.Errorf("metrics Service %v = %v", metricsService, mocktest.Dig(svc.Inputs, "spec", "ports"))
	}
}

func TestRBACIsReadOnlyOnPods(t *testing.T) {
	fileSpec := stacks.Dev()
	fileSpec.Alloy.PodLogSource = SourceFile
	for name, tc := range map[string]struct {
		spec      stacks.Spec
		resources []string
	}{
		"api":  {stacks.Dev(), []string{"pods", "pods/log"}},
		"file": {fileSpec, []string{"pods"}},
	} {
		t.Run(name, func(t *testing.T) {
			rec := mustRun(t, testArgs(tc.spec))
			role := rec.One(t, roleType)
			var resources []string
			for _, rule := range mocktest.Dig(role.Inputs, "rules").([]any) {
				if mocktest.Dig(rule, "apiGroups", 0) != "" {
					t.Errorf("rule outside the core API group: %v", rule)
				}
				for _, v := range mocktest.Dig(rule, "verbs").([]any) {
					if !slices.Contains([]any{"get", "list", "watch"}, v) {
						t.Errorf("verb %v: Alloy only reads", v)
					}
				}
				for _, r := range mocktest.Dig(rule, "resources").([]any) {
					if !slices.Contains(resources, r.(string)) {
						resources = append(resources, r.(string))
					}
				}
			}
			sort.Strings(resources)
			if !slices.Equal(resources, tc.resources) {
				t.Errorf("ClusterRole resources = %v, want %v", resources, tc.resources)
			}
			binding := rec.One(t, bindingType)
			if mocktest.Dig(binding.Inputs, "roleRef", "name") != "obs-stack-alloy-observability-dev" || mocktest.Dig(binding.Inputs, "subjects", 0, "name") != "alloy" ||
				mocktest.Dig(binding.Inputs, "subjects", 0, "namespace") != "observability-dev" {
				t.Errorf("ClusterRoleBinding = %v", binding.Inputs)
			}
		})
	}

	off := stacks.Dev()
	off.Alloy.PodLogs = false
	rec := mustRun(t, testArgs(off))
	if n := len(rec.OfType(roleType)) + len(rec.OfType(bindingType)); n != 0 {
		t.Errorf("without pod logs Alloy needs no API access, got %d RBAC objects", n)
	}
	if got := mocktest.Dig(rec.One(t, daemonSetType).Inputs, "spec", "template", "spec", "automountServiceAccountToken"); got != false {
		t.Errorf("without pod logs no token is mounted, got %v", got)
	}
}

func TestFileSourceMountsPodLogsReadOnly(t *testing.T) {
	spec := stacks.Dev()
	spec.Alloy.PodLogSource = SourceFile
	ds := mustRun(t, testArgs(spec)).One(t, daemonSetType)
	pod := mocktest.Dig(ds.Inputs, "spec", "template", "spec")
	var hostPaths []any
	for _, v := range mocktest.Dig(pod, "volumes").([]any) {
		if p := mocktest.Dig(v, "hostPath", "path"); p != nil {
			hostPaths = append(hostPaths, p)
		}
	}
	// The kubelet writes pod logs under /var/log/pods/<namespace>_<pod>_<uid>/<container>/.
	const kubeletPodLogs = "/var/log/pods"
	if !slices.Equal(hostPaths, []any{kubeletPodLogs}) {
		t.Errorf("host paths = %v, want only %s", hostPaths, kubeletPodLogs)
	}
	mounted := false
	for _, m := range mocktest.Dig(container(ds), "volumeMounts").([]any) {
		if mocktest.Dig(m, "mountPath") == kubeletPodLogs {
			mounted = true
			if mocktest.Dig(m, "readOnly") != true {
				t.Errorf("%s must be mounted read-only", kubeletPodLogs)
			}
		}
	}
	if !mounted {
		t.Errorf("%s is not mounted where Alloy reads it", kubeletPodLogs)
	}
	if got := mocktest.Dig(pod, "securityContext", "supplementalGroups", 0); got != float64(0) {
		t.Errorf("reading root:root 0640 log files needs group 0, supplementalGroups = %v", got)
	}
}

func TestCredentialsComeFromTheSecret(t *testing.T) {
	prod := mustRun(t, testArgs(stacks.Prod()))
	env := envByName(prod.One(t, daemonSetType))
	for envName, key := range map[string]string{envPassword: "password", envUsername: "username"} {
		ref := mocktest.Dig(env[envName], "valueFrom", "secretKeyRef")
		if mocktest.Dig(ref, "name") != "loki-gateway-credentials" || mocktest.Dig(ref, "key") != key {
			t.Errorf("%s = %v, want secretKeyRef loki-gateway-credentials/%s", envName, env[envName], key)
		}
		if mocktest.Dig(env[envName], "value") != nil {
			t.Errorf("%s has a literal value", envName)
		}
	}
	if text := renderedConfig(t, prod); !strings.Contains(text, `password = sys.env("`+envPassword+`")`) {
		t.Errorf("prod config must read the password from the environment:\n%s", text)
	}

	dev := mustRun(t, testArgs(stacks.Dev()))
	env = envByName(dev.One(t, daemonSetType))
	if _, ok := env[envPassword]; ok {
		t.Error("auth off: no password env")
	}
	if strings.Contains(renderedConfig(t, dev), "basic_auth") {
		t.Error("auth off: no basic_auth in the config")
	}

	missing := testArgs(stacks.Prod())
	missing.Auth.CredentialsSecret = nil
	if _, _, err := run(t, missing); err == nil || !strings.Contains(err.Error(), "CredentialsSecret") {
		t.Errorf("auth on without a Secret must fail, got %v", err)
	}
}

func TestKafkaSourceOnlyWithBrokers(t *testing.T) {
	text := renderedConfig(t, mustRun(t, testArgs(stacks.Dev())))
	f := mustParse(t, text)
	kafka := blocks(f, "loki.source.kafka")["kafka"]
	if kafka == nil {
		t.Fatalf("brokers given: want loki.source.kafka\n%s", text)
	}
	if got := attr(t, kafka.Body, "brokers"); got != `["kafka-0.kafka-headless:9092", "kafka-1.kafka-headless:9092"]` {
		t.Errorf("brokers = %s (the comma-separated output, split and trimmed)", got)
	}
	if got := attr(t, kafka.Body, "topics"); got != `["logs", "audit"]` {
		t.Errorf("topics = %s", got)
	}

	noKafka := stacks.Dev()
	noKafka.Alloy.ConsumeKafka = false
	if text := renderedConfig(t, mustRun(t, testArgs(noKafka))); len(blocks(mustParse(t, text), "loki.source.kafka")) != 0 {
		t.Errorf("no brokers: no Kafka source\n%s", text)
	}

	noBrokers := testArgs(stacks.Dev())
	noBrokers.Kafka.Brokers = nil // a Kafka source without brokers would silently consume nothing
	if _, _, err := run(t, noBrokers); err == nil || !strings.Contains(err.Error(), "Brokers") {
		t.Errorf("a Kafka source without brokers must fail, got %v", err)
	}
}

// TestTenantCredentialsComeFromTheirSecrets fails if the DaemonSet stops setting a tenant's
// LOKI_USERNAME_<i>/LOKI_PASSWORD_<i> from that tenant's Secret (or swaps two tenants' Secrets,
// or indexes them differently from the config), if the default credentials change, or if
// check() accepts tenants without Auth or a tenant without a Secret.
func TestTenantCredentialsComeFromTheirSecrets(t *testing.T) {
	args := testArgs(stacks.Prod())
	args.Kafka.Topics = []string{"logs", "audit"}
	args.Tenants = []Tenant{
		{Name: "team-a", Namespaces: []string{"team-a"}, Topics: []string{"audit"}, CredentialsSecret: pulumi.String("loki-team-a-credentials")},
		{Name: "team-b", Namespaces: []string{"team-b"}, CredentialsSecret: pulumi.String("loki-team-b-credentials")},
	}
	rec := mustRun(t, args)
	env := envByName(rec.One(t, daemonSetType))
	// Written by hand: env var → Secret/key.
	for envName, want := range map[string][2]string{
		"LOKI_USERNAME":   {"loki-gateway-credentials", "username"},
		"LOKI_PASSWORD":   {"loki-gateway-credentials", "password"},
		"LOKI_USERNAME_0": {"loki-team-a-credentials", "username"},
		"LOKI_PASSWORD_0": {"loki-team-a-credentials", "password"},
		"LOKI_USERNAME_1": {"loki-team-b-credentials", "username"},
		"LOKI_PASSWORD_1": {"loki-team-b-credentials", "password"},
	} {
		ref := mocktest.Dig(env[envName], "valueFrom", "secretKeyRef")
		if got := [2]any{mocktest.Dig(ref, "name"), mocktest.Dig(ref, "key")}; got != [2]any{want[0], want[1]} {
			t.Errorf("%s = %v, want secretKeyRef %s/%s", envName, env[envName], want[0], want[1])
		}
		if mocktest.Dig(env[envName], "value") != nil {
			t.Errorf("%s has a literal value", envName)
		}
	}
	text := renderedConfig(t, rec)
	for _, s := range []string{`password = sys.env("LOKI_PASSWORD_0")`, `tenant_id = "team-b"`, `regex         = "team-a"`} {
		if !strings.Contains(text, s) {
			t.Errorf("the ConfigMap's config lacks %s:\n%s", s, text)
		}
	}

	noAuth := testArgs(stacks.Prod())
	noAuth.Auth = nil
	noAuth.Tenants = args.Tenants
	if _, _, err := run(t, noAuth); err == nil || !strings.Contains(err.Error(), "Auth") {
		t.Errorf("tenants without Auth must fail, got %v", err)
	}
	noSecret := testArgs(stacks.Prod())
	noSecret.Tenants = []Tenant{{Name: "team-a", Namespaces: []string{"team-a"}}}
	if _, _, err := run(t, noSecret); err == nil || !strings.Contains(err.Error(), "CredentialsSecret") {
		t.Errorf("a tenant without a Secret must fail, got %v", err)
	}
}
