package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Facts are what a deployed stack's data depends on. The program records them as the stack
// output dataFacts and compares the next preview's spec with them, so that a change that
// would lose stored logs or Kafka data is refused before it happens.
type Facts struct {
	LokiMode    string `json:"lokiMode"`
	LokiStorage string `json:"lokiStorage"`
	// Volumes maps the config key of each StatefulSet (loki.ingester, kafka) to its volume
	// template ("10Gi on <class>").
	Volumes map[string]string `json:"volumes"`
	// SchemaFroms are the start dates of the schema periods.
	SchemaFroms []string `json:"schemaFroms"`
	// KafkaClusterID is the adopted cluster id ("" while generated).
	KafkaClusterID string `json:"kafkaClusterId"`
}

// Facts of the spec as it would be deployed.
func (s Spec) Facts() Facts {
	f := Facts{LokiMode: s.Loki.Mode, LokiStorage: s.Loki.Storage.Type, Volumes: map[string]string{}, KafkaClusterID: s.Kafka.ClusterID}
	class := s.Cluster.StorageClass
	if class == "" {
		class = "the default class"
	}
	for _, g := range s.Sizing() {
		if g.Storage != "" {
			f.Volumes[g.Key] = g.Storage + " on " + class
		}
	}
	for _, p := range s.Loki.Schemas {
		f.SchemaFroms = append(f.SchemaFroms, p.From)
	}
	return f
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
	return &f, nil
}

// CheckChanges refuses changes against the previous deployment that would lose data, unless
// obs-stack:allowDataLoss is true; new schema periods must start in the future (UTC) either way.
func (s Spec) CheckChanges(prev *Facts, now time.Time) error {
	if prev == nil {
		return nil // first deployment: nothing to lose
	}
	c := &checker{}
	next := s.Facts()
	const ack = "set obs-stack:allowDataLoss true only if losing it is intended"
	if !s.AllowDataLoss {
		if prev.LokiMode != next.LokiMode && prev.LokiStorage == StorageFilesystem {
			c.fail("loki.mode", next.LokiMode,
				fmt.Sprintf("the deployed Loki (%s) keeps its logs on a filesystem PVC, which does not follow the pods into %s: every stored log would be lost",
					prev.LokiMode, next.LokiMode),
				"move to object storage first (a new schema period on s3 with a future from date, in %s mode), let retention age out the filesystem data, then switch modes; or %s", prev.LokiMode, ack)
		}
		if s.Kafka.Enabled && prev.KafkaClusterID != next.KafkaClusterID {
			was := prev.KafkaClusterID
			if was == "" {
				was = "the generated one"
			}
			c.fail("kafka.clusterId", next.KafkaClusterID,
				fmt.Sprintf("the brokers' storage is formatted with cluster id %s; a different id makes them refuse it, orphaning every topic's data", was),
				"keep the deployed id (remove the key if it was generated), or %s", ack)
		}
		keys := make([]string, 0, len(next.Volumes))
		for key := range next.Volumes {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			before, ok := prev.Volumes[key]
			if ok && before != next.Volumes[key] {
				c.fail(key+".storage", next.Volumes[key],
					fmt.Sprintf("the deployed volume template is %s; volume templates are immutable, so the StatefulSet would be replaced and its PVCs would no longer match it", before),
					"keep the deployed size and class (expand PVCs in place with kubectl if the class allows it), or %s", ack)
			}
		}
	}
	known := map[string]bool{}
	for _, from := range prev.SchemaFroms {
		known[from] = true
	}
	today := now.UTC().Truncate(24 * time.Hour)
	for i, from := range next.SchemaFroms {
		if known[from] {
			continue
		}
		if d, err := time.Parse(time.DateOnly, from); err == nil && !d.After(today) {
			c.fail(fmt.Sprintf("loki.schemas[%d].from", i), from,
				"a schema period added to a running store must start in the future, or data already written under the old schema becomes unreadable",
				"set it to %s or later", today.AddDate(0, 0, 1).Format(time.DateOnly))
		}
	}
	return errors.Join(c.errs...)
}
