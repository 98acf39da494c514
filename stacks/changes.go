package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"obs-stack/stacks/objstore"
	"slices"
	"strings"
	"time"
)

// Facts are what a deployed stack's data depends on. The program records them as the stack
// output dataFacts and compares the next preview's spec with them, so that a change that
// would lose stored logs or Kafka data is refused before it happens.
type Facts struct {
	LokiMode    string        `json:"lokiMode"`
	LokiStorage objstore.Kind `json:"lokiStorage"`
	// Volumes maps the config key of each StatefulSet (loki.ingester, kafka) to its volume
	// template ("10Gi on <class>").
	Volumes map[string]string `json:"volumes"`
	// SchemaFroms are the start dates of the schema periods, as updates recorded them before
	// Schemas existed; read only, never written again.
	SchemaFroms []string `json:"schemaFroms,omitempty"`
	// Schemas are the schema periods as deployed.
	Schemas []SchemaPeriod `json:"schemas,omitempty"`
	// LokiDataReplicas are the replicas of the target that holds unflushed logs (ingester,
	// write or single-binary) by its config key; 0: not recorded yet.
	LokiDataReplicas map[string]int `json:"lokiDataReplicas,omitempty"`
	// LokiReplicationFactor is loki.replicationFactor (0: not recorded yet).
	LokiReplicationFactor int `json:"lokiReplicationFactor,omitempty"`
	// KafkaClusterID is the adopted cluster id ("" while generated).
	KafkaClusterID string `json:"kafkaClusterId"`
	// KafkaBrokers is the broker count; 0 when Kafka is off (or not recorded yet).
	KafkaBrokers int `json:"kafkaBrokers,omitempty"`
	// KafkaTopics are the topics' partitions and replication factors by name; KafkaOffsetsRF
	// and KafkaTransactionRF those of the internal topics (0: not recorded yet).
	KafkaTopics        map[string]KafkaTopicFacts `json:"kafkaTopics,omitempty"`
	KafkaOffsetsRF     int                        `json:"kafkaOffsetsRf,omitempty"`
	KafkaTransactionRF int                        `json:"kafkaTransactionRf,omitempty"`
	// Namespace holds every PVC of the stack; OwnsNamespace says whether the stack created it.
	Namespace     string `json:"namespace,omitempty"`
	OwnsNamespace bool   `json:"ownsNamespace,omitempty"`
	// Stores identify each object store in use and its places (buckets, containers) by
	// kind; S3 is the s3 store as updates recorded it before Stores existed (read only).
	Stores map[objstore.Kind]objstore.Record `json:"stores,omitempty"`
	S3     *S3Facts                          `json:"s3,omitempty"`
	// Zones are the zones of the zone-aware data target, each with its StatefulSet's storage
	// class ("the default class" for the cluster's); nil without zones (and before zones were
	// recorded, when no stack had them).
	Zones map[string]string `json:"zones,omitempty"`
}

// KafkaTopicFacts is what Kafka cannot change of a deployed topic in place.
type KafkaTopicFacts struct {
	Partitions        int `json:"partitions"`
	ReplicationFactor int `json:"replicationFactor"`
}

// S3Facts are the identity of the s3 store and its buckets, as recorded before Stores.
type S3Facts struct {
	// Store is S3Endpoint.Store: the same store however its endpoint is spelled.
	Store  string `json:"store"`
	Chunks string `json:"chunks"`
	Ruler  string `json:"ruler"`
}

// Facts of the spec as it would be deployed.
func (v Valid) Facts() Facts {
	s := v.Spec
	f := Facts{LokiMode: s.Loki.Mode, LokiStorage: s.Loki.Storage.Type, Volumes: map[string]string{}, KafkaClusterID: s.Kafka.ClusterID,
		Schemas: slices.Clone(s.Loki.Schemas), Namespace: s.Cluster.Namespace, OwnsNamespace: s.Cluster.CreateNamespace}
	for _, st := range v.Storage.All {
		if r := st.Record(); len(r.Places) > 0 {
			if f.Stores == nil {
				f.Stores = map[objstore.Kind]objstore.Record{}
			}
			f.Stores[st.Kind()] = r
		}
	}
	f.LokiReplicationFactor = s.Loki.ReplicationFactor
	named := func(class string) string {
		if class == "" {
			return "the default class"
		}
		return class
	}
	for _, t := range s.Loki.Targets() {
		if t.HoldsData {
			f.LokiDataReplicas = map[string]int{"loki." + t.Key: t.Workload.Replicas}
		}
		if s.Cluster.Zones.ZoneAware(t) {
			f.Zones = map[string]string{}
			for _, set := range s.Cluster.Zones.Sets(t, s.Cluster.StorageClass) {
				f.Zones[set.Zone] = named(set.StorageClass)
			}
		}
	}
	class := named(s.Cluster.StorageClass)
	for _, g := range s.Sizing() {
		if g.Storage != "" {
			f.Volumes[g.Key] = g.Storage + " on " + class
		}
	}
	if k := s.Kafka; k.Enabled {
		f.KafkaBrokers, f.KafkaOffsetsRF, f.KafkaTransactionRF = k.Replicas, k.OffsetsReplicationFactor, k.TransactionReplicationFactor
		f.KafkaTopics = map[string]KafkaTopicFacts{}
		for _, t := range k.Topics {
			f.KafkaTopics[t.Name] = KafkaTopicFacts{Partitions: t.Partitions, ReplicationFactor: t.ReplicationFactor}
		}
	}
	return f
}

// Output is f as the stack output dataFacts records it (FactsFromOutput reads it back).
func (f Facts) Output() (map[string]any, error) {
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("recording dataFacts: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("recording dataFacts: %w", err)
	}
	return out, nil
}

// FactsFromOutput decodes the dataFacts output of a previous update (nil: none yet).
func FactsFromOutput(v any) (*Facts, error) {
	if v == nil {
		return nil, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var f Facts
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("reading the previous update's dataFacts output: %w", err)
	}
	if f.S3 != nil && f.Stores == nil {
		f.Stores = map[objstore.Kind]objstore.Record{objstore.S3: {Store: f.S3.Store,
			Places: map[string]string{"loki.storage.s3.buckets.chunks": f.S3.Chunks, "loki.storage.s3.buckets.ruler": f.S3.Ruler}}}
	}
	return &f, nil
}

const ack = "set obs-stack:allowDataLoss true for one update only if losing it is intended"

// CheckChanges refuses changes against the previous deployment that would lose data, unless
// obs-stack:allowDataLoss is true, and changes the deployed stack cannot apply in place (Kafka's
// topics and quorum); new schema periods must start in the future (UTC) either way.
// v may have failed validation (preflight reports both at once): what it could not parse is
// left to validation's message.
func (v Valid) CheckChanges(prev *Facts, now time.Time) error {
	if prev == nil {
		return nil // first deployment: nothing to lose
	}
	s := v.Spec
	c := &checker{now: now.UTC()}
	next := v.Facts()
	if !s.AllowDataLoss {
		s.checkNamespaceKept(c, prev)
		s.checkLokiDataKept(c, prev)
		s.checkStoreKept(c, prev, next)
		s.checkUnflushedKept(c, prev, next)
		s.checkZonesKept(c, prev, next)
		s.checkKafkaDataKept(c, *prev, next)
		classChanged := false
		for _, key := range slices.Sorted(maps.Keys(next.Volumes)) {
			before, ok := prev.Volumes[key]
			if !ok || before == next.Volumes[key] {
				continue
			}
			why := fmt.Sprintf("the deployed volume template of %s is %s; volume templates are immutable, so the StatefulSet would be replaced and its PVCs would no longer match it", key, before)
			sizeBefore, classBefore, _ := strings.Cut(before, " on ")
			size, class, _ := strings.Cut(next.Volumes[key], " on ")
			if classBefore != class && !classChanged {
				classChanged = true
				c.fail("cluster.storageClass", s.Cluster.StorageClass, why, "keep the deployed class (%s), or %s", classBefore, ack)
			}
			if sizeBefore != size {
				c.fail(key+".storage", size, why, "keep the deployed size (expand PVCs in place with kubectl if the class allows it), or %s", ack)
			}
		}
	}
	s.checkSchemaHistory(c, prev)
	s.checkKafkaInPlace(c, *prev)
	return errors.Join(c.errs...)
}

func (s Spec) checkNamespaceKept(c *checker, prev *Facts) {
	if prev.Namespace == "" || !prev.OwnsNamespace {
		return // recorded before namespaces were, or the stack never owned it
	}
	switch {
	case s.Cluster.Namespace != prev.Namespace:
		c.fail("cluster.namespace", s.Cluster.Namespace,
			fmt.Sprintf("the stack owns the namespace %s; moving it deletes that Namespace, and with it every PVC of Loki and Kafka in it", prev.Namespace),
			"keep obs-stack:cluster.namespace %s; to move, deploy a second stack in the new namespace and let this one's data age out, or %s", prev.Namespace, ack)
	case !s.Cluster.CreateNamespace:
		c.fail("cluster.createNamespace", false,
			fmt.Sprintf("the stack created the namespace %s; no longer owning it deletes that Namespace, and with it every PVC in it", prev.Namespace),
			"keep obs-stack:cluster.createNamespace true (or %s)", ack)
	}
}

// checkLokiDataKept: the stored logs stay readable where they are.
func (s Spec) checkLokiDataKept(c *checker, prev *Facts) {
	onFilesystem := prev.LokiStorage == objstore.Filesystem || slices.ContainsFunc(prev.Schemas, func(p SchemaPeriod) bool { return p.ObjectStore == objstore.Filesystem })
	if prev.LokiMode != s.Loki.Mode && onFilesystem {
		c.fail("loki.mode", s.Loki.Mode,
			fmt.Sprintf("the deployed Loki (%s) keeps its logs on a filesystem PVC, which does not follow the pods into %s: every log stored there would be lost",
				prev.LokiMode, s.Loki.Mode),
			"move to object storage first (in %s mode, append a schema period on s3 with a future from date and set obs-stack:loki.storage.type s3), and switch modes once retention has aged out what the filesystem periods hold; or %s", prev.LokiMode, ack)
	}
	if prev.LokiStorage == s.Loki.Storage.Type {
		return
	}
	// The type may change when a period that has not started brings the new store, or when the
	// newest started period already uses it (a move withdrawn before it began). A record made
	// before full periods were can only tell that from the period count.
	brought := len(s.Loki.Schemas) > len(prev.deployedSchemas())
	if len(prev.Schemas) > 0 {
		newestStarted, future := objstore.Kind(""), false // periods are in date order (validated)
		for _, p := range s.Loki.Schemas {
			if c.started(p) {
				newestStarted = p.ObjectStore
			} else if p.ObjectStore == s.Loki.Storage.Type {
				future = true
			}
		}
		brought = future || newestStarted == s.Loki.Storage.Type
	}
	if !brought {
		c.fail("loki.storage.type", s.Loki.Storage.Type,
			fmt.Sprintf("the deployed logs are in %s, and without a new schema period Loki would look for them in %s", prev.LokiStorage, s.Loki.Storage.Type),
			"keep %s for the deployed periods: append a period on %s with a future from date, set its objectStore, and keep the older periods as they are; or %s", prev.LokiStorage, s.Loki.Storage.Type, ack)
	}
}

// checkUnflushedKept: an ingester that a scale-down removes stops without flushing (its WAL
// stays on a PVC no pod reads), so at replication factor 1, where no other replica holds its
// streams, fewer data-holding replicas lose the logs those pods had not flushed yet.
func (s Spec) checkUnflushedKept(c *checker, prev *Facts, next Facts) {
	for key, was := range prev.LokiDataReplicas {
		now, ok := next.LokiDataReplicas[key]
		if !ok || now >= was || prev.LokiReplicationFactor != 1 || s.Loki.ReplicationFactor != 1 {
			continue
		}
		first := strings.TrimPrefix(key, "loki.")
		c.fail(key+".replicas", now,
			fmt.Sprintf("at replication factor 1 each stream is in one pod only, and the %d pod(s) the scale-down removes stop without flushing (the WAL keeps Loki from flushing on shutdown), so their recent logs are lost", was-now),
			"first flush each pod going away, from the highest ordinal down: kubectl -n %s port-forward pod/%s-%d 3100 and curl -X POST 'localhost:3100/ingester/shutdown?flush=true'; then set allowDataLoss for this update; or keep %d replicas",
			s.Cluster.Namespace, LokiObjectName(Topologies[s.Loki.Mode].nameOf(first)), was-1, was)
	}
}

// checkZonesKept: the zone-aware data target's StatefulSets are named by zone and carry each
// zone's storage class in their immutable volume template, so other zones (or zones turned on
// or off) create StatefulSets on empty PVCs and delete the old ones, whose PVCs (with the WAL of
// logs not flushed yet, and on filesystem storage every log) no pod reads again.
func (s Spec) checkZonesKept(c *checker, prev *Facts, next Facts) {
	if maps.Equal(prev.Zones, next.Zones) {
		return
	}
	deployed := "no zones"
	if len(prev.Zones) > 0 {
		deployed = "zones " + strings.Join(slices.Sorted(maps.Keys(prev.Zones)), ", ")
	}
	if slices.Equal(slices.Sorted(maps.Keys(prev.Zones)), slices.Sorted(maps.Keys(next.Zones))) {
		for _, zone := range slices.Sorted(maps.Keys(next.Zones)) {
			if was, now := prev.Zones[zone], next.Zones[zone]; was != now {
				c.fail("cluster.zones.storageClasses."+zone, s.Cluster.Zones.StorageClasses[zone],
					fmt.Sprintf("the StatefulSet of zone %s keeps its PVCs on %s; volume templates are immutable, so it would be replaced and its PVCs would no longer match it", zone, was),
					"keep the deployed class (%s), or %s", was, ack)
			}
		}
		return
	}
	c.fail("cluster.zones.names", s.Cluster.Zones.Names,
		fmt.Sprintf("the deployed stack's data target runs with %s; its StatefulSets are one per zone (loki-<target>-<zone>) or one without zones, so this change creates StatefulSets on empty PVCs and deletes the deployed ones, whose PVCs (the WAL of logs not flushed yet, and on filesystem storage every log) no pod reads again", deployed),
		"keep the deployed zones; to change them, deploy a second stack with the new zones in another namespace, move the writers to it and let this one's logs age out, or flush every %s pod (curl -X POST localhost:3100/flush) and %s", LokiObjectName(Topologies[s.Loki.Mode].dataTargetName()), ack)
}

// checkStoreKept: each object store that started periods keep their data in, and the places
// in it (chunks and rules), stay where they are. Periods that have not started hold nothing,
// so a store may still change (or the move to it be withdrawn) until the first of them starts.
func (s Spec) checkStoreKept(c *checker, prev *Facts, next Facts) {
	for _, kind := range slices.Sorted(maps.Keys(prev.Stores)) {
		was, now := prev.Stores[kind], next.Stores[kind]
		if now.Places == nil {
			continue // not in use now (a store switch is a period change)
		}
		holdsData := slices.ContainsFunc(prev.Schemas, func(p SchemaPeriod) bool { return p.ObjectStore == kind && c.started(p) })
		if !holdsData && len(prev.Schemas) > 0 {
			continue
		}
		why := "the started schema periods keep their logs in %s; without a new period Loki would look for them in %s and find none"
		how := "keep the deployed store for the deployed periods; to move, copy the objects to the new store first (e.g. rclone sync), or %s"
		if was.Store != now.Store {
			c.fail(now.StoreKey, now.Store, fmt.Sprintf(why, "the store at "+was.Store, "the store at "+now.Store), how, ack)
		}
		for _, key := range slices.Sorted(maps.Keys(now.Places)) {
			before, after := was.Places[key], now.Places[key]
			switch {
			case before == after:
			case strings.HasSuffix(key, ".ruler"):
				c.fail(key, after, fmt.Sprintf("the ruler keeps the rules written through its API in %s; the ruler would start from an empty %s", before, after),
					"keep the deployed one, or copy the rules over first, or %s", ack)
			default:
				c.fail(key, after, fmt.Sprintf(why, before, after), how, ack)
			}
		}
	}
}

// deployedSchemas are the recorded periods; a record made before full periods were holds
// their dates only.
func (f Facts) deployedSchemas() []SchemaPeriod {
	if len(f.Schemas) > 0 {
		return f.Schemas
	}
	var dated []SchemaPeriod
	for _, from := range f.SchemaFroms {
		dated = append(dated, SchemaPeriod{From: from})
	}
	return dated
}

// checkSchemaHistory: a period that has started holds data and is immutable; new periods are
// appended after the deployed ones and start in the future. A period that has not started yet
// holds nothing and may still be changed or dropped.
func (s Spec) checkSchemaHistory(c *checker, prev *Facts) {
	deployed := prev.deployedSchemas()
	today := c.now.Truncate(24 * time.Hour)
	started := c.started
	// Updates recorded before full periods were can only be compared by date.
	same := func(a, b SchemaPeriod) bool { return a == b || len(prev.Schemas) == 0 && a.From == b.From }
	next := s.Loki.Schemas
	if !s.AllowDataLoss {
		for i, p := range deployed {
			if !started(p) {
				break // this and later periods hold no data yet
			}
			key := fmt.Sprintf("loki.schemas[%d]", i)
			switch {
			case i >= len(next):
				c.fail(key, nil, fmt.Sprintf("the deployed period from %s holds the logs written since then; without it Loki cannot read them", p.From),
					"keep the period (deployed periods are immutable; retention deletes their data in time), or %s", ack)
			case !same(next[i], p):
				c.fail(key, next[i], fmt.Sprintf("the deployed period is %s and holds the logs written since %s; a changed period makes Loki read them with the wrong schema or store", show(p), p.From),
					"restore the deployed period and make the change as a new period appended with a future from date (deployed periods are immutable), or %s", ack)
			}
		}
	}
	for i, p := range next {
		if i < len(deployed) && (same(p, deployed[i]) || started(deployed[i])) {
			continue // unchanged, or an edit of a started period: refused above unless acknowledged
		}
		if d, err := time.Parse(time.DateOnly, p.From); err == nil && !d.After(today) {
			c.fail(fmt.Sprintf("loki.schemas[%d].from", i), p.From,
				"a schema period added to a running store must start in the future, or data already written under the old schema becomes unreadable",
				"set it to %s or later", today.AddDate(0, 0, 1).Format(time.DateOnly))
		}
	}
}

// started: the period has begun (UTC), so it may hold data; an unreadable date counts as begun.
func (c *checker) started(p SchemaPeriod) bool {
	d, err := time.Parse(time.DateOnly, p.From)
	return err != nil || !d.After(c.now.Truncate(24*time.Hour))
}

func (s Spec) checkKafkaDataKept(c *checker, prev, next Facts) {
	_, hadKafka := prev.Volumes[KafkaKey]
	if hadKafka && !s.Kafka.Enabled {
		c.fail("kafka.enabled", false, "the deployed Kafka holds the topics' data; disabling it deletes the brokers, and their PVCs stop being used",
			"keep obs-stack:kafka.enabled true until producers have moved and the topics are drained, or %s", ack)
	}
	if s.Kafka.Enabled && hadKafka && prev.KafkaClusterID != next.KafkaClusterID {
		was := prev.KafkaClusterID
		if was == "" {
			was = "the generated one"
		}
		c.fail("kafka.clusterId", next.KafkaClusterID,
			fmt.Sprintf("the brokers' storage is formatted with cluster id %s; a different id makes them refuse it, orphaning every topic's data", was),
			"keep the deployed id (remove the key if it was generated), or %s", ack)
	}
}

// reassign is the supported way to change a deployed topic's replicas, for the fixes below.
const reassign = "move the replicas with kafka-reassign-partitions.sh (--generate, then --execute and --verify), then set the key to the new factor with obs-stack:allowDataLoss true for that one update, which records it"

// checkKafkaInPlace refuses the changes Kafka cannot apply to a running cluster, which the
// program would otherwise apply as nothing (the topic Job creates; it cannot shrink) or as a
// broken quorum. allowDataLoss lets a change through only where the fix does the work by hand
// first (a reassignment); the controller set cannot change under a static voter list at all.
func (s Spec) checkKafkaInPlace(c *checker, prev Facts) {
	k := s.Kafka
	if !k.Enabled || prev.KafkaBrokers == 0 {
		return // nothing deployed, or Kafka goes away (checkKafkaDataKept)
	}
	if k.Replicas != prev.KafkaBrokers {
		c.fail("kafka.replicas", k.Replicas,
			fmt.Sprintf("the %d deployed brokers are also the KRaft controllers, under a static voter list (controller.quorum.voters) of %d; Kafka cannot change a static voter set in place, so brokers added or removed would split or stall the quorum", prev.KafkaBrokers, prev.KafkaBrokers),
			"keep obs-stack:kafka.replicas %d; to resize, drain the topics, turn Kafka off for one update (obs-stack:kafka.enabled false, obs-stack:alloy.consumeKafka false, obs-stack:allowDataLoss true: its data goes) and on again with the new count", prev.KafkaBrokers)
	}
	for i, t := range k.Topics {
		if was, ok := prev.KafkaTopics[t.Name]; ok && t.Partitions < was.Partitions {
			c.fail(fmt.Sprintf("kafka.topics[%d].partitions", i), t.Partitions, fmt.Sprintf("topic %s has %d partitions; Kafka only adds partitions, never removes them", t.Name, was.Partitions),
				"keep %d or more (the topic Job adds partitions when the count grows); for fewer, create a new topic with the count, move producers and consumers to it, and list it instead", was.Partitions)
		}
	}
	if s.AllowDataLoss {
		return
	}
	for _, f := range []struct {
		key       string
		was, next int
	}{{"kafka.offsetsReplicationFactor", prev.KafkaOffsetsRF, k.OffsetsReplicationFactor}, {"kafka.transactionReplicationFactor", prev.KafkaTransactionRF, k.TransactionReplicationFactor}} {
		if f.was != 0 && f.was != f.next {
			c.fail(f.key, f.next, fmt.Sprintf("the internal topic was created with replication factor %d; the broker setting applies only when the topic is created", f.was), reassign)
		}
	}
	for i, t := range k.Topics {
		was, ok := prev.KafkaTopics[t.Name]
		if !ok {
			continue // a new topic (or one recorded before topics were)
		}
		key := fmt.Sprintf("kafka.topics[%d]", i)
		if t.ReplicationFactor != was.ReplicationFactor {
			c.fail(key+".replicationFactor", t.ReplicationFactor, fmt.Sprintf("topic %s has replication factor %d; creating it again is a no-op and Kafka changes it only by a partition reassignment", t.Name, was.ReplicationFactor), reassign)
		}
	}
}
