package preflight

import (
	"errors"
	"strings"
	"testing"

	"obs-stack/stacks"
	"obs-stack/stacks/objstore"
)

// TestSecretProblems judges kubectl's answers, written by hand as kubectl prints them: the
// key names the go-template lists, kubectl's NotFound error, and any other error. It fails if
// a missing Secret or key went unreported, or were blamed on the wrong config key.
func TestSecretProblems(t *testing.T) {
	need := objstore.SecretNeed{NameKey: "loki.storage.azure.credentialsSecret.name", Name: "loki-azure",
		Keys: map[string]string{"AZURE_ACCOUNT_KEY": "loki.storage.azure.credentialsSecret.accountKeyKey"}}
	for _, c := range []struct {
		name string
		keys string
		err  error
		want []string // the config keys blamed
	}{
		{"every key there", "AZURE_ACCOUNT_KEY\nother\n", nil, nil},
		{"key missing", "AZURE_ACCOUNT_KEY_ID\n", nil, []string{"loki.storage.azure.credentialsSecret.accountKeyKey"}},
		{"no data at all", "", nil, []string{"loki.storage.azure.credentialsSecret.accountKeyKey"}},
		{"case counts", "azure_account_key\n", nil, []string{"loki.storage.azure.credentialsSecret.accountKeyKey"}},
		{"no such Secret", "", errors.New(`kubectl get secret failed: Error from server (NotFound): secrets "loki-azure" not found`), []string{"loki.storage.azure.credentialsSecret.name"}},
		{"not allowed to read", "", errors.New(`kubectl get secret failed: Error from server (Forbidden): secrets "loki-azure" is forbidden`), []string{"cluster.checkSecrets"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, err := range SecretProblems(need, "observability", []byte(c.keys), c.err) {
				var p *stacks.Problem
				if !errors.As(err, &p) {
					t.Fatalf("not a Problem: %v", err)
				}
				if strings.Contains(p.Error(), "loki-azure") == false {
					t.Errorf("the problem does not name the Secret: %v", p)
				}
				got = append(got, p.Key)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("blamed %v, want %v", got, c.want)
			}
		})
	}
}
