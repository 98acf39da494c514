package loki

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/kube"
	"obs-stack/internal/mocktest"
	"obs-stack/stacks"
	"obs-stack/stacks/objstore"
)

// declare runs New for spec against the mock engine and returns what it registered.
func declare(t *testing.T, spec stacks.Valid) *mocktest.Recorder {
	t.Helper()
	rec := &mocktest.Recorder{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := New(ctx, "loki", &Args{
			Stack: kube.Stack{Namespace: pulumi.String(spec.Cluster.Namespace), NamespaceName: spec.Cluster.Namespace, Domain: spec.Cluster.Domain, Instance: "obs-stack"},
			Loki:  spec.Loki, Retention: spec.Retention, Storage: spec.Storage, StorageClass: spec.Cluster.StorageClass, ProtectData: spec.Cluster.ProtectData,
		})
		return err
	}, pulumi.WithMocks("obs-stack", "test", rec))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestMigrationPodsReachBothStores: while any period is in S3 the pods need the credentials
// the config's ${AWS_...} refer to, and while any period is on the filesystem its PVC stays.
func TestMigrationPodsReachBothStores(t *testing.T) {
	for name, spec := range map[string]stacks.Valid{
		"to s3":              migrationSpec(t, objstore.S3),
		"back to filesystem": migrationSpec(t, objstore.Filesystem),
		"dev":                mocktest.Spec(t, "dev", nil),
	} {
		t.Run(name, func(t *testing.T) {
			sts := declare(t, spec).One(t, "kubernetes:apps/v1:StatefulSet")
			if got := mocktest.Dig(sts.Inputs, "spec", "volumeClaimTemplates", 0, "metadata", "name"); got != "storage" {
				t.Errorf("the filesystem PVC is gone: volumeClaimTemplates[0].metadata.name = %v", got)
			}
			if got := mocktest.Dig(sts.Inputs, "spec", "volumeClaimTemplates", 0, "spec", "resources", "requests", "storage"); got != spec.Loki.SingleBinary.Storage {
				t.Errorf("PVC size = %v, want %s", got, spec.Loki.SingleBinary.Storage)
			}

			env, _ := mocktest.Dig(sts.Inputs, "spec", "template", "spec", "containers", 0, "env").([]any)
			if name == "dev" {
				if len(env) != 0 {
					t.Errorf("dev without S3 got env %v", env)
				}
				return
			}
			want := map[string]string{"AWS_ACCESS_KEY_ID": "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY"}
			for _, e := range env {
				envName, _ := mocktest.Dig(e, "name").(string)
				if v := mocktest.Dig(e, "value"); v != nil {
					t.Errorf("env %s carries a plain value", envName)
				}
				ref := mocktest.Dig(e, "valueFrom", "secretKeyRef")
				if mocktest.Dig(ref, "name") == "loki-s3-credentials" && mocktest.Dig(ref, "key") == want[envName] {
					delete(want, envName)
				}
			}
			if len(want) != 0 {
				t.Errorf("missing credentials from Secret loki-s3-credentials: %v (env %v)", want, env)
			}
		})
	}
}

// TestStoreCredentialsReachThePods: what each credential source asks of the Loki pods lands
// on every Loki workload and on the ServiceAccount they run as. Expected values are the
// provider docs' names (GOOGLE_APPLICATION_CREDENTIALS, iam.gke.io/gcp-service-account,
// azure.workload.identity/*, eks.amazonaws.com/role-arn), written here by hand. It fails if a
// workload missed the key file, or the annotation or label went elsewhere.
func TestStoreCredentialsReachThePods(t *testing.T) {
	specs := goldenSpecs(t)
	for name, c := range map[string]struct {
		annotation, value, label, envVar, secretVolume string
	}{
		"prod-gcs":                     {envVar: "GOOGLE_APPLICATION_CREDENTIALS", secretVolume: "loki-gcs-key"},
		"prod-gcs-workload-identity":   {annotation: "iam.gke.io/gcp-service-account", value: "loki-logs@acme-prod.iam.gserviceaccount.com"},
		"prod-azure":                   {envVar: "AZURE_ACCOUNT_KEY"},
		"prod-azure-workload-identity": {annotation: "azure.workload.identity/client-id", value: "6f1c2a9e-3b7d-4c1e-9a2f-0d8e5b7c4a31", label: "azure.workload.identity/use"},
		"prod-s3-irsa":                 {annotation: "eks.amazonaws.com/role-arn", value: "arn:aws:iam::123456789012:role/loki"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := declare(t, specs[name])
			sa := rec.One(t, "kubernetes:core/v1:ServiceAccount")
			annotations, _ := mocktest.Dig(sa.Inputs, "metadata", "annotations").(map[string]any)
			if c.annotation != "" && annotations[c.annotation] != c.value {
				t.Errorf("ServiceAccount annotations %v lack %s: %s", annotations, c.annotation, c.value)
			}
			if c.annotation == "" && len(annotations) != 1 { // pulumi.com/patchForce only
				t.Errorf("a Secret's credentials need no ServiceAccount annotation, got %v", annotations)
			}
			workloads := append(rec.OfType("kubernetes:apps/v1:StatefulSet"), rec.OfType("kubernetes:apps/v1:Deployment")...)
			for _, w := range workloads {
				if strings.Contains(w.Name, "cache") {
					continue // memcached reads no store
				}
				pod := mocktest.Dig(w.Inputs, "spec", "template")
				text := fmt.Sprint(pod)
				if c.envVar != "" && !strings.Contains(text, c.envVar) {
					t.Errorf("%s lacks %s", w.Name, c.envVar)
				}
				if c.secretVolume != "" && !strings.Contains(text, "secretName:"+c.secretVolume) {
					t.Errorf("%s does not mount the Secret %s: %s", w.Name, c.secretVolume, text)
				}
				labels, _ := mocktest.Dig(pod, "metadata", "labels").(map[string]any)
				if _, ok := labels["azure.workload.identity/use"]; ok != (c.label != "") {
					t.Errorf("%s: azure.workload.identity/use label present %t, want %t", w.Name, ok, c.label != "")
				}
			}
		})
	}
}

// TestAutoscaledTargetsGetAnHPA: a target with autoscaling.maxReplicas gets an autoscaling/v2
// HorizontalPodAutoscaler of its Deployment between replicas and maxReplicas on CPU, and the
// others none; every PodDisruptionBudget lets unhealthy pods go (AlwaysAllow). Expected values
// are the stack file's, written by hand. It fails if the HPA pointed at another Deployment,
// took its floor from elsewhere, or appeared for a target that does not autoscale.
func TestAutoscaledTargetsGetAnHPA(t *testing.T) {
	spec := mocktest.Spec(t, "prod", map[string]string{"obs-stack:loki": `{"querier": {"autoscaling": {"maxReplicas": 9, "targetCPUPercent": 70}}}`})
	rec := declare(t, spec)
	hpas := rec.OfType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
	if len(hpas) != 1 {
		t.Fatalf("want one HorizontalPodAutoscaler (the querier's), got %d", len(hpas))
	}
	in := hpas[0].Inputs
	for path, want := range map[string]any{
		"spec.scaleTargetRef.kind": "Deployment", "spec.scaleTargetRef.name": "loki-querier",
		"spec.minReplicas": 3.0, "spec.maxReplicas": 9.0, "spec.metrics.0.resource.target.averageUtilization": 70.0,
	} {
		var keys []any
		for _, k := range strings.Split(path, ".") {
			if k == "0" {
				keys = append(keys, 0)
			} else {
				keys = append(keys, k)
			}
		}
		if got := mocktest.Dig(in, keys...); got != want {
			t.Errorf("%s = %v (%T), want %v", path, got, got, want)
		}
	}
	for _, pdb := range rec.OfType("kubernetes:policy/v1:PodDisruptionBudget") {
		if got := mocktest.Dig(pdb.Inputs, "spec", "unhealthyPodEvictionPolicy"); got != "AlwaysAllow" {
			t.Errorf("%s: unhealthyPodEvictionPolicy = %v, want AlwaysAllow", pdb.Name, got)
		}
	}
}

// TestQueueScaledQueriersGetAScaledObject: autoscaling.onQueue gives the queriers a KEDA
// ScaledObject as Loki's "Autoscaling queriers" guide writes it (prometheus trigger on the
// 0.75 quantile of loki_query_scheduler_inflight_requests over 2m, threshold floor(0.75 x 4
// workers) = 3, scale-down window 1800 s), and no HPA of its own (KEDA makes one). Expected
// values are the guide's and the stack file's, written by hand.
func TestQueueScaledQueriersGetAScaledObject(t *testing.T) {
	spec := mocktest.Spec(t, "prod", map[string]string{"obs-stack:grafana.prometheusURL": "http://prometheus.monitoring.svc:9090",
		"obs-stack:loki": `{"querier": {"autoscaling": {"maxReplicas": 12, "onQueue": true}}}`})
	args := &Args{Stack: kube.Stack{Namespace: pulumi.String(spec.Cluster.Namespace), NamespaceName: spec.Cluster.Namespace, Domain: spec.Cluster.Domain, Instance: "obs-stack"},
		Loki: spec.Loki, Retention: spec.Retention, Storage: spec.Storage, PrometheusURL: spec.Grafana.PrometheusURL}
	rec := &mocktest.Recorder{}
	if err := pulumi.RunErr(func(ctx *pulumi.Context) error { _, err := New(ctx, "loki", args); return err }, pulumi.WithMocks("obs-stack", "test", rec)); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.OfType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")); n != 0 {
		t.Errorf("%d HorizontalPodAutoscalers of our own; KEDA makes the querier's", n)
	}
	so := rec.One(t, "kubernetes:keda.sh/v1alpha1:ScaledObject")
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"spec", "scaleTargetRef", "name"}, "loki-querier"},
		{[]any{"spec", "minReplicaCount"}, 3.0},
		{[]any{"spec", "maxReplicaCount"}, 12.0},
		{[]any{"spec", "triggers", 0, "type"}, "prometheus"},
		{[]any{"spec", "triggers", 0, "metadata", "serverAddress"}, "http://prometheus.monitoring.svc:9090"},
		{[]any{"spec", "triggers", 0, "metadata", "query"}, `sum(max_over_time(loki_query_scheduler_inflight_requests{namespace="observability", quantile="0.75"}[2m]))`},
		{[]any{"spec", "triggers", 0, "metadata", "threshold"}, "3"},
		{[]any{"spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", "scaleDown", "stabilizationWindowSeconds"}, 1800.0},
	} {
		if got := mocktest.Dig(so.Inputs, c.path...); got != c.want {
			t.Errorf("%v = %v (%T), want %v", c.path, got, got, c.want)
		}
	}
}
