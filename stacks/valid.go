package stacks

import (
	"obs-stack/stacks/objstore"
	"time"
)

// Valid is a spec that passed validation, with the values validation parsed out of its
// strings. The program and the components take these typed values and parse nothing again:
// each of them has exactly one parser, the one validation runs.
type Valid struct {
	Spec
	// Retention is loki.limits.retentionPeriod; 0 keeps logs forever.
	Retention time.Duration
	// Storage are the object stores Loki must be configured for, parsed: loki.storage.type,
	// where new data goes, and every store a schema period names (an older period may keep
	// another store while a migration runs).
	Storage objstore.InUse
	// Versions are the tags of the stack's image references (the app.kubernetes.io/version
	// label), read the way the container runtime reads a reference: a registry port is no
	// tag, and an image pinned by digest alone has none.
	Versions map[string]string
	// Tenants are loki.tenants with their durations parsed, in the order given.
	Tenants []ValidTenant
	// CanaryImage is monitoring.canary.image, or the loki-canary image of loki.image when it
	// follows Loki (empty); set when the canary runs.
	CanaryImage string
	// MemoryLimits are the memory limits in bytes of each set of pods validation sized, by its
	// config key (e.g. kafka); absent when unset.
	MemoryLimits map[string]int64
}

// ValidTenant is a tenant with its durations parsed; a zero value keeps the global setting.
type ValidTenant struct {
	Tenant
	QueryTimeout, MaxQueryLookback, Retention time.Duration
	Streams                                   []ValidStream
}

// ValidStream is a retention_stream rule with its period parsed.
type ValidStream struct {
	Selector string
	Period   time.Duration
	Priority int
}
