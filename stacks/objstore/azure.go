package objstore

import (
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"obs-stack/stacks/check"
)

// AzureSettings point Loki at Azure Blob Storage containers.
type AzureSettings struct {
	// AccountName is the storage account.
	AccountName string `json:"accountName"`
	// Containers names the blob containers Loki uses.
	Containers Containers `json:"containers"`
	// EndpointSuffix is the blob service's domain: blob.core.windows.net, or a sovereign
	// cloud's (blob.core.chinacloudapi.cn, blob.core.usgovcloudapi.net).
	EndpointSuffix string `json:"endpointSuffix"`
	// Credentials is where Loki's identity comes from: secret (the account key in
	// credentialsSecret) or workloadIdentity (Azure Workload Identity: the Loki ServiceAccount
	// federates with the managed identity or app clientId).
	Credentials string `json:"credentials"`
	// ClientID is the client id of the managed identity or app registration the Loki
	// ServiceAccount federates with, for workloadIdentity.
	ClientID string `json:"clientId"`
	// CredentialsSecret names an existing Secret holding the account key.
	CredentialsSecret AzureSecret `json:"credentialsSecret"`
}

// Containers used by Loki.
type Containers struct {
	// Chunks holds chunks and the tsdb index. Required.
	Chunks string `json:"chunks"`
	// Ruler holds recording/alerting rules. Required.
	Ruler string `json:"ruler"`
}

// AzureSecret names the account key in an existing Secret in the stack's namespace.
type AzureSecret struct {
	// Name of the Secret. Required with credentials secret.
	Name string `json:"name"`
	// AccountKeyKey is the Secret's key holding the storage account key.
	AccountKeyKey string `json:"accountKeyKey"`
}

// azureKeyEnv is the variable Loki reads the account key from (expanded into its config).
const azureKeyEnv = "AZURE_ACCOUNT_KEY"

var (
	// Storage account names: 3-24 lower-case letters and digits (learn.microsoft.com, "Storage
	// account name"); container names: 3-63 lower-case letters, digits and hyphens, starting
	// with a letter or digit, every hyphen between two letters or digits ("Naming and
	// referencing containers, blobs, and metadata").
	azureAccount   = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	azureContainer = regexp.MustCompile(`^[a-z0-9](-?[a-z0-9])+$`)
	uuid           = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

type azureStore struct{ AzureSettings }

func (s AzureSettings) parse(r check.Reporter) Store {
	fails := counter{r: r}
	if !azureAccount.MatchString(s.AccountName) {
		fails.Fail("loki.storage.azure.accountName", s.AccountName, "a storage account name has 3-24 lower-case letters and digits", "set it to the storage account, e.g. lokilogs")
	}
	places(&fails, "loki.storage.azure.containers", "container", s.Containers.Chunks, s.Containers.Ruler, containerProblem, "loki-chunks")
	if errs := validation.IsDNS1123Subdomain(s.EndpointSuffix); len(errs) > 0 || !strings.Contains(s.EndpointSuffix, ".") {
		fails.Fail("loki.storage.azure.endpointSuffix", s.EndpointSuffix, "the blob service's domain, without scheme or account (Loki prepends https://<account>.)",
			"set it to blob.core.windows.net, or your cloud's, e.g. blob.core.chinacloudapi.cn")
	}
	if credentialsSource(&fails, "loki.storage.azure.credentials", s.Credentials, CredentialsSecret, WorkloadIdentity) && s.Credentials == CredentialsSecret {
		check.DNSSubdomain(&fails, "loki.storage.azure.credentialsSecret.name", s.CredentialsSecret.Name)
		check.SecretKey(&fails, "loki.storage.azure.credentialsSecret.accountKeyKey", s.CredentialsSecret.AccountKeyKey, azureKeyEnv)
	}
	cloudIdentity(&fails, "loki.storage.azure.clientId", s.ClientID, s.Credentials, WorkloadIdentity, uuid,
		"workloadIdentity needs the client id (a UUID) of the identity the Loki ServiceAccount federates with",
		"set it like 00000000-0000-0000-0000-000000000000, and add a federated credential for this cluster's issuer and the Loki ServiceAccount")
	if fails.n > 0 {
		return nil
	}
	return azureStore{s}
}

// containerProblem is why name breaks Azure's container naming rules, or "".
func containerProblem(name string) string {
	if len(name) < 3 || len(name) > 63 || !azureContainer.MatchString(name) {
		return "azure needs a container name of 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit"
	}
	return ""
}

func (s azureStore) Kind() Kind { return Azure }

// client is Loki's Azure client config of one container: azure.BlobStorageConfig
// (pkg/storage/chunk/client/azure/blob_storage_client.go: account_name, account_key,
// container_name, endpoint_suffix, use_federated_token). The key comes from the environment;
// use_federated_token reads the token file Azure Workload Identity's webhook mounts.
func (s azureStore) client(container string) map[string]any {
	c := map[string]any{"account_name": s.AccountName, "container_name": container, "endpoint_suffix": s.EndpointSuffix}
	if s.Credentials == WorkloadIdentity {
		c["use_federated_token"] = true
	} else {
		c["account_key"] = "${" + azureKeyEnv + "}"
	}
	return c
}

// Common: common.storage.azure (pkg/loki/common/common.go Storage.Azure).
func (s azureStore) Common() (string, any) { return "azure", s.client(s.Containers.Chunks) }

// Secondary: storage_config.azure (pkg/storage/factory.go Config.AzureStorageConfig).
func (s azureStore) Secondary() (string, any) { return "azure", s.client(s.Containers.Chunks) }

// Ruler: ruler.storage type azure (pkg/ruler/base/storage.go RuleStoreConfig.Azure).
func (s azureStore) Ruler() (map[string]any, bool) {
	return map[string]any{"type": "azure", "azure": s.client(s.Containers.Ruler)}, true
}

func (s azureStore) Pod() Pod {
	if s.Credentials == WorkloadIdentity {
		// azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html:
		// the webhook mutates pods labelled use=true, with the client id from the ServiceAccount.
		return Pod{Annotations: map[string]string{"azure.workload.identity/client-id": s.ClientID},
			Labels: map[string]string{"azure.workload.identity/use": "true"}}
	}
	return Pod{Env: []SecretEnv{{azureKeyEnv, s.CredentialsSecret.Name, s.CredentialsSecret.AccountKeyKey}}}
}

func (s azureStore) Egress() []Egress {
	why := "chunks, index and rules in the blob containers"
	if s.Credentials == WorkloadIdentity {
		why += ", and Microsoft Entra ID's token endpoint"
	}
	return []Egress{https("azure-store", why)}
}

// Record: the account at its cloud's suffix is the store.
func (s azureStore) Record() Record {
	return Record{Store: strings.ToLower(s.AccountName + "." + s.EndpointSuffix), StoreKey: "loki.storage.azure.accountName",
		Places: map[string]string{"loki.storage.azure.containers.chunks": s.Containers.Chunks, "loki.storage.azure.containers.ruler": s.Containers.Ruler}}
}

func (s azureStore) Secrets() []SecretNeed {
	if s.Credentials != CredentialsSecret {
		return nil
	}
	ref := s.CredentialsSecret
	return []SecretNeed{{NameKey: "loki.storage.azure.credentialsSecret.name", Name: ref.Name, Keys: map[string]string{ref.AccountKeyKey: "loki.storage.azure.credentialsSecret.accountKeyKey"}}}
}
