package objstore_test

import (
	"testing"

	"sigs.k8s.io/yaml"

	"obs-stack/internal/golden"
	. "obs-stack/stacks/objstore"
)

// TestStoreGolden renders everything each store asks of the stack, per store and credential
// source: its Loki blocks, what the Loki pods carry, its egress, its dataFacts record and the
// Secrets the live check reads. The files under testdata/ are reviewed snapshots; each Loki
// key in them is named beside its renderer with the Loki 3.7 struct it comes from.
func TestStoreGolden(t *testing.T) {
	irsa, podIdentity := s3Settings(), s3Settings()
	irsa.Credentials, irsa.RoleArn = "irsa", "arn:aws:iam::123456789012:role/loki"
	podIdentity.Credentials = "podIdentity"
	gcsWI := gcsSettings()
	gcsWI.Credentials, gcsWI.ServiceAccount = "workloadIdentity", "loki-logs@acme-prod.iam.gserviceaccount.com"
	azureWI := azureSettings()
	azureWI.Credentials, azureWI.ClientID = "workloadIdentity", "6f1c2a9e-3b7d-4c1e-9a2f-0d8e5b7c4a31"
	minio := s3Settings()
	minio.Endpoint, minio.ForcePathStyle, minio.Insecure = "http://minio.minio.svc.cluster.local:9000", true, true
	for name, c := range map[string]struct {
		settings Settings
		kind     Kind
	}{
		"filesystem":              {Settings{}, Filesystem},
		"s3-secret":               {Settings{S3: minio}, S3},
		"s3-irsa":                 {Settings{S3: irsa}, S3},
		"s3-pod-identity":         {Settings{S3: podIdentity}, S3},
		"gcs-secret":              {Settings{GCS: gcsSettings()}, GCS},
		"gcs-workload-identity":   {Settings{GCS: gcsWI}, GCS},
		"azure-secret":            {Settings{Azure: azureSettings()}, Azure},
		"azure-workload-identity": {Settings{Azure: azureWI}, Azure},
	} {
		t.Run(name, func(t *testing.T) {
			store, p := parse(c.settings, c.kind)
			if len(p) > 0 || store == nil {
				t.Fatalf("problems: %v", p)
			}
			commonKey, common := store.Common()
			secondaryKey, secondary := store.Secondary()
			ruler, _ := store.Ruler()
			out, err := yaml.Marshal(map[string]any{
				"common.storage": map[string]any{commonKey: common}, "storage_config": map[string]any{secondaryKey: secondary},
				"ruler.storage": ruler, "pod": store.Pod(), "egress": store.Egress(), "record": store.Record(), "secrets": store.Secrets(),
			})
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "store-"+name+".yaml", string(out))
		})
	}
}
