package stacks_test

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	. "obs-stack/stacks"
)

// TestTenantNames: every valid Loki tenant id gets a Secret name Kubernetes accepts
// (validation.IsDNS1123Subdomain, the API server's own check) and a Grafana uid within
// Grafana's rule (1-40 of [a-zA-Z0-9-_]); ids that fold alike still get different names; an
// id that fits is kept as written. It fails if the folding dropped the hash (Team-A and team-a
// would share a Secret) or stopped cutting long ids.
func TestTenantNames(t *testing.T) {
	grafanaUID := regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)
	ids := []string{"team-a", "Team-A", "team_a", "team.a", "team-a.", "!!!", "(*)", "a", "TEAM", strings.Repeat("t", 150), strings.Repeat("T", 150), "x'y", "team-a-0123abcd"}
	secrets, uids := map[string]string{}, map[string]string{}
	for _, id := range ids {
		s, u := TenantSecretName(id), TenantDatasourceUID(id)
		if errs := validation.IsDNS1123Subdomain(s); len(errs) > 0 || len(s) > 63 {
			t.Errorf("TenantSecretName(%q) = %q: %v", id, s, errs)
		}
		if !grafanaUID.MatchString(u) {
			t.Errorf("TenantDatasourceUID(%q) = %q: not a Grafana uid", id, u)
		}
		if other, ok := secrets[s]; ok {
			t.Errorf("%q and %q share the Secret %s", id, other, s)
		}
		if other, ok := uids[u]; ok {
			t.Errorf("%q and %q share the uid %s", id, other, u)
		}
		secrets[s], uids[u] = id, id
		if TenantSecretName(id) != s || TenantDatasourceUID(id) != u {
			t.Errorf("%q: names are not stable", id)
		}
	}
	// Kept as written, by hand.
	for id, want := range map[string][2]string{
		"team-a": {"loki-tenant-team-a", "loki-team-a"},
		"ops":    {"loki-tenant-ops", "loki-ops"},
	} {
		if s, u := TenantSecretName(id), TenantDatasourceUID(id); s != want[0] || u != want[1] {
			t.Errorf("%q: %s, %s; want %s, %s", id, s, u, want[0], want[1])
		}
	}
}
