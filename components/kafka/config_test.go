package kafka

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"obs-stack/internal/golden"
)

// testClusterID stands in for the generated id in golden files (22 characters, like Kafka's).
const testClusterID = "TESTCLUSTERIDxxxxxxxxx"

// envMap is the broker env by name.
func envMap(env []EnvVar) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return m
}

// brokerFile is what a golden file holds: the broker env, its start script and the topic commands.
type brokerFile struct {
	Env         []EnvVar `json:"env"`
	StartScript string   `json:"startScript"`
	TopicScript string   `json:"topicScript"`
}

func TestBrokerGolden(t *testing.T) {
	for _, preset := range []string{"dev", "prod"} {
		t.Run(preset, func(t *testing.T) {
			a := testArgs(t, preset, nil)
			bootstrap := strings.Join(Brokers(a.Stack, a.Workload.Replicas), ",")
			got, err := yaml.Marshal(brokerFile{
				Env:         BrokerEnv(a, testClusterID),
				StartScript: StartScript(a),
				TopicScript: TopicScript(a.Topics, bootstrap),
			})
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "broker-"+preset+".yaml", string(got))
		})
	}
}

// TestBrokerEnvFacts checks what the golden files must say, independently of their bytes.
func TestBrokerEnvFacts(t *testing.T) {
	dev := envMap(BrokerEnv(testArgs(t, "dev", nil), testClusterID))
	for name, want := range map[string]string{
		"CLUSTER_ID":                             testClusterID,
		"KAFKA_PROCESS_ROLES":                    "broker,controller",
		"KAFKA_CONTROLLER_QUORUM_VOTERS":         "0@kafka-0.kafka-headless.observability-dev.svc.cluster.local:9093",
		"KAFKA_LISTENERS":                        "PLAINTEXT://:9092,CONTROLLER://:9093",
		"KAFKA_CONTROLLER_LISTENER_NAMES":        "CONTROLLER",
		"KAFKA_INTER_BROKER_LISTENER_NAME":       "PLAINTEXT",
		"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
		"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":    "1",
		"KAFKA_MIN_INSYNC_REPLICAS":              "1",
		"KAFKA_AUTO_CREATE_TOPICS_ENABLE":        "false",
		"KAFKA_HEAP_OPTS":                        "-Xmx512m -Xms512m", // half of the 1Gi limit
	} {
		if dev[name] != want {
			t.Errorf("dev %s = %q, want %q", name, dev[name], want)
		}
	}

	prod := envMap(BrokerEnv(testArgs(t, "prod", nil), testClusterID))
	for name, want := range map[string]string{
		"KAFKA_CONTROLLER_QUORUM_VOTERS": "0@kafka-0.kafka-headless.observability.svc.cluster.local:9093," +
			"1@kafka-1.kafka-headless.observability.svc.cluster.local:9093," +
			"2@kafka-2.kafka-headless.observability.svc.cluster.local:9093",
		"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         "3",
		"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "3",
		"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            "2",
		"KAFKA_MIN_INSYNC_REPLICAS":                      "2",
		"KAFKA_HEAP_OPTS":                                "-Xmx2048m -Xms2048m", // half of the 4Gi limit
	} {
		if prod[name] != want {
			t.Errorf("prod %s = %q, want %q", name, prod[name], want)
		}
	}

	// A topic with one replica: acks=all writes to it must not need two in-sync replicas.
	oneReplica := envMap(BrokerEnv(testArgs(t, "prod", map[string]string{
		"obs-stack:kafka": `{"topics":[{"name":"logs","partitions":6,"replicationFactor":3},{"name":"scratch","partitions":1,"replicationFactor":1}]}`,
	}), testClusterID))
	if got := oneReplica["KAFKA_MIN_INSYNC_REPLICAS"]; got != "1" {
		t.Errorf("min.insync.replicas with a 1-replica topic = %s, want 1", got)
	}

	custom := envMap(BrokerEnv(testArgs(t, "dev", map[string]string{"obs-stack:kafka": `{"resources":{"limits":{"memory":"3000Mi"}}}`}), testClusterID))
	if got := custom["KAFKA_HEAP_OPTS"]; got != "-Xmx1500m -Xms1500m" {
		t.Errorf("heap for a 3000Mi limit = %q", got)
	}
	noLimit := envMap(BrokerEnv(testArgs(t, "dev", map[string]string{"obs-stack:kafka": `{"resources":{"limits":{"memory":""}}}`}), testClusterID))
	if got, ok := noLimit["KAFKA_HEAP_OPTS"]; ok {
		t.Errorf("without a memory limit the image's default heap applies, got %q", got)
	}
}

// TestEnvNamesAreKafkaProperties applies the image's env-to-property rule (KafkaDockerWrapper:
// drop KAFKA_, lower-case, "___" -> "-", "__" -> "_", "_" -> ".") and checks that every name
// is a broker property of Kafka 4.1, so a misspelt variable cannot be silently ignored.
func TestEnvNamesAreKafkaProperties(t *testing.T) {
	// Broker properties of Kafka 4.1 as its configuration reference ("Broker Configs") names
	// them, for the areas this component configures: written from the reference, not from
	// BrokerEnv, so a name the code gets wrong is not copied here too.
	known := map[string]bool{}
	for _, p := range []string{
		// KRaft (KRaftConfigs, QuorumConfig)
		"node.id", "process.roles", "controller.quorum.voters", "controller.quorum.bootstrap.servers",
		"controller.listener.names", "metadata.log.dir",
		// listeners (SocketServerConfigs, ReplicationConfigs)
		"listeners", "advertised.listeners", "listener.security.protocol.map", "inter.broker.listener.name",
		"num.network.threads", "num.io.threads",
		// logs and topics (ServerLogConfigs, ReplicationConfigs)
		"log.dirs", "log.dir", "log.retention.hours", "log.retention.bytes", "log.segment.bytes",
		"num.partitions", "default.replication.factor", "min.insync.replicas", "auto.create.topics.enable",
		"delete.topic.enable", "unclean.leader.election.enable", "message.max.bytes",
		// internal topics (GroupCoordinatorConfig, TransactionLogConfig, ShareCoordinatorConfig)
		"offsets.topic.replication.factor", "offsets.topic.num.partitions", "group.initial.rebalance.delay.ms",
		"transaction.state.log.replication.factor", "transaction.state.log.min.isr", "transaction.state.log.num.partitions",
		"share.coordinator.state.topic.replication.factor", "share.coordinator.state.topic.min.isr",
		"share.coordinator.state.topic.num.partitions",
	} {
		known[p] = true
	}
	notProperties := map[string]bool{"CLUSTER_ID": true, "LOG_DIR": true, "KAFKA_HEAP_OPTS": true}
	property := func(env string) string {
		p := strings.ToLower(strings.TrimPrefix(env, "KAFKA_"))
		p = strings.ReplaceAll(p, "_", ".")
		p = strings.ReplaceAll(p, "...", "-")
		return strings.ReplaceAll(p, "..", "_")
	}
	names := []string{"KAFKA_NODE_ID", "KAFKA_ADVERTISED_LISTENERS"}
	for _, e := range BrokerEnv(testArgs(t, "prod", nil), testClusterID) {
		names = append(names, e.Name)
	}
	for _, name := range names {
		if notProperties[name] {
			continue
		}
		if !strings.HasPrefix(name, "KAFKA_") {
			t.Errorf("%s is neither a KAFKA_ property nor a known image variable", name)
		} else if !known[property(name)] {
			t.Errorf("%s maps to %q, which is not a Kafka broker property", name, property(name))
		}
	}
}

// TestStartScriptDerivesTheNodeIDFromThePodName runs the wrapper under sh with the image's
// entrypoint replaced by env.
func TestStartScriptDerivesTheNodeIDFromThePodName(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	script := strings.Replace(StartScript(testArgs(t, "prod", nil)), "exec "+entrypoint, "exec env", 1)
	cmd := exec.Command(sh, "-c", script)
	cmd.Env = []string{"HOSTNAME=kafka-12", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"KAFKA_NODE_ID=12\n",
		"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://kafka-12.kafka-headless.observability.svc.cluster.local:9092\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("environment lacks %q:\n%s", want, out)
		}
	}
}
