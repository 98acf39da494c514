package loki

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"obs-stack/internal/golden"
	"obs-stack/internal/mocktest"
	"obs-stack/stacks"
	"obs-stack/stacks/load"
	"obs-stack/stacks/objstore"
)

// goldenSpecs are the rendered configs covered by golden files.
func goldenSpecs(t *testing.T) map[string]stacks.Valid {
	return map[string]stacks.Valid{
		"dev":                  mocktest.Spec(t, "dev", nil),
		"prod":                 mocktest.Spec(t, "prod", nil),
		"prod-simple-scalable": mocktest.Spec(t, "prod", map[string]string{"obs-stack:loki": `{"mode":"SimpleScalable"}`}),
		"dev-migrate-to-s3":    migrationSpec(t, objstore.S3),
		// One per store and credential source (prod's s3 with keys from a Secret is "prod").
		"prod-s3-irsa":                 storeSpec(t, `{"type": "s3", "s3": {"credentials": "irsa", "roleArn": "arn:aws:iam::123456789012:role/loki"}}`),
		"prod-s3-pod-identity":         storeSpec(t, `{"type": "s3", "s3": {"endpoint": "", "region": "eu-west-1", "forcePathStyle": false, "insecure": false, "credentials": "podIdentity"}}`),
		"prod-gcs":                     storeSpec(t, `{"type": "gcs", "gcs": {"buckets": {"chunks": "acme-loki-chunks", "ruler": "acme-loki-ruler"}, "credentialsSecret": {"name": "loki-gcs-key"}}}`),
		"prod-gcs-workload-identity":   storeSpec(t, `{"type": "gcs", "gcs": {"buckets": {"chunks": "acme-loki-chunks", "ruler": "acme-loki-ruler"}, "credentials": "workloadIdentity", "serviceAccount": "loki-logs@acme-prod.iam.gserviceaccount.com"}}`),
		"prod-azure":                   storeSpec(t, `{"type": "azure", "azure": {"accountName": "acmelogs", "containers": {"chunks": "loki-chunks", "ruler": "loki-ruler"}, "credentialsSecret": {"name": "loki-azure-key"}}}`),
		"prod-azure-workload-identity": storeSpec(t, `{"type": "azure", "azure": {"accountName": "acmelogs", "containers": {"chunks": "loki-chunks", "ruler": "loki-ruler"}, "credentials": "workloadIdentity", "clientId": "6f1c2a9e-3b7d-4c1e-9a2f-0d8e5b7c4a31"}}`),
		"dev-filesystem-s3-gcs":        threeStores(t),
	}
}

// storeSpec is prod with its store set by storage (loki.storage as JSON) and its one period
// on that store.
func storeSpec(t *testing.T, storage string) stacks.Valid {
	t.Helper()
	var kind struct{ Type string }
	if err := json.Unmarshal([]byte(storage), &kind); err != nil {
		t.Fatal(err)
	}
	return mocktest.Spec(t, "prod", map[string]string{"obs-stack:loki": `{"storage": ` + storage + `, "schemas": [{"objectStore": "` + kind.Type + `"}]}`})
}

// threeStores is dev that moved from its filesystem to s3 and is about to move to gcs: each
// period reads its own store, new data goes to gcs.
func threeStores(t *testing.T) stacks.Valid {
	t.Helper()
	return mocktest.Spec(t, "dev", map[string]string{"obs-stack:loki": `{
		"storage": {"type": "gcs",
			"s3": {"endpoint": "http://minio.minio.svc.cluster.local:9000", "forcePathStyle": true, "insecure": true,
				"buckets": {"chunks": "loki-chunks", "ruler": "loki-ruler"}, "credentialsSecret": {"name": "loki-s3-credentials"}},
			"gcs": {"buckets": {"chunks": "acme-loki-chunks", "ruler": "acme-loki-ruler"}, "credentialsSecret": {"name": "loki-gcs-key"}}},
		"schemas": [
			{"objectStore": "filesystem"},
			{"from": "2025-01-01", "store": "tsdb", "objectStore": "s3", "schema": "v13", "indexPrefix": "index_", "indexPeriod": "24h"},
			{"from": "2099-01-01", "store": "tsdb", "objectStore": "gcs", "schema": "v13", "indexPrefix": "index_", "indexPeriod": "24h"}]}`})
}

// migrationSpec is dev moving its store: the preset's filesystem period from 2024-04-01 stays,
// and a future period writes to MinIO from 2099-01-01. newStore is loki.storage.type: s3
// (the newest period's store, as a migration writes it) or filesystem (the opposite move,
// with the 2099 period on filesystem and the old one on s3).
func migrationSpec(t *testing.T, newStore objstore.Kind) stacks.Valid {
	t.Helper()
	oldStore := map[objstore.Kind]objstore.Kind{objstore.S3: objstore.Filesystem, objstore.Filesystem: objstore.S3}[newStore]
	spec, err := load.Load("dev", map[string]string{"obs-stack:loki": `{
		"storage": {"type": "` + string(newStore) + `", "s3": {
			"endpoint": "http://minio.minio.svc.cluster.local:9000", "forcePathStyle": true, "insecure": true,
			"buckets": {"chunks": "loki-chunks", "ruler": "loki-ruler"},
			"credentialsSecret": {"name": "loki-s3-credentials"}}},
		"schemas": [
			{"objectStore": "` + string(oldStore) + `"},
			{"from": "2099-01-01", "store": "tsdb", "objectStore": "` + string(newStore) + `", "schema": "v13", "indexPrefix": "index_", "indexPeriod": "24h"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	valid, _, err := spec.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return valid
}

// input is what the component passes BuildConfig for a validated spec.
func input(v stacks.Valid) ConfigInput {
	return ConfigInput{Loki: v.Loki, Retention: v.Retention, Storage: v.Storage, Namespace: v.Cluster.Namespace, Domain: v.Cluster.Domain}
}

func TestConfigGolden(t *testing.T) {
	for name, spec := range goldenSpecs(t) {
		t.Run(name, func(t *testing.T) {
			got, err := Render(BuildConfig(input(spec)))
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
	read := func(s stacks.Valid) map[string]any { return lokiYAML(t, s) }
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
		"auth_enabled":                        true,
		"common.replication_factor":           float64(3),
		"common.ring.kvstore.store":           "memberlist",
		"common.storage.s3.bucketnames":       "loki-chunks",
		"common.storage.s3.access_key_id":     "${AWS_ACCESS_KEY_ID}",
		"common.storage.s3.secret_access_key": "${AWS_SECRET_ACCESS_KEY}",
		"ruler.storage.s3.bucketnames":        "loki-ruler",
		// Plain host:port, which dskit resolves to every pod (the chart's query-scheduler
		// Service is headless too); a dns+ prefix would be read as part of the host name.
		"frontend.scheduler_address":        "loki-query-scheduler-headless.observability.svc.cluster.local:9095",
		"frontend_worker.scheduler_address": "loki-query-scheduler-headless.observability.svc.cluster.local:9095",
		// The Helm chart's loki.compactorAddress: <compactor Service>.<ns>.svc.<domain>:<grpc port>.
		"common.compactor_grpc_address": "loki-compactor.observability.svc.cluster.local:9095",
		"common.compactor_address":      nil,
		// The Helm chart's loki.indexGatewayAddress: dns+ on the headless Service, one client per pod.
		"storage_config.tsdb_shipper.index_gateway_client.server_address":  "dns+loki-index-gateway-headless.observability.svc.cluster.local:9095",
		"chunk_store_config.chunk_cache_config.memcached_client.addresses": "dnssrvnoa+_memcached-client._tcp.loki-chunks-cache.observability.svc.cluster.local",
	} {
		if got := get(prod, path); got != want {
			t.Errorf("prod %s = %v, want %v", path, got, want)
		}
	}

	if got := get(prod, "memberlist.join_members"); len(got.([]any)) != 1 || got.([]any)[0] != "dns+loki-memberlist.observability.svc.cluster.local:7946" {
		t.Errorf("prod memberlist.join_members = %v", got)
	}
	ssd := read(specs["prod-simple-scalable"])
	for path, want := range map[string]any{
		"common.compactor_grpc_address":                                   "loki-backend.observability.svc.cluster.local:9095",
		"storage_config.tsdb_shipper.index_gateway_client.server_address": "dns+loki-backend-headless.observability.svc.cluster.local:9095",
	} {
		if got := get(ssd, path); got != want {
			t.Errorf("simple scalable %s = %v, want %v", path, got, want)
		}
	}

	// Retention off: the compactor must not claim a delete request store it does not need.
	noRetention := mocktest.Spec(t, "dev", map[string]string{"obs-stack:loki": `{"limits":{"retentionPeriod":"0s"}}`})
	if m := read(noRetention); get(m, "compactor.retention_enabled") != false || get(m, "compactor.delete_request_store") != nil {
		t.Errorf("retention 0s: compactor = %v", get(m, "compactor"))
	}
}

// lokiYAML renders a spec's config and reads it back as plain data.
func lokiYAML(t *testing.T, s stacks.Valid) map[string]any {
	t.Helper()
	out, err := Render(BuildConfig(input(s)))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// credentialValues collects every access_key_id and secret_access_key in the config.
func credentialValues(v any, path string, out map[string]any) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if k == "access_key_id" || k == "secret_access_key" || k == "session_token" {
				out[path+k] = child
			}
			credentialValues(child, path+k+".", out)
		}
	case []any:
		for _, child := range v {
			credentialValues(child, path, out)
		}
	}
}

// TestMigrationRendersEveryStore: a period on another store than loki.storage.type keeps its
// store configured, or Loki cannot read (or compact) what that period holds.
func TestMigrationRendersEveryStore(t *testing.T) {
	dev := lokiYAML(t, goldenSpecs(t)["dev"])
	oldChunks := mocktest.Dig(dev, "common", "storage", "filesystem", "chunks_directory")
	if oldChunks != "/var/loki/chunks" {
		t.Fatalf("dev chunks directory = %v", oldChunks)
	}

	toS3 := lokiYAML(t, migrationSpec(t, objstore.S3))
	for _, c := range []struct {
		path []any
		want any
	}{
		// The old period's chunks stay readable where dev wrote them.
		{[]any{"storage_config", "filesystem", "directory"}, oldChunks},
		{[]any{"common", "storage", "s3", "bucketnames"}, "loki-chunks"},
		{[]any{"common", "storage", "s3", "endpoint"}, "http://minio.minio.svc.cluster.local:9000"},
		{[]any{"common", "storage", "s3", "region"}, "us-east-1"},
		{[]any{"common", "storage", "s3", "s3forcepathstyle"}, true},
		// common.storage takes one store: Loki 3.7 refuses two (ErrTooManyStorageConfigs).
		{[]any{"common", "storage", "filesystem"}, nil},
		// Rules and delete requests follow loki.storage.type.
		{[]any{"ruler", "storage", "type"}, "s3"},
		{[]any{"ruler", "storage", "s3", "bucketnames"}, "loki-ruler"},
		{[]any{"compactor", "delete_request_store"}, "s3"},
		{[]any{"schema_config", "configs", 0, "object_store"}, "filesystem"},
		{[]any{"schema_config", "configs", 1, "object_store"}, "s3"},
		{[]any{"schema_config", "configs", 1, "from"}, "2099-01-01"},
	} {
		if got := mocktest.Dig(toS3, c.path...); got != c.want {
			t.Errorf("to s3: %v = %v, want %v", c.path, got, c.want)
		}
	}

	back := lokiYAML(t, migrationSpec(t, objstore.Filesystem))
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"common", "storage", "filesystem", "chunks_directory"}, oldChunks},
		{[]any{"common", "storage", "s3"}, nil},
		{[]any{"storage_config", "aws", "bucketnames"}, "loki-chunks"},
		{[]any{"storage_config", "aws", "endpoint"}, "http://minio.minio.svc.cluster.local:9000"},
		{[]any{"ruler", "storage"}, nil}, // the local rules directory common.storage.filesystem gives
		{[]any{"compactor", "delete_request_store"}, "filesystem"},
	} {
		if got := mocktest.Dig(back, c.path...); got != c.want {
			t.Errorf("back to filesystem: %v = %v, want %v", c.path, got, c.want)
		}
	}

	for name, cfg := range map[string]map[string]any{"to s3": toS3, "back to filesystem": back} {
		creds := map[string]any{}
		credentialValues(cfg, "", creds)
		if len(creds) == 0 {
			t.Errorf("%s: no S3 credentials rendered at all", name)
		}
		for path, v := range creds {
			if v != "${AWS_ACCESS_KEY_ID}" && v != "${AWS_SECRET_ACCESS_KEY}" {
				t.Errorf("%s: %s = %v; credentials must come from the environment", name, path, v)
			}
		}
	}
}

func TestObjectStores(t *testing.T) {
	for _, c := range []struct {
		spec stacks.Valid
		want []string
	}{
		{goldenSpecs(t)["dev"], []string{"filesystem"}},
		{goldenSpecs(t)["prod"], []string{"s3"}},
		{migrationSpec(t, objstore.S3), []string{"filesystem", "s3"}},
		{migrationSpec(t, objstore.Filesystem), []string{"filesystem", "s3"}},
	} {
		var got []string
		for _, st := range c.spec.Storage.All {
			got = append(got, string(st.Kind()))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("ObjectStores(%s, periods %v) = %v, want %v", c.spec.Loki.Storage.Type, c.spec.Loki.Schemas, got, c.want)
		}
	}
}

// TestSchedulerRingPageOnlyWithoutSchedulerAddress: Loki serves /scheduler/ring only when it
// discovers schedulers through their ring, which it does when no scheduler_address is set
// (pkg/loki/config_wrapper.go); elsewhere the page is a 404 the gateway must not route to.
func TestSchedulerRingPageOnlyWithoutSchedulerAddress(t *testing.T) {
	for name, spec := range goldenSpecs(t) {
		cfg := lokiYAML(t, spec)
		usesRing := mocktest.Dig(cfg, "frontend", "scheduler_address") == nil && mocktest.Dig(cfg, "frontend_worker", "scheduler_address") == nil
		_, routed := spec.Loki.RingPageTargets()["/scheduler/ring"]
		if routed != usesRing {
			t.Errorf("%s (%s): /scheduler/ring routed = %v, but the scheduler ring is in use = %v", name, spec.Loki.Mode, routed, usesRing)
		}
	}
}

// TestRulersShard: every target that runs the ruler (single-binary, backend, ruler) shards
// its rule groups over the ruler ring, in every mode and at every replica count, so that two
// replicas never both evaluate one group (Loki 3.7's ruler.enable-sharding defaults to false,
// pkg/ruler/base/ruler.go). The other multi-replica targets coordinate through settings
// TestConfigFacts checks: the schedulers and index gateways are reached per pod (headless
// Service), and the compactor is a singleton (Distributed) or elected over its ring (backend).
// It fails if sharding were set only for some modes or replica counts.
func TestRulersShard(t *testing.T) {
	specs := goldenSpecs(t)
	specs["single-binary-ha"] = mocktest.Spec(t, "prod", map[string]string{"obs-stack:loki": `{"mode": "SingleBinary", "replicationFactor": 2, "singleBinary": {"replicas": 2}}`})
	for name, spec := range specs {
		if got := lokiYAML(t, spec)["ruler"].(map[string]any)["enable_sharding"]; got != true {
			t.Errorf("%s (%s): ruler.enable_sharding = %v, want true", name, spec.Loki.Mode, got)
		}
	}
}
