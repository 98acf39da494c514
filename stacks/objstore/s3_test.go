package objstore_test

import (
	"slices"
	"testing"

	. "obs-stack/stacks/objstore"
)

// TestStoreIdentity: the spellings of one store name the same store, and a different host,
// port or provider does not. The pairs are written by hand from how DNS (case, trailing dot,
// the cluster's search path) and AWS (regional and dual-stack endpoints of one global bucket
// namespace) resolve names. It fails if Store compared the endpoint as written, or if it
// folded different ports or hosts together.
func TestStoreIdentity(t *testing.T) {
	store := func(endpoint string, insecure bool) string {
		t.Helper()
		e, err := S3Settings{Endpoint: endpoint, Insecure: insecure}.ParseEndpoint("cluster.local")
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

// TestS3Egress: where Loki's S3 traffic may go, by endpoint. An in-cluster Service is its
// namespace's pods on the Service's port, an IP literal is that address, and any other host
// (or AWS S3) is anywhere. Written by hand; it fails if an in-cluster endpoint of another
// cluster domain were taken for this cluster's, or a default port were lost.
func TestS3Egress(t *testing.T) {
	for _, tc := range []struct {
		endpoint  string
		insecure  bool
		namespace string
		cidrs     []string
		port      int
		err       bool
	}{
		{endpoint: "", port: 443}, // AWS S3
		{endpoint: "http://minio.minio.svc.cluster.local:9000", namespace: "minio", port: 9000},
		{endpoint: "http://minio.storage.svc:9000", namespace: "storage", port: 9000},
		{endpoint: "minio.storage.svc:9000", insecure: true, namespace: "storage", port: 9000},
		{endpoint: "minio.storage.svc", insecure: true, namespace: "storage", port: 80},
		{endpoint: "https://minio.storage.svc.other.domain", port: 443}, // not this cluster's domain
		{endpoint: "https://s3.eu-central-1.amazonaws.com", port: 443},
		{endpoint: "http://10.0.0.5:9000", cidrs: []string{"10.0.0.5/32"}, port: 9000},
		{endpoint: "http://[fd00::5]:9000", cidrs: []string{"fd00::5/128"}, port: 9000},
		{endpoint: "http://minio:notaport", err: true},
		{endpoint: "ftp://store.example", err: true},
		{endpoint: "http://", err: true},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			settings := s3Settings()
			settings.Endpoint, settings.Insecure = tc.endpoint, tc.insecure
			store, problems := parse(Settings{S3: settings}, S3)
			if (len(problems) > 0) != tc.err {
				t.Fatalf("problems %v, want some: %t", problems, tc.err)
			}
			if tc.err {
				return
			}
			e := store.Egress()[0]
			if e.Namespace != tc.namespace || !slices.Equal(e.CIDRs, tc.cidrs) || !slices.Equal(e.Ports, []int{tc.port}) {
				t.Errorf("egress = %+v, want namespace %q cidrs %v port %d", e, tc.namespace, tc.cidrs, tc.port)
			}
		})
	}
}
