package objstore_test

import (
	"fmt"
	"strings"
	"testing"

	. "obs-stack/stacks/objstore"
)

// problems records what a store's checks report, by key.
type problems map[string]string

func (p problems) Fail(key string, value any, reason, fix string, args ...any) {
	p[key] = reason + "; fix: " + fmt.Sprintf(fix, args...)
}
func (p problems) Warn(string, any, string, string) {}

// parse checks one store of settings and returns it with the problems reported.
func parse(s Settings, k Kind) (Store, problems) {
	p := problems{}
	in := Parse(p, s, k, []Kind{k}, Env{Domain: "cluster.local", Namespace: "observability", NetworkPolicies: true})
	return in.Get(k), p
}

// Settings of a valid store of each kind, written as a user would.
func s3Settings() S3Settings {
	return S3Settings{Region: "us-east-1", Buckets: Buckets{Chunks: "loki-chunks", Ruler: "loki-ruler"}, Credentials: "secret",
		CredentialsSecret: S3Secret{Name: "loki-s3", AccessKeyIDKey: "AWS_ACCESS_KEY_ID", SecretAccessKeyKey: "AWS_SECRET_ACCESS_KEY"}}
}

func gcsSettings() GCSSettings {
	return GCSSettings{Buckets: Buckets{Chunks: "loki-chunks", Ruler: "loki-ruler"}, Credentials: "secret", CredentialsSecret: GCSSecret{Name: "loki-gcs", Key: "key.json"}}
}

func azureSettings() AzureSettings {
	return AzureSettings{AccountName: "lokilogs", Containers: Containers{Chunks: "loki-chunks", Ruler: "loki-ruler"}, EndpointSuffix: "blob.core.windows.net",
		Credentials: "secret", CredentialsSecret: AzureSecret{Name: "loki-azure", AccountKeyKey: "AZURE_ACCOUNT_KEY"}}
}

// TestPlaceNames checks each store's bucket or container naming rules as a class, with edge
// values: the shortest and longest names, one past each, the characters each provider
// allows, unicode, empty, and each reserved form. The verdicts are written by hand from the
// providers' pages: AWS "General purpose bucket naming rules", Google Cloud "Bucket names"
// (cloud.google.com/storage/docs/buckets#naming) and Azure "Naming and referencing
// containers, blobs, and metadata". It fails if a rule were dropped or a bound moved by one.
func TestPlaceNames(t *testing.T) {
	r := strings.Repeat
	cases := map[Kind]map[string]bool{
		S3: {
			"abc": true, "ab": false, r("a", 63): true, r("a", 64): false, "": false,
			"loki.chunks": true, "loki..chunks": false, "loki_chunks": false, "Loki-chunks": false,
			"-loki": false, "loki-": false, "192.168.1.1": false, "xn--loki": false, "sthree-loki": false,
			"amzn-s3-demo-loki": false, "loki-s3alias": false, "loki--ol-s3": false, "loki.mrap": false,
			"loki--x-s3": false, "loki--table-s3": false, "lökì": false,
		},
		GCS: {
			"abc": true, "ab": false, r("a", 63): true, r("a", 64): false, "": false,
			"loki_chunks": true, "loki.chunks": true, r("a", 63) + "." + r("b", 63): true,
			r("a", 64) + ".b": false,
			r("a", 63) + "." + r("b", 63) + "." + r("c", 63) + "." + r("d", 30): true,  // 222 characters
			r("a", 63) + "." + r("b", 63) + "." + r("c", 63) + "." + r("d", 31): false, // 223
			"a..b": false, "Loki": false, "-loki": false, "loki_": false, "192.168.1.1": false,
			"goog-loki": false, "loki-google": false, "loki-g00gle": false, "lökì": false,
		},
		Azure: {
			"abc": true, "ab": false, r("a", 63): true, r("a", 64): false, "": false,
			"loki-chunks": true, "loki--chunks": false, "-loki": false, "loki-": false,
			"loki_chunks": false, "loki.chunks": false, "Loki": false, "lökì": false, "1ab": true,
		},
	}
	for kind, names := range cases {
		for name, ok := range names {
			s := Settings{S3: s3Settings(), GCS: gcsSettings(), Azure: azureSettings()}
			s.S3.Buckets.Chunks, s.GCS.Buckets.Chunks, s.Azure.Containers.Chunks = name, name, name
			_, p := parse(s, kind)
			key := map[Kind]string{S3: "loki.storage.s3.buckets.chunks", GCS: "loki.storage.gcs.buckets.chunks", Azure: "loki.storage.azure.containers.chunks"}[kind]
			if _, refused := p[key]; refused == ok {
				t.Errorf("%s %q (%d characters): refused %t, want %t (%v)", kind, name, len(name), refused, !ok, p)
			}
		}
	}
}
