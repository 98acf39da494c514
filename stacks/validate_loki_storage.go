package stacks

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

var (
	schemaNames = map[string]int{"v9": 9, "v10": 10, "v11": 11, "v12": 12, "v13": 13}
	bucketName  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// objectStores are the object stores in use (Valid.ObjectStores).
func (l Loki) objectStores() []string {
	stores := []string{l.Storage.Type}
	for _, p := range l.Schemas {
		stores = append(stores, p.ObjectStore)
	}
	slices.Sort(stores)
	return slices.Compact(stores)
}

func (s Spec) checkLokiStorage(c *checker) {
	l := s.Loki
	st := l.Storage
	switch st.Type {
	case StorageFilesystem, StorageS3:
	case "gcs", "azure", "swift":
		c.fail("loki.storage.type", st.Type, "obs-stack supports S3-compatible object storage only so far", "set it to s3 (GCS offers an S3-compatible XML API; MinIO can gateway the rest)")
	default:
		c.fail("loki.storage.type", st.Type, "unknown storage type", "set it to filesystem (SingleBinary, one replica) or s3")
	}
	stores := l.objectStores()
	c.valid.ObjectStores = stores
	if slices.Contains(stores, StorageFilesystem) {
		// Blame the key that brings the filesystem in: the storage type, or an older period.
		key, value := "loki.storage.type", st.Type
		if st.Type != StorageFilesystem {
			i := slices.IndexFunc(l.Schemas, func(p SchemaPeriod) bool { return p.ObjectStore == StorageFilesystem })
			key, value = fmt.Sprintf("loki.schemas[%d].objectStore", i), StorageFilesystem
		}
		switch {
		case l.Mode == Distributed || l.Mode == SimpleScalable:
			c.fail(key, value, fmt.Sprintf("%s mode spreads data over several pods, which cannot share one filesystem", l.Mode),
				"set obs-stack:loki.storage.type to s3 (with loki.storage.s3.*), or obs-stack:loki.mode to SingleBinary")
		case l.Mode == SingleBinary && l.SingleBinary.Replicas > 1:
			c.fail("loki.singleBinary.replicas", l.SingleBinary.Replicas, "filesystem storage works with exactly one replica (each pod would see only its own PVC)",
				"set obs-stack:loki.singleBinary.replicas to 1, or obs-stack:loki.storage.type to s3 for HA monolithic")
		}
	}
	if slices.Contains(stores, StorageS3) {
		s.checkS3(c)
	}
}

func (s Spec) checkS3(c *checker) {
	s3 := s.Loki.Storage.S3
	if s3.Endpoint == "" && s3.Region == "" {
		c.fail("loki.storage.s3.region", s3.Region, "s3 needs an endpoint or a region", "set obs-stack:loki.storage.s3.endpoint (MinIO etc.) or obs-stack:loki.storage.s3.region (AWS)")
	}
	endpoint, err := s3.ParseEndpoint(s.Cluster.Domain)
	if err != nil {
		c.fail("loki.storage.s3.endpoint", s3.Endpoint, err.Error(), "write it like http://minio.minio.svc.cluster.local:9000 or https://s3.eu-west-1.amazonaws.com")
	} else {
		c.valid.S3 = &endpoint
	}
	if err == nil && s.Cluster.NetworkPolicies && endpoint.Namespace == s.Cluster.Namespace {
		c.fail("loki.storage.s3.endpoint", s3.Endpoint, fmt.Sprintf("the store runs in the stack's namespace %s, where the default-deny NetworkPolicy blocks the store's own pods", s.Cluster.Namespace),
			"run the store in its own namespace, or set obs-stack:cluster.networkPolicies false")
	}
	for _, b := range []struct{ key, name string }{{"loki.storage.s3.buckets.chunks", s3.Buckets.Chunks}, {"loki.storage.s3.buckets.ruler", s3.Buckets.Ruler}} {
		if why := bucketProblem(b.name); why != "" {
			c.fail(b.key, b.name, why, "set it to an existing bucket, e.g. loki-chunks")
		}
	}
	if s3.Buckets.Chunks != "" && s3.Buckets.Chunks == s3.Buckets.Ruler {
		c.fail("loki.storage.s3.buckets.ruler", s3.Buckets.Ruler, "rules and chunks in one bucket collide on their prefixes", "use a separate bucket, e.g. loki-ruler")
	}
	dnsSubdomain(c, "loki.storage.s3.credentialsSecret.name", s3.CredentialsSecret.Name)
	secretKey(c, "loki.storage.s3.credentialsSecret.accessKeyIdKey", s3.CredentialsSecret.AccessKeyIDKey, "AWS_ACCESS_KEY_ID")
	secretKey(c, "loki.storage.s3.credentialsSecret.secretAccessKeyKey", s3.CredentialsSecret.SecretAccessKeyKey, "AWS_SECRET_ACCESS_KEY")
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

// ParseEndpoint reads the endpoint the way Loki does (validation's parser; the program takes
// its result from Valid.S3): a URL, or a bare host[:port] whose
// scheme follows insecure. No endpoint means AWS S3 over HTTPS.
func (s S3Storage) ParseEndpoint(domain string) (S3Endpoint, error) {
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

func checkSchemas(c *checker, l Loki) {
	if len(l.Schemas) == 0 {
		c.fail("loki.schemas", l.Schemas, "Loki needs at least one schema period", "add one: {from: 2024-04-01, store: tsdb, objectStore: %s, schema: v13, indexPrefix: index_, indexPeriod: 24h}", l.Storage.Type)
		return
	}
	var prev time.Time
	for i, p := range l.Schemas {
		key := fmt.Sprintf("loki.schemas[%d]", i)
		from, err := time.Parse(time.DateOnly, p.From)
		switch {
		case err != nil:
			c.fail(key+".from", p.From, "not a date", "write it as YYYY-MM-DD, e.g. 2024-04-01")
		case i == 0 && from.After(c.now):
			c.fail(key+".from", p.From, "no schema period covers today, so Loki refuses every push until then",
				"let the first period start in the past, e.g. 2024-04-01")
		case i > 0 && !from.After(prev):
			c.fail(key+".from", p.From, fmt.Sprintf("schema periods must start on strictly increasing dates, and the period before starts on %s", prev.Format(time.DateOnly)),
				"set a later date; to migrate an existing store add a new period with a future date")
		}
		prev = from
		switch p.Store {
		case "tsdb":
		case "boltdb-shipper":
			c.warn(key+".store", p.Store, "boltdb-shipper is deprecated and removed in Loki 4", "keep it only for old periods; add a tsdb v13 period with a future from date")
		default:
			c.fail(key+".store", p.Store, "unknown index store", "set it to tsdb")
		}
		if !slices.Contains(supportedObjs, p.ObjectStore) {
			c.fail(key+".objectStore", p.ObjectStore, "unknown object store", "set it to filesystem or s3 (the store this period's data is in)")
		}
		if _, ok := schemaNames[p.Schema]; !ok {
			c.fail(key+".schema", p.Schema, "unknown schema version (Loki 3 knows v9 to v13)", "set it to v13")
		}
		required(c, key+".indexPrefix", p.IndexPrefix, "index_")
		period, err := model.ParseDuration(p.IndexPeriod)
		day := model.Duration(24 * time.Hour)
		switch {
		case err != nil || period <= 0 || period%day != 0:
			c.fail(key+".indexPeriod", p.IndexPeriod, "the index period must be a positive multiple of 24h", "set it to 24h")
		case period != day && (p.Store == "tsdb" || p.Store == "boltdb-shipper"):
			c.fail(key+".indexPeriod", p.IndexPeriod, fmt.Sprintf("the %s index requires a 24h period (Loki refuses to start otherwise)", p.Store), "set it to 24h")
		}
	}
	// Loki checks the newest period: older ones may keep an old schema (or store) during a migration.
	last, key := l.Schemas[len(l.Schemas)-1], fmt.Sprintf("loki.schemas[%d]", len(l.Schemas)-1)
	if last.ObjectStore != l.Storage.Type && slices.Contains(supportedObjs, last.ObjectStore) && slices.Contains(supportedObjs, l.Storage.Type) {
		c.fail(key+".objectStore", last.ObjectStore, fmt.Sprintf("the newest period is where new data goes, and loki.storage.type says that is %q", l.Storage.Type),
			"set it to %s; to move to another store, append a period on it with a future from date and set obs-stack:loki.storage.type to that store (older periods keep theirs)", l.Storage.Type)
	}
	_, knownSchema := schemaNames[last.Schema]
	if l.Limits.AllowStructuredMetadata {
		if knownSchema && last.Schema != "v13" {
			c.fail(key+".schema", last.Schema, "CONFIG ERROR: schema v13 is required to store structured metadata (loki.limits.allowStructuredMetadata is true)",
				"on a new install set obs-stack:%s.schema to v13 (with store tsdb); on an existing store add a v13 tsdb period with a future from date", key)
		}
		if last.Store == "boltdb-shipper" {
			c.fail(key+".store", last.Store, "CONFIG ERROR: the tsdb index type is required to store structured metadata (loki.limits.allowStructuredMetadata is true)",
				"set obs-stack:%s.store to tsdb, or add a tsdb v13 period with a future from date", key)
		}
	}
}
