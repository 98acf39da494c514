package objstore

import (
	"net"
	"regexp"
	"slices"
	"strings"

	"obs-stack/stacks/check"
)

// GCSSettings point Loki at Google Cloud Storage buckets.
type GCSSettings struct {
	// Buckets names the buckets Loki uses.
	Buckets Buckets `json:"buckets"`
	// Credentials is where Loki's identity comes from: secret (a service account key file in
	// credentialsSecret) or workloadIdentity (GKE Workload Identity: the Loki ServiceAccount
	// acts as serviceAccount).
	Credentials string `json:"credentials"`
	// ServiceAccount is the Google service account (name@project.iam.gserviceaccount.com)
	// the Loki ServiceAccount acts as with workloadIdentity.
	ServiceAccount string `json:"serviceAccount"`
	// CredentialsSecret names an existing Secret holding a service account key file (JSON).
	CredentialsSecret GCSSecret `json:"credentialsSecret"`
}

// GCSSecret names the key file in an existing Secret in the stack's namespace.
type GCSSecret struct {
	// Name of the Secret. Required with credentials secret.
	Name string `json:"name"`
	// Key is the Secret's key holding the JSON key file.
	Key string `json:"key"`
}

// Where the key file is mounted; Google's client libraries read the file that
// GOOGLE_APPLICATION_CREDENTIALS names (Application Default Credentials).
const (
	gcsKeyDir  = "/etc/loki/gcs"
	gcsKeyFile = "key.json"
)

var (
	gcsBucketChars = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*[a-z0-9]$`)
	// gsaEmail is a user-managed Google service account: an account id of 6-30 characters and
	// a project id of 6-30, both lower-case letters, digits and hyphens, starting with a letter
	// and not ending with a hyphen (cloud.google.com/iam/docs/service-accounts-create and
	// cloud.google.com/resource-manager/docs/creating-managing-projects).
	gsaEmail = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$`)
)

type gcsStore struct{ GCSSettings }

func (s GCSSettings) parse(r check.Reporter) Store {
	fails := counter{r: r}
	places(&fails, "loki.storage.gcs.buckets", "bucket", s.Buckets.Chunks, s.Buckets.Ruler, gcsBucketProblem, "loki-chunks")
	if credentialsSource(&fails, "loki.storage.gcs.credentials", s.Credentials, CredentialsSecret, WorkloadIdentity) && s.Credentials == CredentialsSecret {
		check.DNSSubdomain(&fails, "loki.storage.gcs.credentialsSecret.name", s.CredentialsSecret.Name)
		check.SecretKey(&fails, "loki.storage.gcs.credentialsSecret.key", s.CredentialsSecret.Key, gcsKeyFile)
	}
	cloudIdentity(&fails, "loki.storage.gcs.serviceAccount", s.ServiceAccount, s.Credentials, WorkloadIdentity, gsaEmail,
		"workloadIdentity needs the e-mail of the Google service account the Loki ServiceAccount acts as",
		"set it like loki@my-project.iam.gserviceaccount.com, and grant the Loki ServiceAccount roles/iam.workloadIdentityUser on it")
	if fails.n > 0 {
		return nil
	}
	return gcsStore{s}
}

// gcsBucketProblem is why name breaks Cloud Storage's bucket naming rules
// (cloud.google.com/storage/docs/buckets#naming), or "".
func gcsBucketProblem(name string) string {
	longest := 63
	if strings.Contains(name, ".") {
		longest = 222
	}
	switch {
	case len(name) < 3 || len(name) > longest:
		return "gcs needs a bucket name of 3-63 characters (up to 222 with dots, 63 per dot-separated part)"
	case !gcsBucketChars.MatchString(name):
		return "a bucket name has lower-case letters, digits, dashes, underscores and dots only, and starts and ends with a letter or digit"
	case slices.ContainsFunc(strings.Split(name, "."), func(part string) bool { return part == "" || len(part) > 63 }):
		return "each dot-separated part of a bucket name has 1-63 characters"
	case net.ParseIP(name) != nil:
		return "a bucket name is not an IP address"
	case strings.HasPrefix(name, "goog"):
		return "Cloud Storage refuses bucket names starting with goog"
	case strings.Contains(name, "google") || strings.Contains(name, "g00gle"):
		return "Cloud Storage refuses bucket names containing google or a close misspelling"
	}
	return ""
}

func (s gcsStore) Kind() Kind { return GCS }

// client is Loki's GCS client config of one bucket: gcp.GCSConfig
// (pkg/storage/chunk/client/gcp/gcs_object_client.go: bucket_name; service_account is left
// out, so the client finds Application Default Credentials: the key file that
// GOOGLE_APPLICATION_CREDENTIALS names, or the GKE metadata server's workload identity).
func (s gcsStore) client(bucket string) map[string]any { return map[string]any{"bucket_name": bucket} }

// Common: common.storage.gcs (pkg/loki/common/common.go Storage.GCS).
func (s gcsStore) Common() (string, any) { return "gcs", s.client(s.Buckets.Chunks) }

// Secondary: storage_config.gcs (pkg/storage/factory.go Config.GCSConfig).
func (s gcsStore) Secondary() (string, any) { return "gcs", s.client(s.Buckets.Chunks) }

// Ruler: ruler.storage type gcs (pkg/ruler/base/storage.go RuleStoreConfig.GCS).
func (s gcsStore) Ruler() (map[string]any, bool) {
	return map[string]any{"type": "gcs", "gcs": s.client(s.Buckets.Ruler)}, true
}

func (s gcsStore) Pod() Pod {
	if s.Credentials == WorkloadIdentity {
		// cloud.google.com/kubernetes-engine/docs/how-to/workload-identity: the annotation
		// links the Kubernetes ServiceAccount to the Google service account.
		return Pod{Annotations: map[string]string{"iam.gke.io/gcp-service-account": s.ServiceAccount}}
	}
	ref := s.CredentialsSecret
	return Pod{
		Vars:  map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": gcsKeyDir + "/" + gcsKeyFile},
		Files: []SecretFile{{Volume: "gcs-credentials", Secret: ref.Name, Key: ref.Key, Dir: gcsKeyDir, Path: gcsKeyFile}},
	}
}

func (s gcsStore) Egress() []Egress {
	out := []Egress{https("gcs-store", "chunks, index and rules in the GCS bucket (storage.googleapis.com)")}
	if s.Credentials == WorkloadIdentity {
		// The GKE metadata server answers on 169.254.169.254:80, and on 169.254.169.252:988
		// with GKE Dataplane V2 (cloud.google.com/kubernetes-engine/docs/how-to/workload-identity,
		// "network policy" note).
		out = append(out, Egress{Name: "gke-metadata", Why: "GKE metadata server (workload identity tokens)", CIDRs: []string{"169.254.169.254/32"}, Ports: []int{80}},
			Egress{Name: "gke-metadata-dpv2", Why: "GKE metadata server with Dataplane V2", CIDRs: []string{"169.254.169.252/32"}, Ports: []int{988}})
	}
	return out
}

// Record: bucket names are global, so Cloud Storage is one store.
func (s gcsStore) Record() Record {
	return Record{Store: "Google Cloud Storage", Places: map[string]string{"loki.storage.gcs.buckets.chunks": s.Buckets.Chunks, "loki.storage.gcs.buckets.ruler": s.Buckets.Ruler}}
}

func (s gcsStore) Secrets() []SecretNeed {
	if s.Credentials != CredentialsSecret {
		return nil
	}
	ref := s.CredentialsSecret
	return []SecretNeed{{NameKey: "loki.storage.gcs.credentialsSecret.name", Name: ref.Name, Keys: map[string]string{ref.Key: "loki.storage.gcs.credentialsSecret.key"}}}
}
