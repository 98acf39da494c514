package objstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"obs-stack/stacks/check"
)

// S3Settings point Loki at S3-compatible buckets (AWS S3, MinIO, Ceph RGW, ...).
type S3Settings struct {
	// Endpoint of the store; empty means AWS S3 in Region.
	Endpoint string `json:"endpoint"`
	// Region of the buckets.
	Region string `json:"region"`
	// Buckets names the buckets Loki uses.
	Buckets Buckets `json:"buckets"`
	// ForcePathStyle addresses buckets as paths (MinIO needs it).
	ForcePathStyle bool `json:"forcePathStyle"`
	// Insecure allows plain HTTP to the endpoint.
	Insecure bool `json:"insecure"`
	// Credentials is where Loki's keys come from: secret (credentialsSecret), irsa (IAM
	// Roles for Service Accounts: roleArn on the Loki ServiceAccount) or podIdentity (EKS Pod
	// Identity: the association is made in AWS, the pods carry nothing).
	Credentials string `json:"credentials"`
	// RoleArn is the IAM role the Loki ServiceAccount assumes with irsa.
	RoleArn string `json:"roleArn"`
	// CredentialsSecret names an existing Secret with the access keys; its values never enter
	// a ConfigMap (Loki reads them from the environment).
	CredentialsSecret S3Secret `json:"credentialsSecret"`
}

// Buckets used by Loki.
type Buckets struct {
	// Chunks holds chunks and the tsdb index. Required.
	Chunks string `json:"chunks"`
	// Ruler holds recording/alerting rules. Required.
	Ruler string `json:"ruler"`
}

// S3Secret names keys of an existing Secret in the stack's namespace.
type S3Secret struct {
	// Name of the Secret. Required with credentials secret.
	Name string `json:"name"`
	// AccessKeyIDKey is the key holding the access key id.
	AccessKeyIDKey string `json:"accessKeyIdKey"`
	// SecretAccessKeyKey is the key holding the secret key.
	SecretAccessKeyKey string `json:"secretAccessKeyKey"`
}

// S3 credentials sources.
const (
	CredentialsSecret = "secret"
	CredentialsIRSA   = "irsa"
	PodIdentity       = "podIdentity"
	WorkloadIdentity  = "workloadIdentity"
)

// The environment variables Loki reads the S3 keys from (its config names them, expanded by
// -config.expand-env).
const (
	awsAccessKeyEnv = "AWS_ACCESS_KEY_ID"
	awsSecretKeyEnv = "AWS_SECRET_ACCESS_KEY"
)

var (
	bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// roleARN is an IAM role ARN (partition aws, aws-cn or aws-us-gov; a 12-digit account; a
	// role name of 1-64 characters of IAM's set, after an optional path).
	roleARN = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/([\x21-\x7e]*/)?[\w+=,.@-]{1,64}$`)
)

// s3Store is an S3 store as validation parsed it.
type s3Store struct {
	S3Settings
	endpoint S3Endpoint
}

func (s S3Settings) parse(r check.Reporter, env Env) Store {
	fails := counter{r: r}
	if s.Endpoint == "" && s.Region == "" {
		fails.Fail("loki.storage.s3.region", s.Region, "s3 needs an endpoint or a region", "set obs-stack:loki.storage.s3.endpoint (MinIO etc.) or obs-stack:loki.storage.s3.region (AWS)")
	}
	endpoint, err := s.ParseEndpoint(env.Domain)
	if err != nil {
		fails.Fail("loki.storage.s3.endpoint", s.Endpoint, err.Error(), "write it like http://minio.minio.svc.cluster.local:9000 or https://s3.eu-west-1.amazonaws.com")
	} else if env.NetworkPolicies && endpoint.Namespace == env.Namespace {
		fails.Fail("loki.storage.s3.endpoint", s.Endpoint, fmt.Sprintf("the store runs in the stack's namespace %s, where the default-deny NetworkPolicy blocks the store's own pods", env.Namespace),
			"run the store in its own namespace, or set obs-stack:cluster.networkPolicies false")
	}
	places(&fails, "loki.storage.s3.buckets", "bucket", s.Buckets.Chunks, s.Buckets.Ruler, bucketProblem, "loki-chunks")
	if credentialsSource(&fails, "loki.storage.s3.credentials", s.Credentials, CredentialsSecret, CredentialsIRSA, PodIdentity) && s.Credentials == CredentialsSecret {
		check.DNSSubdomain(&fails, "loki.storage.s3.credentialsSecret.name", s.CredentialsSecret.Name)
		check.SecretKey(&fails, "loki.storage.s3.credentialsSecret.accessKeyIdKey", s.CredentialsSecret.AccessKeyIDKey, awsAccessKeyEnv)
		check.SecretKey(&fails, "loki.storage.s3.credentialsSecret.secretAccessKeyKey", s.CredentialsSecret.SecretAccessKeyKey, awsSecretKeyEnv)
	}
	cloudIdentity(&fails, "loki.storage.s3.roleArn", s.RoleArn, s.Credentials, CredentialsIRSA, roleARN,
		"irsa needs the ARN of the IAM role the Loki ServiceAccount assumes",
		"set it like arn:aws:iam::123456789012:role/loki (the role's trust policy names this cluster's OIDC provider and the Loki ServiceAccount)")
	if fails.n > 0 {
		return nil
	}
	return s3Store{S3Settings: s, endpoint: endpoint}
}

func (s s3Store) Kind() Kind { return S3 }

// client is Loki's S3 client config of one bucket: aws.S3Config
// (pkg/storage/chunk/client/aws/s3_storage_client.go: endpoint, region, bucketnames,
// access_key_id, secret_access_key, s3forcepathstyle, insecure). Keys come from the
// environment, never from this file; without them the AWS SDK's default chain finds the
// IRSA web identity or the EKS Pod Identity agent.
func (s s3Store) client(bucket string) map[string]any {
	c := map[string]any{"bucketnames": bucket}
	put(c, "endpoint", s.Endpoint)
	put(c, "region", s.Region)
	if s.Credentials == CredentialsSecret {
		c["access_key_id"], c["secret_access_key"] = "${"+awsAccessKeyEnv+"}", "${"+awsSecretKeyEnv+"}"
	}
	if s.ForcePathStyle {
		c["s3forcepathstyle"] = true
	}
	if s.Insecure {
		c["insecure"] = true
	}
	return c
}

// Common: common.storage.s3 (pkg/loki/common/common.go Storage.S3, an aws.S3Config).
func (s s3Store) Common() (string, any) { return "s3", s.client(s.Buckets.Chunks) }

// Secondary: storage_config.aws (pkg/storage/factory.go Config.AWSStorageConfig, an
// aws.StorageConfig whose S3Config is inline).
func (s s3Store) Secondary() (string, any) { return "aws", s.client(s.Buckets.Chunks) }

// Ruler: ruler.storage type s3 (pkg/ruler/base/storage.go RuleStoreConfig.S3).
func (s s3Store) Ruler() (map[string]any, bool) {
	return map[string]any{"type": "s3", "s3": s.client(s.Buckets.Ruler)}, true
}

func (s s3Store) Pod() Pod {
	switch s.Credentials {
	case CredentialsSecret:
		ref := s.CredentialsSecret
		return Pod{Env: []SecretEnv{{awsAccessKeyEnv, ref.Name, ref.AccessKeyIDKey}, {awsSecretKeyEnv, ref.Name, ref.SecretAccessKeyKey}}}
	case CredentialsIRSA:
		// The EKS pod identity webhook mounts the web identity token of a ServiceAccount so
		// annotated (amazon-eks-pod-identity-webhook, README "eks.amazonaws.com/role-arn").
		return Pod{Annotations: map[string]string{"eks.amazonaws.com/role-arn": s.RoleArn}}
	}
	return Pod{}
}

func (s s3Store) Egress() []Egress {
	e := s.endpoint
	out := []Egress{{Name: "s3-store", Why: "chunks, index and rules in the S3 bucket", Ports: []int{e.Port}}}
	if ip := net.ParseIP(e.Host); ip != nil {
		bits := 32
		if ip.To4() == nil {
			bits = 128
		}
		out[0].CIDRs = []string{fmt.Sprintf("%s/%d", ip, bits)}
	} else if e.Namespace != "" {
		out[0].Namespace = e.Namespace
	}
	switch s.Credentials {
	case CredentialsIRSA:
		out = append(out, https("aws-sts", "IRSA: AWS STS exchanges the web identity token"))
	case PodIdentity:
		// The EKS Pod Identity agent listens on the node's link-local addresses
		// (docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html).
		out = append(out, Egress{Name: "eks-pod-identity", Why: "EKS Pod Identity agent", CIDRs: []string{"169.254.170.23/32", "fd00:ec2::23/128"}, Ports: []int{80}})
	}
	return out
}

func (s s3Store) Record() Record {
	return Record{Store: s.endpoint.Store(), StoreKey: "loki.storage.s3.endpoint",
		Places: map[string]string{"loki.storage.s3.buckets.chunks": s.Buckets.Chunks, "loki.storage.s3.buckets.ruler": s.Buckets.Ruler}}
}

func (s s3Store) Secrets() []SecretNeed {
	if s.Credentials != CredentialsSecret {
		return nil
	}
	ref := s.CredentialsSecret
	return []SecretNeed{{NameKey: "loki.storage.s3.credentialsSecret.name", Name: ref.Name, Keys: map[string]string{
		ref.AccessKeyIDKey: "loki.storage.s3.credentialsSecret.accessKeyIdKey", ref.SecretAccessKeyKey: "loki.storage.s3.credentialsSecret.secretAccessKeyKey"}}}
}

// S3Endpoint is where Loki's S3 traffic goes.
type S3Endpoint struct {
	// Host is empty for AWS S3 (no endpoint set).
	Host string
	Port int
	// Namespace is set for an in-cluster Service (<service>.<namespace>.svc[.<domain>]).
	Namespace string
}

// bucketProblem is why name breaks the S3 bucket naming rules (AWS's "General purpose bucket
// naming rules", which MinIO follows too), or "".
func bucketProblem(name string) string {
	switch {
	case !bucketName.MatchString(name):
		return "s3 needs a bucket name of 3-63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit"
	case strings.Contains(name, ".."):
		return "a bucket name has no two adjacent dots"
	case net.ParseIP(name) != nil:
		return "a bucket name is not an IP address"
	}
	for _, prefix := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, prefix) {
			return "S3 reserves bucket names starting with " + prefix
		}
	}
	for _, suffix := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, suffix) {
			return "S3 reserves bucket names ending with " + suffix
		}
	}
	return ""
}

// awsS3Host is a host name of AWS S3 itself: global, regional, dual-stack or FIPS.
var awsS3Host = regexp.MustCompile(`^s3([.-](dualstack|fips))*([.-][a-z0-9-]+)?\.amazonaws\.com(\.cn)?$`)

// Store names the store behind the endpoint, the same however it is spelled: AWS S3 is one
// store whatever regional endpoint reaches it (its bucket names are global); an in-cluster
// Service is <service>.<namespace>.svc (the cluster's domain is the same cluster's); any other host is itself, with its port.
// The scheme does not count (one port serves one protocol), nor does letter case. Different
// names of one server (an IP and a host name, two CNAMEs) cannot be told apart without asking
// DNS, so they count as different stores: the refusal then names both and the fix.
func (e S3Endpoint) Store() string {
	switch {
	case e.Host == "" || awsS3Host.MatchString(e.Host):
		return "AWS S3"
	case e.Namespace != "":
		service, _, _ := strings.Cut(e.Host, ".")
		return fmt.Sprintf("%s.%s.svc:%d", service, e.Namespace, e.Port)
	}
	return fmt.Sprintf("%s:%d", e.Host, e.Port)
}

// ParseEndpoint reads the endpoint the way Loki does (validation's parser; the consumers take
// the parsed Store): a URL, or a bare host[:port] whose scheme follows insecure. No endpoint
// means AWS S3 over HTTPS.
func (s S3Settings) ParseEndpoint(domain string) (S3Endpoint, error) {
	if s.Endpoint == "" {
		return S3Endpoint{Port: 443}, nil
	}
	raw := s.Endpoint
	if !strings.Contains(raw, "://") {
		scheme := "https"
		if s.Insecure {
			scheme = "http"
		}
		raw = scheme + "://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return S3Endpoint{}, errors.New("not a URL or host[:port]")
	}
	port := map[string]int{"http": 80, "https": 443}[u.Scheme]
	if port == 0 {
		return S3Endpoint{}, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return S3Endpoint{}, fmt.Errorf("port %q is not a port number", p)
		}
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return S3Endpoint{}, errors.New("an endpoint is a scheme, host and port only (no path, query or credentials: buckets and keys have keys of their own)")
	}
	// DNS names are case-insensitive, and a trailing dot only roots the name.
	e := S3Endpoint{Host: strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), Port: port}
	if labels := strings.Split(e.Host, "."); net.ParseIP(e.Host) == nil && len(labels) >= 3 && labels[2] == "svc" &&
		(len(labels) == 3 || strings.Join(labels[3:], ".") == domain) {
		e.Namespace = labels[1]
	}
	return e, nil
}
