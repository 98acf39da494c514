package stacks

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	kafkaID      = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
	kafkaTopicRe = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
)

func (s Spec) checkKafka(c *checker) {
	k := s.Kafka
	if !k.Enabled {
		return
	}
	image(c, "kafka.image", k.Image, defaults.Kafka.Image)
	if k.ClusterID != "" && !kafkaID.MatchString(k.ClusterID) {
		c.fail("kafka.clusterId", k.ClusterID, "a KRaft cluster id is 16 bytes in URL-safe base64: 22 letters, digits, - or _",
			"leave it empty to generate one, or copy the id from meta.properties of the existing brokers")
	}
	checkWorkload(c, KafkaKey, k.Workload, true, false, s.Cluster, minKafkaMemory)
	brokers := k.Replicas
	for _, f := range []struct {
		key string
		rf  int
	}{{"kafka.offsetsReplicationFactor", k.OffsetsReplicationFactor}, {"kafka.transactionReplicationFactor", k.TransactionReplicationFactor}} {
		if f.rf < 1 || f.rf > brokers {
			c.fail(f.key, f.rf, fmt.Sprintf("an internal topic's replication factor must be between 1 and the broker count (%d)", brokers), "set it to %d", min(max(brokers, 1), 3))
		}
	}
	// Kafka's own rules (apache/kafka clients/src/main/java/org/apache/kafka/common/internals/
	// Topic.java: validate, hasCollision): names that differ only by '.' against '_' collide in
	// metric names, so Kafka refuses the second; "__" starts the names of Kafka's own topics.
	seen := map[string]string{} // the name with '.' as '_' -> the name listed first
	for i, t := range k.Topics {
		key := fmt.Sprintf("kafka.topics[%d]", i)
		switch {
		case !kafkaTopicRe.MatchString(t.Name) || t.Name == "." || t.Name == "..":
			c.fail(key+".name", t.Name, "Kafka topic names are 1-249 letters, digits, '.', '_' or '-' (not . or ..)", "rename the topic, e.g. logs")
		case strings.HasPrefix(t.Name, "__"):
			c.fail(key+".name", t.Name, "Kafka keeps names starting with __ for its internal topics (__consumer_offsets, __transaction_state, __cluster_metadata, ...), which its tools treat as internal", "rename the topic without the leading underscores, e.g. logs")
		}
		unified := strings.ReplaceAll(t.Name, ".", "_")
		if first, ok := seen[unified]; ok && first == t.Name {
			c.fail(key+".name", t.Name, "the topic is listed twice", "remove one entry")
		} else if ok {
			c.fail(key+".name", t.Name, fmt.Sprintf("collides with topic %s: Kafka refuses topic names that differ only by '.' against '_'", first), "rename one of them, e.g. with a '-'")
		} else {
			seen[unified] = t.Name
		}
		if t.Partitions < 1 || t.Partitions > MaxPartitions {
			c.fail(key+".partitions", t.Partitions, fmt.Sprintf("a topic has 1 to %d partitions", MaxPartitions), "set it to e.g. 6")
		}
		if t.ReplicationFactor < 1 || t.ReplicationFactor > brokers {
			c.fail(key+".replicationFactor", t.ReplicationFactor, fmt.Sprintf("must be between 1 and the broker count (%d)", brokers), "set it to at most %d, or raise obs-stack:kafka.replicas", max(brokers, 1))
		}
	}
}
