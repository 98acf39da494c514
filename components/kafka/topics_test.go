package kafka

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"obs-stack/stacks"
)

// TestTopicScriptGrowsPartitions runs the topic Job's script under sh against a stand-in for
// kafka-topics.sh that records its arguments and describes each topic with the partition
// count the case gives (the header line as Kafka's TopicCommand prints it). It proves the
// script's logic (create, read the count, grow only when fewer), not Kafka: it fails if the
// script altered a topic that has enough partitions (Kafka refuses a non-increase), skipped a
// topic that has fewer, or went on when the count could not be read.
func TestTopicScriptGrowsPartitions(t *testing.T) {
	topics := []stacks.KafkaTopic{{Name: "logs", Partitions: 6, ReplicationFactor: 3}, {Name: "audit.v1", Partitions: 2, ReplicationFactor: 1}}
	cases := []struct {
		name     string
		existing map[string]string // topic -> the PartitionCount the cluster reports ("" prints no header)
		altered  []string          // the --alter calls expected, as "topic partitions"
		fails    bool
	}{
		{"new topics: created with their counts", map[string]string{"logs": "6", "audit.v1": "2"}, nil, false},
		{"one topic grown", map[string]string{"logs": "3", "audit.v1": "2"}, []string{"logs 6"}, false},
		{"both grown, from one partition", map[string]string{"logs": "1", "audit.v1": "1"}, []string{"logs 6", "audit.v1 2"}, false},
		{"more partitions than the spec: left alone", map[string]string{"logs": "12", "audit.v1": "2"}, nil, false},
		{"count unreadable: the Job fails", map[string]string{"logs": "", "audit.v1": "2"}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			calls := filepath.Join(dir, "calls")
			var describe strings.Builder
			for topic, n := range c.existing {
				if n != "" {
					describe.WriteString("  " + topic + ") printf 'Topic: " + topic + "\\tTopicId: AAAAAAAAAAAAAAAAAAAAAA\\tPartitionCount: " + n + "\\tReplicationFactor: 1\\tConfigs: \\n\\tTopic: " + topic + "\\tPartition: 0\\tLeader: 0\\n' ;;\n")
				}
			}
			stub := filepath.Join(dir, "kafka-topics.sh")
			script := "#!/bin/sh\necho \"$*\" >> " + calls + "\ncase \"$*\" in *--describe*) topic=$(echo \"$*\" | sed 's/.*--topic \\([^ ]*\\).*/\\1/')\ncase \"$topic\" in\n" + describe.String() + "esac ;; esac\n"
			if err := os.WriteFile(stub, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			job := strings.ReplaceAll(TopicScript(topics, "kafka-0:9092"), topicsScript, stub)
			out, err := exec.Command("sh", "-ec", job).CombinedOutput()
			if c.fails != (err != nil) {
				t.Fatalf("fails = %v, want %v; output: %s", err, c.fails, out)
			}
			raw, _ := os.ReadFile(calls)
			var altered, created []string
			for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
				f := strings.Fields(line)
				if len(f) < 5 || f[0] != "--bootstrap-server" || f[1] != "kafka-0:9092" {
					t.Fatalf("call %q does not name the brokers first", line)
				}
				switch f[2] {
				case "--alter":
					altered = append(altered, f[4]+" "+f[6])
				case "--create":
					created = append(created, strings.Join(f[3:], " "))
				}
			}
			if strings.Join(altered, ",") != strings.Join(c.altered, ",") {
				t.Errorf("altered %v, want %v", altered, c.altered)
			}
			if !c.fails && strings.Join(created, ",") != "--if-not-exists --topic logs --partitions 6 --replication-factor 3,--if-not-exists --topic audit.v1 --partitions 2 --replication-factor 1" {
				t.Errorf("created %v", created)
			}
		})
	}
}
