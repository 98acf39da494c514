package stacks

import (
	"obs-stack/stacks/check"
	"obs-stack/stacks/objstore"

	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

var schemaNames = map[string]int{"v9": 9, "v10": 10, "v11": 11, "v12": 12, "v13": 13}

// Settings are the stores' sections, as objstore parses them.
func (s LokiStorage) Settings() objstore.Settings {
	return objstore.Settings{S3: s.S3, GCS: s.GCS, Azure: s.Azure}
}

// ObjectStores are the kinds of object store in use: loki.storage.type and every period's,
// sorted, without repeats.
func (l Loki) ObjectStores() []objstore.Kind {
	stores := []objstore.Kind{l.Storage.Type}
	for _, p := range l.Schemas {
		stores = append(stores, p.ObjectStore)
	}
	slices.Sort(stores)
	return slices.Compact(stores)
}

func (s Spec) checkLokiStorage(c *checker) {
	l := s.Loki
	st := l.Storage
	if !objstore.Known(st.Type) {
		c.fail("loki.storage.type", st.Type, "unknown storage type", "set it to one of %v (filesystem: SingleBinary with one replica)", objstore.Kinds)
	}
	stores := slices.DeleteFunc(l.ObjectStores(), func(k objstore.Kind) bool { return !objstore.Known(k) })
	if slices.Contains(stores, objstore.Filesystem) {
		// Blame the key that brings the filesystem in: the storage type, or an older period.
		key, value := "loki.storage.type", st.Type
		if st.Type != objstore.Filesystem {
			i := slices.IndexFunc(l.Schemas, func(p SchemaPeriod) bool { return p.ObjectStore == objstore.Filesystem })
			key, value = fmt.Sprintf("loki.schemas[%d].objectStore", i), objstore.Filesystem
		}
		switch {
		case l.Mode == Distributed || l.Mode == SimpleScalable:
			c.fail(key, value, fmt.Sprintf("%s mode spreads data over several pods, which cannot share one filesystem", l.Mode),
				"set obs-stack:loki.storage.type to an object store (s3, gcs or azure, with its loki.storage.* section), or obs-stack:loki.mode to SingleBinary")
		case l.Mode == SingleBinary && l.SingleBinary.Replicas > 1:
			c.fail("loki.singleBinary.replicas", l.SingleBinary.Replicas, "filesystem storage works with exactly one replica (each pod would see only its own PVC)",
				"set obs-stack:loki.singleBinary.replicas to 1, or obs-stack:loki.storage.type to an object store for HA monolithic")
		}
	}
	env := objstore.Env{Domain: s.Cluster.Domain, Namespace: s.Cluster.Namespace, NetworkPolicies: s.Cluster.NetworkPolicies}
	c.valid.Storage = objstore.Parse(c, st.Settings(), st.Type, stores, env)
	if major, ok := imageMajor(c.valid.Versions[l.Image]); ok && major > lokiStorageMajor {
		c.warn("loki.image", l.Image, fmt.Sprintf("obs-stack renders Loki %d's storage clients (common.storage, storage_config and ruler.storage); Loki's next major version uses the Thanos object-store clients by default (grafana/loki#22676) and ignores ruler.storage, so rules and chunks would be looked for elsewhere", lokiStorageMajor),
			fmt.Sprintf("stay on Loki %d.x until obs-stack renders storage_config.object_store and ruler_storage", lokiStorageMajor))
	}
}

// lokiStorageMajor is the Loki major version whose storage clients obs-stack renders.
const lokiStorageMajor = 3

// imageMajor reads the major version of an image tag like 3.7.8 or v4.0.0-rc.1.
func imageMajor(tag string) (int, bool) {
	major, _, _ := strings.Cut(strings.TrimPrefix(tag, "v"), ".")
	n, err := strconv.Atoi(major)
	return n, err == nil
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
		if !objstore.Known(p.ObjectStore) {
			c.fail(key+".objectStore", p.ObjectStore, "unknown object store", "set it to one of %v (the store this period's data is in)", objstore.Kinds)
		}
		if _, ok := schemaNames[p.Schema]; !ok {
			c.fail(key+".schema", p.Schema, "unknown schema version (Loki 3 knows v9 to v13)", "set it to v13")
		}
		check.Required(c, key+".indexPrefix", p.IndexPrefix, "index_")
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
	if last.ObjectStore != l.Storage.Type && objstore.Known(last.ObjectStore) && objstore.Known(l.Storage.Type) {
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
