package stacks_test

import (
	"testing"

	. "obs-stack/stacks"
)

// TestStoreIdentity: the spellings of one store name the same store, and a different host,
// port or provider does not. The pairs are written by hand from how DNS (case, trailing dot,
// the cluster's search path) and AWS (regional and dual-stack endpoints of one global bucket
// namespace) resolve names. It fails if Store compared the endpoint as written, or if it
// folded different ports or hosts together.
func TestStoreIdentity(t *testing.T) {
	store := func(endpoint string, insecure bool) string {
		t.Helper()
		e, err := S3Storage{Endpoint: endpoint, Insecure: insecure}.ParseEndpoint("cluster.local")
		if err != nil {
			t.Fatalf("%q: %v", endpoint, err)
		}
		return e.Store()
	}
	same := [][2]string{
		{"http://minio.minio.svc.cluster.local:9000", "minio.minio.svc:9000"},
		{"http://minio.minio.svc.cluster.local:9000", "http://MINIO.Minio.SVC.cluster.local.:9000"},
		{"https://minio.minio.svc.cluster.local", "https://minio.minio.svc:443"},
		{"", "https://s3.amazonaws.com"},
		{"", "https://s3.eu-west-1.amazonaws.com"},
		{"", "s3-eu-west-1.amazonaws.com"},
		{"", "https://s3.dualstack.us-east-2.amazonaws.com"},
		{"", "https://s3-fips.us-gov-west-1.amazonaws.com"},
		{"", "https://s3.cn-north-1.amazonaws.com.cn"},
		{"http://10.0.0.7:9000", "10.0.0.7:9000"},
		{"https://storage.example.com", "storage.example.com:443"},
	}
	for _, p := range same {
		if a, b := store(p[0], true), store(p[1], true); a != b {
			t.Errorf("%q and %q are one store, got %q and %q", p[0], p[1], a, b)
		}
	}
	different := [][2]string{
		{"http://minio.minio.svc.cluster.local:9000", "http://minio.minio.svc.cluster.local:9001"},
		{"http://minio.minio.svc.cluster.local:9000", "http://minio.storage.svc.cluster.local:9000"},
		{"http://minio.minio.svc.cluster.local:9000", "http://minio-2.minio.svc.cluster.local:9000"},
		{"", "https://storage.googleapis.com"},
		{"", "https://s3.eu-west-1.wasabisys.com"},
		{"", "https://bucket.s3.amazonaws.com.example.com"},
		{"http://10.0.0.7:9000", "http://10.0.0.8:9000"},
		{"https://storage.example.com", "https://storage.example.org"},
		{"https://storage.example.com", "http://storage.example.com"}, // port 443 against 80
	}
	for _, p := range different {
		if a, b := store(p[0], true), store(p[1], true); a == b {
			t.Errorf("%q and %q are different stores, both %q", p[0], p[1], a)
		}
	}
}
