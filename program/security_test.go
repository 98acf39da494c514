package program

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"obs-stack/internal/mocktest"
)

// podTemplates returns every pod spec the program declares, by "Kind/name".
func podTemplates(t *testing.T, rec *mocktest.Recorder) map[string]*corev1.PodSpec {
	t.Helper()
	out := map[string]*corev1.PodSpec{}
	for _, kind := range []string{"apps/v1:Deployment", "apps/v1:StatefulSet", "apps/v1:DaemonSet", "batch/v1:Job"} {
		for _, w := range rec.OfType("kubernetes:" + kind) {
			raw, err := json.Marshal(mocktest.Dig(w.Inputs, "spec", "template", "spec"))
			if err != nil {
				t.Fatal(err)
			}
			var spec corev1.PodSpec
			if err := json.Unmarshal(raw, &spec); err != nil {
				t.Fatalf("%s %s: %v", kind, w.Name, err)
			}
			out[kind+"/"+w.Name] = &spec
		}
	}
	return out
}

// TestPodSecurityRestricted evaluates every pod template against the Pod Security Standards
// "restricted" level with the upstream evaluator.
func TestPodSecurityRestricted(t *testing.T) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	level := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}
	for _, stack := range []string{"dev", "prod"} {
		pods := podTemplates(t, mustRun(t, stack, nil))
		if len(pods) < 4 {
			t.Fatalf("%s: only %d pod templates found", stack, len(pods))
		}
		for name, spec := range pods {
			result := policy.AggregateCheckResults(evaluator.EvaluatePod(level, &metav1.ObjectMeta{}, spec))
			if !result.Allowed {
				t.Errorf("%s %s violates restricted: %s", stack, name, strings.Join(result.ForbiddenDetails, "; "))
			}
		}
	}
}

// TestOnlyAlloyReadsTheCluster: Alloy is the one component with cluster-wide access, and it
// may only read.
func TestOnlyAlloyReadsTheCluster(t *testing.T) {
	rec := mustRun(t, "prod", nil)
	roles := rec.OfType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
	if len(roles) != 1 || !strings.Contains(roles[0].Name, "alloy") {
		t.Fatalf("ClusterRoles: %v", roles)
	}
	rules, _ := mocktest.Dig(roles[0].Inputs, "rules").([]any)
	for _, r := range rules {
		for _, verb := range mocktest.Dig(r, "verbs").([]any) {
			if v := verb.(string); v != "get" && v != "list" && v != "watch" {
				t.Errorf("Alloy's ClusterRole grants %q", v)
			}
		}
	}
	for name, spec := range podTemplates(t, rec) {
		mounts := spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken
		if mounts != strings.Contains(name, "alloy") {
			t.Errorf("%s: service-account token mounted = %v; only Alloy talks to the API", name, mounts)
		}
	}
}

// TestProdProtectsItsData: prod's StatefulSets, Kafka cluster id and Namespace (whose deletion
// would take every PVC with it) are protected and keep their PVCs; dev's are not protected,
// so `pulumi destroy` cleans a dev stack up.
func TestProdProtectsItsData(t *testing.T) {
	for stack, protect := range map[string]bool{"dev": false, "prod": true} {
		rec := mustRun(t, stack, nil)
		data := append(rec.OfType("kubernetes:apps/v1:StatefulSet"), rec.OfType("random:index/randomId:RandomId")...)
		if len(data) < 2 {
			t.Fatalf("%s: only %d data resources", stack, len(data))
		}
		if ns := rec.One(t, "kubernetes:core/v1:Namespace"); ns.Protect != protect {
			t.Errorf("%s: Namespace protect %v, want %v", stack, ns.Protect, protect)
		}
		for _, r := range data {
			if r.Protect != protect || !r.DeleteBeforeReplace {
				t.Errorf("%s %s: protect %v (want %v), deleteBeforeReplace %v", stack, r.Name, r.Protect, protect, r.DeleteBeforeReplace)
			}
			if r.Type == "kubernetes:apps/v1:StatefulSet" && mocktest.Dig(r.Inputs, "spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted") != "Retain" {
				t.Errorf("%s %s: PVCs must be retained explicitly", stack, r.Name)
			}
		}
	}
}
