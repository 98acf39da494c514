// Package objstore is Loki's object stores: their settings in the spec (loki.storage.<kind>),
// their validation into a parsed Store, and everything a store asks of the rest of the stack:
// its blocks of Loki's config, the credentials the Loki pods carry (Secret keys, files,
// service-account annotations, pod labels), where its traffic goes (the NetworkPolicy egress),
// and what identifies the data it holds (the dataFacts record). Adding a store is a file here
// and its tests; the consumers take a Store and switch on nothing.
//
// The Loki keys are Loki 3.7's legacy storage clients (read, never imported: Loki is AGPL);
// each renderer names the Go struct and file its keys come from.
package objstore

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"obs-stack/stacks/check"
)

// Kind is an object store, named as Loki's schema_config object_store and
// compactor.delete_request_store name it (pkg/storage/config/schema_config.go and
// pkg/storage/factory.go: "filesystem", "s3", "gcs", "azure").
type Kind string

// The stores obs-stack configures.
const (
	Filesystem Kind = "filesystem"
	S3         Kind = "s3"
	GCS        Kind = "gcs"
	Azure      Kind = "azure"
)

// Kinds are every store, in the order messages list them.
var Kinds = []Kind{Filesystem, S3, GCS, Azure}

// Settings are the stores' sections of loki.storage; only the sections of stores in use are
// checked and rendered.
type Settings struct {
	S3    S3Settings
	GCS   GCSSettings
	Azure AzureSettings
}

// Env is what a store's checks need of the rest of the spec.
type Env struct {
	// Domain is the cluster's DNS domain (an in-cluster endpoint may be written with it).
	Domain string
	// Namespace is the stack's; NetworkPolicies says whether its default-deny policy is on.
	Namespace       string
	NetworkPolicies bool
}

// Store is one object store as validation parsed it.
type Store interface {
	Kind() Kind
	// Common is the store's block of common.storage (the store new data goes to).
	Common() (key string, block any)
	// Secondary is its block of storage_config, for a store that only older periods use
	// (common.storage takes one store).
	Secondary() (key string, block any)
	// Ruler is ruler.storage for rules kept in this store; ok is false when common.storage
	// already gives the ruler its rules (filesystem: a local directory).
	Ruler() (ruler map[string]any, ok bool)
	// Pod is what the Loki pods carry for the store's credentials.
	Pod() Pod
	// Egress is where the store's traffic (and its credentials' token exchange) goes.
	Egress() []Egress
	// Record identifies the data the store holds: a change of identity or of a place
	// strands the logs and rules written there.
	Record() Record
	// Secrets are the Secrets (and keys) the pods read, checked against the live cluster.
	Secrets() []SecretNeed
}

// Pod is what the Loki pods carry for a store.
type Pod struct {
	// Env are environment variables read from Secrets (Loki expands them into its config).
	Env []SecretEnv
	// Vars are plain environment variables.
	Vars map[string]string
	// Files are Secret keys mounted as files.
	Files []SecretFile
	// Annotations go on the Loki ServiceAccount (workload identity), Labels on the pods.
	Annotations, Labels map[string]string
}

// SecretEnv is an environment variable read from a Secret's key.
type SecretEnv struct{ Name, Secret, Key string }

// SecretFile mounts one key of a Secret as Dir/Path.
type SecretFile struct{ Volume, Secret, Key, Dir, Path string }

// Egress is one destination of a store's traffic: an in-cluster namespace, or CIDRs (nil
// CIDRs and no namespace: anywhere), on TCP ports. Name is a DNS label, unique across stores.
type Egress struct {
	Name, Why string
	Namespace string
	CIDRs     []string
	Ports     []int
}

// Record is what identifies a store's data: the store (an endpoint, an account) and each place
// in it (a bucket or container), by the config key that sets it.
type Record struct {
	Store    string            `json:"store"`
	StoreKey string            `json:"-"`
	Places   map[string]string `json:"places"`
}

// SecretNeed is a Secret the pods read, with the keys they read and the config keys naming them.
type SecretNeed struct {
	NameKey string
	Name    string
	// Keys maps each Secret key the pods read to the config key that names it.
	Keys map[string]string
}

// InUse are the stores Loki is configured for: Primary, where new data goes
// (loki.storage.type), and every store a schema period names, sorted by kind.
type InUse struct {
	Primary Kind
	All     []Store
}

// Get is the store of kind k, or nil.
func (u InUse) Get(k Kind) Store {
	for _, s := range u.All {
		if s.Kind() == k {
			return s
		}
	}
	return nil
}

// Parse checks the section of each store in kinds and returns them parsed; a store whose
// section fails is left out (the reporter has its problems).
func Parse(r check.Reporter, s Settings, primary Kind, kinds []Kind, env Env) InUse {
	kinds = slices.Clone(kinds)
	slices.Sort(kinds)
	in := InUse{Primary: primary}
	for _, k := range slices.Compact(kinds) {
		var st Store
		switch k {
		case Filesystem:
			st = filesystem{}
		case S3:
			st = s.S3.parse(r, env)
		case GCS:
			st = s.GCS.parse(r)
		case Azure:
			st = s.Azure.parse(r)
		}
		if st != nil {
			in.All = append(in.All, st)
		}
	}
	return in
}

// Known reports whether k is a store obs-stack configures.
func Known(k Kind) bool { return slices.Contains(Kinds, k) }

// places checks that a store's two places (chunks and rules) are named and apart, with
// problem (a naming rule) for each.
func places(r check.Reporter, prefix, what string, chunks, ruler string, problem func(string) string, example string) {
	for _, p := range []struct{ key, name string }{{prefix + ".chunks", chunks}, {prefix + ".ruler", ruler}} {
		if why := problem(p.name); why != "" {
			r.Fail(p.key, p.name, why, "set it to an existing %s, e.g. %s", what, example)
		}
	}
	if chunks != "" && chunks == ruler {
		r.Fail(prefix+".ruler", ruler, fmt.Sprintf("rules and chunks in one %s collide on their prefixes", what), "use a separate %s, e.g. loki-ruler", what)
	}
}

// credentialsSource checks the credentials selector of a store against the sources it offers.
func credentialsSource(r check.Reporter, key, value string, sources ...string) bool {
	if slices.Contains(sources, value) {
		return true
	}
	r.Fail(key, value, fmt.Sprintf("unknown credentials source (this store takes %v)", sources), "set it to %s (keys from an existing Secret) or %s (the pod's cloud identity)", sources[0], sources[1])
	return false
}

// https is the egress to a cloud endpoint.
func https(name, why string) Egress { return Egress{Name: name, Why: why, Ports: []int{443}} }

// cloudIdentity checks the identity a cloud credentials source names (a role, a service
// account, a client id): required and well-formed with that source, and absent with another.
func cloudIdentity(r check.Reporter, key, value, credentials, source string, valid *regexp.Regexp, why, fix string) {
	switch {
	case credentials == source && !valid.MatchString(value):
		r.Fail(key, value, why, "%s", fix)
	case credentials != source && value != "":
		r.Fail(key, value, fmt.Sprintf("it is only used with credentials %s, and credentials is %q", source, credentials),
			"set obs-stack:%s %s, or remove it", key[:strings.LastIndex(key, ".")]+".credentials", source)
	}
}

// counter counts the failures it passes on, so that a store with problems is left out.
type counter struct {
	r check.Reporter
	n int
}

func (c *counter) Fail(key string, value any, reason, fix string, args ...any) {
	c.n++
	c.r.Fail(key, value, reason, fix, args...)
}

func (c *counter) Warn(key string, value any, reason, fix string) { c.r.Warn(key, value, reason, fix) }

// put sets a string key when the value is not empty.
func put(m map[string]any, key, value string) {
	if value != "" {
		m[key] = value
	}
}
