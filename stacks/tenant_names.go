package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// Names derived from a tenant id, for systems whose names are narrower than Loki's tenant ids
// (letters, digits and !-_.*'(), case-sensitive): Kubernetes object names (DNS subdomains of
// lower-case letters, digits, '-' and '.') and Grafana datasource uids (1-40 letters, digits,
// '-' or '_'). An id that fits is kept as it is; one that does not is folded and gets a short
// hash of the id, so that two ids folding alike ("Team-A", "team-a") never share a name.

var (
	notDNS = regexp.MustCompile(`[^a-z0-9-]+`)
	notUID = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)
)

// TenantSecretName is the Secret holding a tenant's gateway credentials (keys username and
// password).
func TenantSecretName(tenant string) string {
	return "loki-tenant-" + fold(tenant, strings.Trim(notDNS.ReplaceAllString(strings.ToLower(tenant), "-"), "-"), 63-len("loki-tenant-"))
}

// TenantDatasourceUID is the uid of the tenant's Grafana datasource.
func TenantDatasourceUID(tenant string) string {
	return "loki-" + fold(tenant, notUID.ReplaceAllString(tenant, "_"), 40-len("loki-"))
}

// fold keeps the id when its folded form is the id itself and fits in max; otherwise it cuts
// the folded form and appends 8 hex digits of the id's SHA-256.
func fold(id, folded string, max int) string {
	if folded == id && len(id) <= max {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	suffix := hex.EncodeToString(sum[:])[:8]
	if keep := max - len(suffix) - 1; len(folded) > keep {
		folded = folded[:keep]
	}
	if folded == "" {
		return suffix
	}
	return folded + "-" + suffix
}
