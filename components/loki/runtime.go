package loki

import (
	"time"

	"github.com/prometheus/common/model"

	"obs-stack/stacks"
)

// Loki's runtime config: the per-tenant limits, in a file of its own that Loki reloads every
// period without a restart (pkg/runtime and pkg/validation of Loki 3.7: runtimeConfigValues
// reads "overrides" into validation.Limits per tenant, each starting from limits_config, so an
// unset field keeps the global value). It lives in a ConfigMap with a fixed name that no pod
// template names by content: changing a tenant's limit updates that ConfigMap in place, the
// kubelet refreshes the mounted file, and no pod rolls.
const (
	runtimeDir    = "/etc/loki/runtime"
	runtimeFile   = "runtime.yaml"
	runtimePeriod = "10s" // Loki's default reload period, written out
	// RuntimeConfigMap is the runtime config's ConfigMap.
	RuntimeConfigMap = "loki-runtime"
)

// RuntimeConfigRef is Loki's runtime_config block.
type RuntimeConfigRef struct {
	File   string `json:"file"`
	Period string `json:"period"`
}

// RuntimeConfig is the runtime config file.
type RuntimeConfig struct {
	Overrides map[string]TenantOverrides `json:"overrides"`
}

// TenantOverrides are the limits_config keys a tenant may override (Loki's validation.Limits
// yaml names); unset ones are left out and keep limits_config's value.
type TenantOverrides struct {
	IngestionRateMB         float64           `json:"ingestion_rate_mb,omitempty"`
	IngestionBurstSizeMB    float64           `json:"ingestion_burst_size_mb,omitempty"`
	MaxGlobalStreamsPerUser int               `json:"max_global_streams_per_user,omitempty"`
	MaxQuerySeries          int               `json:"max_query_series,omitempty"`
	QueryTimeout            string            `json:"query_timeout,omitempty"`
	MaxQueryLookback        string            `json:"max_query_lookback,omitempty"`
	RetentionPeriod         string            `json:"retention_period,omitempty"`
	RetentionStream         []RetentionStream `json:"retention_stream,omitempty"`
}

// RetentionStream is one rule of retention_stream.
type RetentionStream struct {
	Selector string `json:"selector"`
	Priority int    `json:"priority"`
	Period   string `json:"period"`
}

// BuildRuntimeConfig turns the validated tenants into the runtime config; no tenant, no
// overrides (the file still exists, so adding the first tenant rolls nothing).
func BuildRuntimeConfig(tenants []stacks.ValidTenant) RuntimeConfig {
	rc := RuntimeConfig{Overrides: map[string]TenantOverrides{}}
	for _, t := range tenants {
		o := TenantOverrides{
			IngestionRateMB: t.Limits.IngestionRateMB, IngestionBurstSizeMB: t.Limits.IngestionBurstSizeMB,
			MaxGlobalStreamsPerUser: t.Limits.MaxGlobalStreamsPerUser, MaxQuerySeries: t.Limits.MaxQuerySeries,
			QueryTimeout: duration(t.QueryTimeout), MaxQueryLookback: duration(t.MaxQueryLookback), RetentionPeriod: duration(t.Retention),
		}
		for _, s := range t.Streams {
			o.RetentionStream = append(o.RetentionStream, RetentionStream{Selector: s.Selector, Priority: s.Priority, Period: duration(s.Period)})
		}
		rc.Overrides[t.Name] = o
	}
	return rc
}

// duration writes a parsed duration as Loki reads it back (model.Duration: 720h -> "30d");
// zero is unset.
func duration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return model.Duration(d).String()
}

// tenantRetention: some tenant deletes logs, so the compactor must apply retention.
func tenantRetention(tenants []stacks.ValidTenant) bool {
	for _, t := range tenants {
		if t.Retention > 0 || len(t.Streams) > 0 {
			return true
		}
	}
	return false
}
