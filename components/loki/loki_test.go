package loki

import (
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
