// pulumi-resource-random: OFFLINE STAND-IN for the official pulumi-random plugin.
//
// The official plugin (github.com/pulumi/pulumi-random, a bridged terraform-provider-random)
// cannot be downloaded on the machines this project is developed and tested on: neither its
// release binaries nor its provider module are reachable. This small plugin implements the
// resources obs-stack uses, with the official tokens, property names and semantics, so that
// programs written against github.com/pulumi/pulumi-random/sdk/v4 run unchanged:
//
//	random:index/randomPassword:RandomPassword  length, special, upper, lower, numeric (number),
//	    minUpper, minLower, minNumeric, minSpecial, overrideSpecial, keepers
//	    -> result (secret), bcryptHash (secret); id "none"
//	random:index/randomId:RandomId  byteLength, prefix, keepers -> hex, b64Std, b64Url, dec
//	random:index/randomUuid:RandomUuid  keepers -> result
//
// Every input is replace-on-change, like the real provider; Read and Check keep the state as
// it is, so values are stable across updates. Real installs use the official plugin
// (`pulumi plugin install resource random <version>`); do not ship this binary.
package main

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// version is stamped by build.sh (-X main.version=...) to the random SDK version in use, so
// the engine finds the version the SDK asks for.
var version = "4.19.0"

const (
	passwordType = "random:index/randomPassword:RandomPassword"
	idType       = "random:index/randomId:RandomId"
	uuidType     = "random:index/randomUuid:RandomUuid"
)

// inputs lists each resource's input properties; a change to any of them replaces it.
var inputs = map[string][]string{
	passwordType: {"keepers", "length", "special", "upper", "lower", "number", "numeric",
		"minUpper", "minLower", "minNumeric", "minSpecial", "overrideSpecial"},
	idType:   {"keepers", "byteLength", "prefix"},
	uuidType: {"keepers"},
}

var (
	keepOpts  = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}
	plainOpts = plugin.MarshalOptions{KeepUnknowns: true, SkipNulls: true} // secrets unwrapped
)

type prov struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func main() {
	if err := provider.Main("random", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &prov{}, nil
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func (p *prov) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *prov) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: `{"name":"random","version":"` + version + `"}`}, nil
}

func (p *prov) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *prov) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *prov) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: false}, nil
}

func (p *prov) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Check fills in the documented defaults and validates; unknown values pass through.
func (p *prov) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if _, ok := inputs[req.GetType()]; !ok {
		return nil, unsupported(req.GetType())
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), keepOpts)
	if err != nil {
		return nil, err
	}
	failures := checkInputs(req.GetType(), news)
	out, err := plugin.MarshalProperties(news, keepOpts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: out, Failures: failures}, nil
}

func checkInputs(typ string, m resource.PropertyMap) []*pulumirpc.CheckFailure {
	fail := func(prop, reason string) []*pulumirpc.CheckFailure {
		return []*pulumirpc.CheckFailure{{Property: prop, Reason: reason}}
	}
	switch typ {
	case passwordType:
		for _, k := range []string{"special", "upper", "lower"} {
			setDefault(m, k, resource.NewProperty(true))
		}
		for _, k := range []string{"minUpper", "minLower", "minNumeric", "minSpecial"} {
			setDefault(m, k, resource.NewProperty(0.0))
		}
		// `number` is the deprecated alias of `numeric`: either one set fills in the other.
		setDefault(m, "numeric", valueOr(m, "number", resource.NewProperty(true)))
		setDefault(m, "number", m["numeric"])
		if !present(m, "length") {
			return fail("length", "missing required property 'length'")
		}
		if known(m, inputs[passwordType]...) {
			if err := passwordFrom(m).validate(); err != nil {
				return fail("length", err.Error())
			}
		}
	case idType:
		if !present(m, "byteLength") {
			return fail("byteLength", "missing required property 'byteLength'")
		}
		if known(m, "byteLength") && intOf(m, "byteLength") < 1 {
			return fail("byteLength", "byteLength must be at least 1")
		}
	}
	return nil
}

// Diff replaces the resource when any input changed (or is not known yet) and reports
// nothing otherwise, so `pulumi preview --expect-no-changes` passes after `pulumi up`.
func (p *prov) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	keys, ok := inputs[req.GetType()]
	if !ok {
		return nil, unsupported(req.GetType())
	}
	oldStruct := req.GetOldInputs()
	if oldStruct == nil {
		oldStruct = req.GetOlds() // outputs hold a copy of the inputs
	}
	olds, err := plugin.UnmarshalProperties(oldStruct, plainOpts)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), plainOpts)
	if err != nil {
		return nil, err
	}
	changed := changedInputs(keys, olds, news)
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true}, nil
	}
	detail := map[string]*pulumirpc.PropertyDiff{}
	for _, k := range changed {
		kind := pulumirpc.PropertyDiff_UPDATE_REPLACE
		if isEmpty(olds[resource.PropertyKey(k)]) {
			kind = pulumirpc.PropertyDiff_ADD_REPLACE
		} else if isEmpty(news[resource.PropertyKey(k)]) {
			kind = pulumirpc.PropertyDiff_DELETE_REPLACE
		}
		detail[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Replaces: changed,
		Diffs: changed, DetailedDiff: detail, HasDetailedDiff: true}, nil
}

func changedInputs(keys []string, olds, news resource.PropertyMap) []string {
	var changed []string
	for _, k := range keys {
		o, n := olds[resource.PropertyKey(k)], news[resource.PropertyKey(k)]
		switch {
		case n.ContainsUnknowns():
			changed = append(changed, k)
		case isEmpty(o) && isEmpty(n): // null, "" and {} are the same (keepers, prefix, overrideSpecial)
		case !o.DeepEquals(n):
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	return changed
}

func (p *prov) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	ins, err := plugin.UnmarshalProperties(req.GetProperties(), keepOpts)
	if err != nil {
		return nil, err
	}
	plain, err := plugin.UnmarshalProperties(req.GetProperties(), plainOpts)
	if err != nil {
		return nil, err
	}
	id, outs, err := create(req.GetType(), ins, plain)
	if err != nil {
		return nil, err
	}
	props, err := plugin.MarshalProperties(outs, keepOpts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// create returns the resource id and its outputs: the inputs plus the generated values.
func create(typ string, ins, plain resource.PropertyMap) (string, resource.PropertyMap, error) {
	outs := ins.Copy()
	switch typ {
	case passwordType:
		pw, err := generatePassword(passwordFrom(plain))
		if err != nil {
			return "", nil, err
		}
		hashInput := []byte(pw)
		if len(hashInput) > 72 { // bcrypt reads at most 72 bytes; the real provider hashes those
			hashInput = hashInput[:72]
		}
		hash, err := bcrypt.GenerateFromPassword(hashInput, bcrypt.DefaultCost)
		if err != nil {
			return "", nil, err
		}
		outs["result"] = resource.MakeSecret(resource.NewProperty(pw))
		outs["bcryptHash"] = resource.MakeSecret(resource.NewProperty(string(hash)))
		return "none", outs, nil
	case idType:
		v, err := generateID(intOf(plain, "byteLength"), stringOf(plain, "prefix"))
		if err != nil {
			return "", nil, err
		}
		outs["hex"] = resource.NewProperty(v.Hex)
		outs["b64Std"] = resource.NewProperty(v.B64Std)
		outs["b64Url"] = resource.NewProperty(v.B64URL)
		outs["dec"] = resource.NewProperty(v.Dec)
		return v.ID, outs, nil
	case uuidType:
		u, err := generateUUID()
		if err != nil {
			return "", nil, err
		}
		outs["result"] = resource.NewProperty(u)
		return u, outs, nil
	}
	return "", nil, unsupported(typ)
}

// Read returns the state unchanged: generated values never drift.
func (p *prov) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if req.GetProperties() == nil || len(req.GetProperties().GetFields()) == 0 {
		return nil, fmt.Errorf("%s: import is not supported by the offline random stand-in", req.GetType())
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// Update is never needed (every input change replaces); it keeps the generated values.
func (p *prov) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), keepOpts)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), keepOpts)
	if err != nil {
		return nil, err
	}
	for k, v := range news {
		olds[k] = v
	}
	var props *structpb.Struct
	if props, err = plugin.MarshalProperties(olds, keepOpts); err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *prov) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func unsupported(typ string) error {
	return fmt.Errorf("resource type %q is not implemented by the offline random stand-in "+
		"(only RandomPassword, RandomId, RandomUuid)", typ)
}

func passwordFrom(m resource.PropertyMap) passwordParams {
	return passwordParams{
		Length: intOf(m, "length"), Upper: boolOf(m, "upper"), Lower: boolOf(m, "lower"),
		Numeric: boolOf(m, "numeric"), Special: boolOf(m, "special"),
		MinUpper: intOf(m, "minUpper"), MinLower: intOf(m, "minLower"),
		MinNumeric: intOf(m, "minNumeric"), MinSpecial: intOf(m, "minSpecial"),
		OverrideSpecial: stringOf(m, "overrideSpecial"),
	}
}

// Property helpers; they look through secrets.

func plainValue(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

func present(m resource.PropertyMap, k string) bool {
	v, ok := m[resource.PropertyKey(k)]
	return ok && !v.IsNull()
}

func known(m resource.PropertyMap, keys ...string) bool {
	for _, k := range keys {
		if m[resource.PropertyKey(k)].ContainsUnknowns() {
			return false
		}
	}
	return true
}

func setDefault(m resource.PropertyMap, k string, v resource.PropertyValue) {
	if !present(m, k) {
		m[resource.PropertyKey(k)] = v
	}
}

func valueOr(m resource.PropertyMap, k string, def resource.PropertyValue) resource.PropertyValue {
	if present(m, k) {
		return m[resource.PropertyKey(k)]
	}
	return def
}

func isEmpty(v resource.PropertyValue) bool {
	v = plainValue(v)
	return v.IsNull() || (v.IsString() && v.StringValue() == "") || (v.IsObject() && len(v.ObjectValue()) == 0)
}

func intOf(m resource.PropertyMap, k string) int {
	if v := plainValue(m[resource.PropertyKey(k)]); v.IsNumber() {
		return int(v.NumberValue())
	}
	return 0
}

func boolOf(m resource.PropertyMap, k string) bool {
	v := plainValue(m[resource.PropertyKey(k)])
	return v.IsBool() && v.BoolValue()
}

func stringOf(m resource.PropertyMap, k string) string {
	if v := plainValue(m[resource.PropertyKey(k)]); v.IsString() {
		return v.StringValue()
	}
	return ""
}
