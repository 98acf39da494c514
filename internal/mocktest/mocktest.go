// Package mocktest is the mock Pulumi engine the unit tests share: it records every resource
// a program registers and answers like the providers would.
package mocktest

import (
	"sort"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/stacks"
	"obs-stack/stacks/load"
)

// What the mock random provider "generates".
const (
	Password  = "mock-gateway-password-4242"
	ClusterID = "MOCKCLUSTERIDxxxxxxxxx"
)

// Resource is one registered resource, its inputs as plain Go values (secrets unwrapped).
type Resource struct {
	Type, Name, Parent, Provider string
	Dependencies                 []string
	Protect, DeleteBeforeReplace bool
	Inputs                       map[string]any
}

// Recorder records resources and echoes inputs as outputs.
type Recorder struct {
	mu        sync.Mutex
	Resources []Resource
	// Previous are the outputs a StackReference reads (the last update's, for a self-reference).
	Previous map[string]any
}

// NewResource implements pulumi.MockResourceMonitor.
func (r *Recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := Resource{Type: args.TypeToken, Name: args.Name, Provider: args.Provider, Inputs: Plain(args.Inputs)}
	if rpc := args.RegisterRPC; rpc != nil {
		res.Parent, res.Dependencies = rpc.GetParent(), rpc.GetDependencies()
		res.Protect, res.DeleteBeforeReplace = rpc.GetProtect(), rpc.GetDeleteBeforeReplace()
	}
	r.Resources = append(r.Resources, res)
	outputs := args.Inputs.Copy()
	switch args.TypeToken { // what the random provider computes
	case "random:index/randomPassword:RandomPassword":
		outputs["result"] = resource.MakeSecret(resource.NewStringProperty(Password))
		outputs["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty("$2a$10$mockmockmockmockmockmuMOCKHASHmockmockmockmockmockmockm"))
	case "random:index/randomId:RandomId":
		outputs["b64Url"] = resource.NewStringProperty(ClusterID)
	case "pulumi:pulumi:StackReference":
		outputs["outputs"] = resource.NewObjectProperty(resource.NewPropertyMapFromMap(r.Previous))
	}
	// The real provider auto-names objects without metadata.name; do the same.
	if meta, ok := outputs["metadata"]; ok && meta.IsObject() {
		if _, named := meta.ObjectValue()["name"]; !named {
			meta.ObjectValue()["name"] = resource.NewStringProperty(args.Name + "-mock1234")
		}
	}
	return args.Name + "_id", outputs, nil
}

// Call implements pulumi.MockResourceMonitor.
func (r *Recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}

// OfType returns the resources of a type token, sorted by name.
func (r *Recorder) OfType(typ string) []Resource {
	var out []Resource
	for _, res := range r.Resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// One returns the only resource of a type, failing the test otherwise.
func (r *Recorder) One(t *testing.T, typ string) Resource {
	t.Helper()
	all := r.OfType(typ)
	if len(all) != 1 {
		t.Fatalf("want one %s, got %d", typ, len(all))
	}
	return all[0]
}

// Dig walks nested maps and lists (ints index lists); nil when the path does not exist.
func Dig(v any, path ...any) any {
	for _, p := range path {
		switch key := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[key]
		case int:
			l, ok := v.([]any)
			if !ok || key >= len(l) {
				return nil
			}
			v = l[key]
		}
	}
	return v
}

// Plain turns a property map into plain Go values, unwrapping secrets and outputs.
func Plain(m resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[string(k)] = plain(v)
	}
	return out
}

func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsOutput():
		return plain(v.OutputValue().Element)
	case v.IsObject():
		return Plain(v.ObjectValue())
	case v.IsArray():
		var out []any
		for _, e := range v.ArrayValue() {
			out = append(out, plain(e))
		}
		return out
	case v.IsString(), v.IsNumber(), v.IsBool():
		return v.V
	}
	return nil
}

// Spec loads a preset with config overrides and validates it, failing the test on any error.
func Spec(t *testing.T, stack string, config map[string]string) stacks.Valid {
	t.Helper()
	s, err := load.Load(stack, config)
	if err != nil {
		t.Fatal(err)
	}
	valid, _, err := s.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return valid
}
