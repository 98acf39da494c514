package kafka

import (
	"fmt"
	"strconv"
	"strings"

	"obs-stack/components/kube"
	"obs-stack/stacks"
)

// Ports, names and paths of the brokers. The Kubernetes names are decided here once: the
// objects use them as metadata.name and the env uses them in DNS names, so the two agree.
const (
	ClientPort     = 9092
	ControllerPort = 9093

	statefulSetName = "kafka"          // pods are kafka-0, kafka-1, ...
	headlessName    = "kafka-headless" // per-broker DNS: kafka-<id>.kafka-headless.<ns>.svc.<domain>
	serviceName     = "kafka"          // ClusterIP Service for clients

	clientListener     = "PLAINTEXT"
	controllerListener = "CONTROLLER"

	uid = 1000 // apache/kafka runs as "appuser"

	// Paths inside the apache/kafka image (docker/jvm/Dockerfile and docker/resources/common-scripts).
	entrypoint   = "/etc/kafka/docker/run"          // the image's CMD
	configDir    = "/opt/kafka/config"              // the image writes server.properties here at start
	logDir       = "/opt/kafka/logs"                // kafka-run-class.sh's LOG_DIR: log4j files and the GC log
	dataDir      = "/var/lib/kafka/data"            // PVC mount (the image's data VOLUME)
	logDirs      = dataDir + "/logs"                // a subdirectory: Kafka rejects a PVC root's lost+found
	topicsScript = "/opt/kafka/bin/kafka-topics.sh" // admin tool used by the topic Job
)

// The brokers' ports, as their container declares them and their Services expose them.
var (
	clientPort     = kube.Port{Name: "client", Number: ClientPort}
	controllerPort = kube.Port{Name: "controller", Number: ControllerPort}
)

// EnvVar is one plain environment variable of the broker container.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// BrokerEnv is the broker configuration, as the apache/kafka image reads it: every KAFKA_*
// variable becomes a server property (KAFKA_ dropped, lower-cased, "_" -> "."), except the
// JVM ones such as KAFKA_HEAP_OPTS. KAFKA_NODE_ID and KAFKA_ADVERTISED_LISTENERS differ per
// pod and are set by StartScript. The arguments must come from a validated spec.
func BrokerEnv(k *Args, clusterID string) []EnvVar {
	voters := make([]string, k.Workload.Replicas)
	for id := range voters {
		voters[id] = fmt.Sprintf("%d@%s:%d", id, brokerHost(k.Stack, id), ControllerPort)
	}
	// The smallest replication factor any topic the brokers write with acks=all has: a
	// min.insync.replicas above it would refuse those writes (offset commits included).
	smallestRF := k.OffsetsReplicationFactor
	for _, t := range k.Topics {
		smallestRF = min(smallestRF, t.ReplicationFactor)
	}
	env := []EnvVar{
		{"CLUSTER_ID", clusterID},
		{"KAFKA_PROCESS_ROLES", "broker,controller"},
		{"KAFKA_CONTROLLER_QUORUM_VOTERS", strings.Join(voters, ",")},
		{"KAFKA_LISTENERS", fmt.Sprintf("%s://:%d,%s://:%d", clientListener, ClientPort, controllerListener, ControllerPort)},
		{"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", fmt.Sprintf("%s:PLAINTEXT,%s:PLAINTEXT", clientListener, controllerListener)},
		{"KAFKA_CONTROLLER_LISTENER_NAMES", controllerListener},
		{"KAFKA_INTER_BROKER_LISTENER_NAME", clientListener},
		{"KAFKA_LOG_DIRS", logDirs},
		{"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", strconv.Itoa(k.OffsetsReplicationFactor)},
		{"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", strconv.Itoa(k.TransactionReplicationFactor)},
		{"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", strconv.Itoa(min(2, k.TransactionReplicationFactor))},
		// Kafka 4.1+ share-group state topic: defaults (RF 3, min ISR 2) cannot be met on one broker.
		{"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", strconv.Itoa(k.OffsetsReplicationFactor)},
		{"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", strconv.Itoa(min(2, k.OffsetsReplicationFactor))},
		{"KAFKA_MIN_INSYNC_REPLICAS", strconv.Itoa(min(2, smallestRF))},
		// Topics come from the spec only (the topic Job); a typo in a producer must not create one.
		{"KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false"},
		{"LOG_DIR", logDir},
	}
	if k.MemoryLimitBytes > 0 {
		// Half the container limit: the rest is page cache, metaspace and direct buffers.
		mib := k.MemoryLimitBytes / 2 / (1 << 20)
		env = append(env, EnvVar{"KAFKA_HEAP_OPTS", fmt.Sprintf("-Xmx%dm -Xms%dm", mib, mib)})
	} // without a memory limit the image's default heap (1G) applies
	return env
}

// StartScript wraps the image's entrypoint: the node id and the advertised listener depend
// on the pod's ordinal, which the image does not derive itself.
func StartScript(k *Args) string {
	domain := k.ServiceFQDN(headlessName)
	return strings.Join([]string{
		"set -eu",
		`export KAFKA_NODE_ID="${HOSTNAME##*-}"`,
		fmt.Sprintf(`export KAFKA_ADVERTISED_LISTENERS="%s://${HOSTNAME}.%s:%d"`, clientListener, domain, ClientPort),
		"exec " + entrypoint,
	}, "\n") + "\n"
}

// brokerHost is the stable DNS name of broker id (the pod with that ordinal).
func brokerHost(stack kube.Stack, id int) string {
	return stack.ServiceFQDN(fmt.Sprintf("%s-%d.%s", statefulSetName, id, headlessName))
}

// Brokers is the client address (host:port) of every broker: plain names, known at preview.
func Brokers(stack kube.Stack, replicas int) []string {
	hosts := make([]string, replicas)
	for id := range hosts {
		hosts[id] = fmt.Sprintf("%s:%d", brokerHost(stack, id), ClientPort)
	}
	return hosts
}

// TopicScript creates each topic and grows its partitions to the spec's count: topics are
// created idempotently, and an existing topic with fewer partitions gets more (Kafka only
// adds partitions; preview refuses fewer, and a changed replication factor, which needs a
// reassignment). The count is read from the header line of kafka-topics.sh --describe
// ("Topic: logs<TAB>TopicId: ...<TAB>PartitionCount: 6<TAB>...", apache/kafka
// tools/src/main/java/org/apache/kafka/tools/TopicCommand.java). It runs under sh -e. No
// quoting is needed: validation limits topic names to [a-zA-Z0-9._-] and the rest are DNS
// names and numbers.
func TopicScript(topics []stacks.KafkaTopic, bootstrap string) string {
	lines := []string{
		fmt.Sprintf(`kt() { %s --bootstrap-server %s "$@"; }`, topicsScript, bootstrap),
		`ensure() {`,
		`  kt --create --if-not-exists --topic "$1" --partitions "$2" --replication-factor "$3"`,
		`  now=$(kt --describe --topic "$1" | sed -n 's/.*PartitionCount: *\([0-9][0-9]*\).*/\1/p' | head -n 1)`,
		`  if [ -z "$now" ]; then echo "cannot read the partition count of topic $1" >&2; exit 1; fi`,
		`  if [ "$now" -lt "$2" ]; then kt --alter --topic "$1" --partitions "$2"; fi`,
		`}`,
	}
	for _, t := range topics {
		lines = append(lines, fmt.Sprintf("ensure %s %d %d", t.Name, t.Partitions, t.ReplicationFactor))
	}
	return strings.Join(lines, "\n") + "\n"
}
