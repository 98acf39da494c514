package preflight

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/common/encoding"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"obs-stack/stacks"
)

// ReadStackFile reads the config of dir/Pulumi.<stack>.yaml; no file means no config.
func ReadStackFile(dir, stack string) (map[string]string, error) {
	name := "Pulumi." + stack + ".yaml"
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return DecodeStackFile(name, raw)
}

// DecodeStackFile decodes a stack file with Pulumi's own loader and returns its config exactly
// as the engine hands it to the program: full keys to raw values, objects as JSON, YAML
// timestamps as Go time strings. Secret values stay encrypted (only their keys matter here).
func DecodeStackFile(name string, raw []byte) (map[string]string, error) {
	project := &workspace.Project{Name: stacks.Namespace}
	file, err := workspace.LoadProjectStackBytes(nil, project, raw, name, encoding.YAML)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	values, err := file.Config.Decrypt(config.NopDecrypter)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	out := make(map[string]string, len(values))
	for k, v := range values {
		out[k.String()] = v
	}
	return out, nil
}
