package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// ReadStackFile reads the config of dir/Pulumi.<stack>.yaml the way Pulumi hands it to the
// program (objects as JSON); no file means no config.
func ReadStackFile(dir, stack string) (map[string]string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "Pulumi."+stack+".yaml"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var file struct {
		Config map[string]any `json:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("reading Pulumi.%s.yaml: %w", stack, err)
	}
	config := map[string]string{}
	for k, v := range file.Config {
		if s, ok := v.(string); ok {
			config[k] = s
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		config[k] = string(b)
	}
	return config, nil
}
