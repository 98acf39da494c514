package stacks

import (
	"errors"
	"strings"
	"testing"
)

// loadAndValidate is what a preview does with a stack's config.
func loadAndValidate(stack string, config map[string]string) ([]string, error) {
	s, err := Load(stack, config)
	if err != nil {
		return nil, err
	}
	return s.Validate()
}

func TestPresetsAreValidAndQuiet(t *testing.T) {
	for _, name := range PresetNames() {
		warnings, err := loadAndValidate(name, nil)
		if err != nil || len(warnings) > 0 {
			t.Errorf("preset %s: err %v, warnings %v", name, err, warnings)
		}
	}
}

func TestDevPresetShape(t *testing.T) {
	d := Dev()
	if d.Loki.Mode != SingleBinary || d.Loki.ReplicationFactor != 1 || d.Loki.SingleBinary.Replicas != 1 ||
		d.Loki.Storage.Type != StorageFilesystem || d.Loki.Caches.ChunksCache.Enabled || d.Loki.Caches.ResultsCache.Enabled {
		t.Errorf("dev preset drifted: %+v", d.Loki)
	}
	if r := d.Loki.SingleBinary.Resources; r != res("200m", "256Mi", "500m", "512Mi") {
		t.Errorf("dev Loki resources = %+v", r)
	}
	if p := d.Loki.Schemas[0]; p.Schema != "v13" || p.Store != "tsdb" {
		t.Errorf("dev schema = %+v", p)
	}
}

func TestSimpleScalableWarnsDeprecated(t *testing.T) {
	warnings, err := loadAndValidate("prod", map[string]string{"obs-stack:loki": `{"mode":"SimpleScalable"}`})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "obs-stack:loki.mode") || !strings.Contains(warnings[0], "deprecated") {
		t.Fatalf("warnings = %v", warnings)
	}
}

func TestSchemaMigrationWithANewV13PeriodIsValid(t *testing.T) {
	warnings, err := loadAndValidate("dev", map[string]string{"obs-stack:loki": `{"schemas":[
		{"from":"2022-01-01","store":"boltdb-shipper","objectStore":"filesystem","schema":"v11","indexPrefix":"index_","indexPeriod":"24h"},
		{"from":"2024-04-01","store":"tsdb","objectStore":"filesystem","schema":"v13","indexPrefix":"index_","indexPeriod":"24h"}]}`})
	if err != nil {
		t.Fatalf("an old period may keep v11 when the newest is v13 tsdb: %v", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "loki.schemas[0].store") {
		t.Fatalf("boltdb-shipper should warn: %v", warnings)
	}
}

// TestBadConfigs: each case is a stack config that must fail before any resource exists,
// with every listed key named in the error.
func TestBadConfigs(t *testing.T) {
	schema := func(periods string) map[string]string {
		return map[string]string{"obs-stack:loki": `{"schemas":[` + periods + `]}`}
	}
	cases := []struct {
		name   string
		stack  string
		config map[string]string
		keys   []string
	}{
		{"schema v11 boltdb-shipper with structured metadata on", "dev",
			schema(`{"from":"2024-04-01","store":"boltdb-shipper","objectStore":"filesystem","schema":"v11","indexPrefix":"index_","indexPeriod":"24h"}`),
			[]string{"loki.schemas[0].schema", "loki.schemas[0].store"}},
		{"newest period v12 with structured metadata on", "dev",
			schema(`{"from":"2023-01-01","store":"tsdb","objectStore":"filesystem","schema":"v13","indexPrefix":"index_","indexPeriod":"24h"},{"from":"2024-01-01","store":"tsdb","objectStore":"filesystem","schema":"v12","indexPrefix":"index_","indexPeriod":"24h"}`),
			[]string{"loki.schemas[1].schema"}},
		{"replication factor 3 with a single replica", "dev", map[string]string{"obs-stack:loki": `{"replicationFactor":3}`}, []string{"loki.replicationFactor"}},
		{"replication factor 3 with two ingesters", "prod", map[string]string{"obs-stack:loki": `{"ingester":{"replicas":2}}`}, []string{"loki.replicationFactor"}},
		{"replication factor 0", "dev", map[string]string{"obs-stack:loki": `{"replicationFactor":0}`}, []string{"loki.replicationFactor"}},
		{"unknown mode", "dev", map[string]string{"obs-stack:loki": `{"mode":"Monolithic"}`}, []string{"loki.mode"}},
		{"filesystem storage in Distributed mode", "dev", map[string]string{"obs-stack:loki": `{"mode":"Distributed"}`}, []string{"loki.storage.type"}},
		{"filesystem storage in SimpleScalable mode", "dev", map[string]string{"obs-stack:loki": `{"mode":"SimpleScalable"}`}, []string{"loki.storage.type"}},
		{"filesystem storage with three single binaries", "dev", map[string]string{"obs-stack:loki": `{"singleBinary":{"replicas":3}}`}, []string{"loki.singleBinary.replicas"}},
		{"unsupported object store", "prod", map[string]string{"obs-stack:loki": `{"storage":{"type":"gcs"}}`}, []string{"loki.storage.type"}},
		{"tsdb index period 48h", "dev",
			schema(`{"from":"2024-04-01","store":"tsdb","objectStore":"filesystem","schema":"v13","indexPrefix":"index_","indexPeriod":"48h"}`),
			[]string{"loki.schemas[0].indexPeriod"}},
		{"index period not a multiple of 24h", "dev",
			map[string]string{"obs-stack:loki": `{"limits":{"allowStructuredMetadata":false},"schemas":[{"from":"2024-04-01","store":"boltdb-shipper","objectStore":"filesystem","schema":"v12","indexPrefix":"index_","indexPeriod":"36h"}]}`},
			[]string{"loki.schemas[0].indexPeriod"}},
		{"period dates not increasing", "dev",
			schema(`{"from":"2024-04-01","store":"tsdb","objectStore":"filesystem","schema":"v13","indexPrefix":"index_","indexPeriod":"24h"},{"from":"2024-04-01","store":"tsdb","objectStore":"filesystem","schema":"v13","indexPrefix":"index_","indexPeriod":"24h"}`),
			[]string{"loki.schemas[1].from"}},
		{"period date not a date", "dev", map[string]string{"obs-stack:loki": `{"schemas":[{"from":"01/04/2024"}]}`}, []string{"loki.schemas[0].from"}},
		{"unknown schema version", "dev", map[string]string{"obs-stack:loki": `{"schemas":[{"schema":"v14"}]}`}, []string{"loki.schemas[0].schema"}},
		{"unknown index store", "dev", map[string]string{"obs-stack:loki": `{"schemas":[{"store":"cassandra"}]}`}, []string{"loki.schemas[0].store"}},
		{"period object store differs from storage", "dev", map[string]string{"obs-stack:loki": `{"schemas":[{"objectStore":"s3"}]}`}, []string{"loki.schemas[0].objectStore"}},
		{"no schema period", "dev", map[string]string{"obs-stack:loki": `{"schemas":[]}`}, []string{"loki.schemas"}},
		{"s3 without a chunks bucket", "prod", map[string]string{"obs-stack:loki": `{"storage":{"s3":{"buckets":{"chunks":""}}}}`}, []string{"loki.storage.s3.buckets.chunks"}},
		{"s3 bucket name with capitals", "prod", map[string]string{"obs-stack:loki": `{"storage":{"s3":{"buckets":{"ruler":"Loki_Ruler"}}}}`}, []string{"loki.storage.s3.buckets.ruler"}},
		{"s3 ruler and chunks in one bucket", "prod", map[string]string{"obs-stack:loki": `{"storage":{"s3":{"buckets":{"ruler":"loki-chunks"}}}}`}, []string{"loki.storage.s3.buckets.ruler"}},
		{"s3 without a credentials secret", "prod", map[string]string{"obs-stack:loki": `{"storage":{"s3":{"credentialsSecret":{"name":""}}}}`}, []string{"loki.storage.s3.credentialsSecret.name"}},
		{"s3 without endpoint or region", "prod", map[string]string{"obs-stack:loki": `{"storage":{"s3":{"endpoint":"","region":""}}}`}, []string{"loki.storage.s3.region"}},
		{"hard anti-affinity with more ingesters than nodes", "prod", map[string]string{"obs-stack:cluster": `{"nodes":1}`}, []string{"loki.ingester.antiAffinity", "kafka.antiAffinity"}},
		{"unknown anti-affinity", "dev", map[string]string{"obs-stack:loki": `{"singleBinary":{"antiAffinity":"strict"}}`}, []string{"loki.singleBinary.antiAffinity"}},
		{"memory in MB", "dev", map[string]string{"obs-stack:loki": `{"singleBinary":{"resources":{"limits":{"memory":"512MB"}}}}`}, []string{"loki.singleBinary.resources.limits.memory"}},
		{"cpu as a word", "dev", map[string]string{"obs-stack:loki": `{"singleBinary":{"resources":{"requests":{"cpu":"half"}}}}`}, []string{"loki.singleBinary.resources.requests.cpu"}},
		{"negative memory", "dev", map[string]string{"obs-stack:gateway": `{"resources":{"requests":{"memory":"-1Gi"}}}`}, []string{"gateway.resources.requests.memory"}},
		{"memory request above limit", "dev", map[string]string{"obs-stack:loki": `{"singleBinary":{"resources":{"requests":{"memory":"1Gi"}}}}`}, []string{"loki.singleBinary.resources.requests.memory"}},
		{"cpu request above limit", "prod", map[string]string{"obs-stack:loki": `{"querier":{"resources":{"requests":{"cpu":"2"}}}}`}, []string{"loki.querier.resources.requests.cpu"}},
		{"zero distributors", "prod", map[string]string{"obs-stack:loki": `{"distributor":{"replicas":0}}`}, []string{"loki.distributor.replicas"}},
		{"negative queriers", "prod", map[string]string{"obs-stack:loki": `{"querier":{"replicas":-1}}`}, []string{"loki.querier.replicas"}},
		{"two compactors", "prod", map[string]string{"obs-stack:loki": `{"compactor":{"replicas":2}}`}, []string{"loki.compactor.replicas"}},
		{"stateful target without storage size", "prod", map[string]string{"obs-stack:loki": `{"ingester":{"storage":""}}`}, []string{"loki.ingester.storage"}},
		{"namespace not a DNS label", "dev", map[string]string{"obs-stack:cluster": `{"namespace":"Observability"}`}, []string{"cluster.namespace"}},
		{"zero nodes", "dev", map[string]string{"obs-stack:cluster": `{"nodes":0}`}, []string{"cluster.nodes"}},
		{"node memory not a quantity", "dev", map[string]string{"obs-stack:cluster": `{"nodeMemory":"lots"}`}, []string{"cluster.nodeMemory"}},
		{"dns service with a space", "dev", map[string]string{"obs-stack:cluster": `{"dnsService":"kube dns"}`}, []string{"cluster.dnsService"}},
		{"tenant set while auth is off", "dev", map[string]string{"obs-stack:loki": `{"tenant":"team-a"}`}, []string{"loki.tenant"}},
		{"auth on without a tenant", "prod", map[string]string{"obs-stack:loki": `{"tenant":""}`}, []string{"loki.tenant"}},
		{"retention not a duration", "dev", map[string]string{"obs-stack:loki": `{"limits":{"retentionPeriod":"1 month"}}`}, []string{"loki.limits.retentionPeriod"}},
		{"burst below rate", "dev", map[string]string{"obs-stack:loki": `{"limits":{"ingestionBurstSizeMB":1}}`}, []string{"loki.limits.ingestionBurstSizeMB"}},
		{"tiny chunks cache", "prod", map[string]string{"obs-stack:loki": `{"caches":{"chunksCache":{"sizeMB":0}}}`}, []string{"loki.caches.chunksCache.sizeMB"}},
		{"kafka offsets RF above brokers", "dev", map[string]string{"obs-stack:kafka": `{"offsetsReplicationFactor":3}`}, []string{"kafka.offsetsReplicationFactor"}},
		{"kafka topic RF above brokers", "dev", map[string]string{"obs-stack:kafka": `{"topics":[{"replicationFactor":3}]}`}, []string{"kafka.topics[0].replicationFactor"}},
		{"grafana uid with spaces", "dev", map[string]string{"obs-stack:grafana": `{"datasourceUid":"my loki"}`}, []string{"grafana.datasourceUid"}},
		{"unknown alloy log source", "dev", map[string]string{"obs-stack:alloy": `{"podLogSource":"journal"}`}, []string{"alloy.podLogSource"}},
		{"misspelt key", "dev", map[string]string{"obs-stack:loki": `{"replicationFactr":1}`}, []string{"loki.replicationFactr"}},
		{"misspelt section", "dev", map[string]string{"obs-stack:lokki": `{"mode":"Distributed"}`}, []string{"lokki"}},
		{"wrong type", "prod", map[string]string{"obs-stack:loki": `{"ingester":{"replicas":"three"}}`}, []string{"loki.ingester.replicas"}},
		{"unknown preset", "dev", map[string]string{"obs-stack:preset": "staging"}, []string{"preset"}},
	}
	if len(cases) < 25 {
		t.Fatalf("the catalogue needs at least 25 cases, has %d", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadAndValidate(c.stack, c.config)
			if err == nil {
				t.Fatal("accepted a bad config")
			}
			for _, key := range c.keys {
				if !strings.Contains(err.Error(), "obs-stack:"+key) {
					t.Errorf("error does not name obs-stack:%s:\n%v", key, err)
				}
			}
			var p *Problem
			if errors.As(err, &p) && (p.Reason == "" || p.Fix == "") {
				t.Errorf("problem without a reason or fix: %+v", p)
			}
		})
	}
}

func TestAllProblemsAreReportedAtOnce(t *testing.T) {
	_, err := loadAndValidate("dev", map[string]string{
		"obs-stack:loki":    `{"replicationFactor":3,"tenant":"x"}`,
		"obs-stack:cluster": `{"nodes":0}`,
	})
	for _, key := range []string{"loki.replicationFactor", "loki.tenant", "cluster.nodes"} {
		if err == nil || !strings.Contains(err.Error(), "obs-stack:"+key+" = ") {
			t.Errorf("missing %s in %v", key, err)
		}
	}
}
