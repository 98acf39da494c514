package loki

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"obs-stack/internal/golden"
	"obs-stack/internal/mocktest"
	"obs-stack/stacks"
)

// goldenSpecs are the rendered configs covered by golden files.
func goldenSpecs(t *testing.T) map[string]stacks.Spec {
	return map[string]stacks.Spec{
		"dev":                  mocktest.Spec(t, "dev", nil),
		"prod":                 mocktest.Spec(t, "prod", nil),
		"prod-simple-scalable": mocktest.Spec(t, "prod", map[string]string{"obs-stack:loki": `{"mode":"SimpleScalable"}`}),
	}
}

func TestConfigGolden(t *testing.T) {
	for name, spec := range goldenSpecs(t) {
		t.Run(name, func(t *testing.T) {
			got, err := Render(BuildConfig(spec))
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "config-"+name+".yaml", got)
		})
	}
}

// TestConfigFacts checks what the golden files must say, independently of their bytes.
func TestConfigFacts(t *testing.T) {
	specs := goldenSpecs(t)
	read := func(s stacks.Spec) map[string]any {
		out, err := Render(BuildConfig(s))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(out), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	get := func(m map[string]any, path string) any {
		var v any = m
		for _, k := range strings.Split(path, ".") {
			obj, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = obj[k]
		}
		return v
	}

	dev := read(specs["dev"])
	for path, want := range map[string]any{
		"auth_enabled":                               false,
		"common.replication_factor":                  float64(1),
		"common.ring.kvstore.store":                  "inmemory",
		"compactor.retention_enabled":                true,
		"compactor.delete_request_store":             "filesystem",
		"limits_config.retention_period":             "168h",
		"common.storage.filesystem.chunks_directory": "/var/loki/chunks",
	} {
		if got := get(dev, path); got != want {
			t.Errorf("dev %s = %v, want %v", path, got, want)
		}
	}
	if get(dev, "memberlist") != nil || get(dev, "chunk_store_config") != nil {
		t.Error("dev must have neither memberlist nor caches")
	}

	prod := read(specs["prod"])
	for path, want := range map[string]any{
		"auth_enabled":                                                     true,
		"common.replication_factor":                                        float64(3),
		"common.ring.kvstore.store":                                        "memberlist",
		"common.storage.s3.bucketnames":                                    "loki-chunks",
		"common.storage.s3.access_key_id":                                  "${AWS_ACCESS_KEY_ID}",
		"common.storage.s3.secret_access_key":                              "${AWS_SECRET_ACCESS_KEY}",
		"ruler.storage.s3.bucketnames":                                     "loki-ruler",
		"common.compactor_address":                                         "http://loki-compactor.observability.svc.cluster.local:3100",
		"frontend.scheduler_address":                                       "loki-query-scheduler-headless.observability.svc.cluster.local:9095",
		"chunk_store_config.chunk_cache_config.memcached_client.addresses": "dnssrvnoa+_memcached-client._tcp.loki-chunks-cache.observability.svc.cluster.local",
	} {
		if got := get(prod, path); got != want {
			t.Errorf("prod %s = %v, want %v", path, got, want)
		}
	}

	// Retention off: the compactor must not claim a delete request store it does not need.
	noRetention := mocktest.Spec(t, "dev", map[string]string{"obs-stack:loki": `{"limits":{"retentionPeriod":"0s"}}`})
	if m := read(noRetention); get(m, "compactor.retention_enabled") != false || get(m, "compactor.delete_request_store") != nil {
		t.Errorf("retention 0s: compactor = %v", get(m, "compactor"))
	}
}
