package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"obs-stack/stacks"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agext/levenshtein"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// PresetKey selects a preset explicitly; without it the stack name picks the preset.
const PresetKey = stacks.Namespace + ":preset"

// ErrNoPreset: without a preset nothing else of the config can be checked.
var ErrNoPreset = errors.New("no such preset")

// Load picks the preset for stack and deep-merges the stack's config onto it. config maps
// full config keys to their raw values as Pulumi passes them (objects as JSON), e.g.
// "obs-stack:loki" -> `{"mode":"Distributed"}`; a key set without --path, such as
// "obs-stack:loki.mode" or "obs-stack:kafka.topics[0].partitions", is read as the path it
// spells. Keys of other namespaces are ignored.
//
// Every problem is returned at once, and a value that fails keeps the preset's value, so the
// spec returned next to an error can still be validated (only an unknown preset returns an
// empty spec).
func Load(stack string, config map[string]string) (stacks.Spec, error) {
	spec, _, err := Explain(stack, config)
	return spec, err
}

// Explain is Load, with what a declared volume (loki.ingestGBPerDay) sized and why.
func Explain(stack string, config map[string]string) (stacks.Spec, []stacks.Derived, error) {
	presetName := stack
	if p, ok := config[PresetKey]; ok {
		presetName = p
	}
	preset, ok := stacks.Presets[presetName]
	if !ok {
		return stacks.Spec{}, nil, fmt.Errorf("%s = %q: %w; fix: set %s to one of %s (the stack name picks the preset when the key is unset)",
			PresetKey, presetName, ErrNoPreset, PresetKey, strings.Join(stacks.PresetNames(), ", "))
	}
	spec := preset()
	if presetName != stack {
		// A stack on another stack's preset gets a namespace of its own, so that it can never
		// take over the objects of the stack the preset is named after.
		spec.Cluster.Namespace = "observability-" + stack
	}

	var errs []error
	leaves := map[string]string{}                           // config path of every value given -> the config key that gave it
	for _, full := range slices.Sorted(maps.Keys(config)) { // deterministic merges and messages
		raw := config[full]
		var value any
		if err := json.Unmarshal([]byte(raw), &value); err != nil {
			value = raw // plain strings are not JSON
		}
		if fix, ok := providerKey(full); ok {
			errs = append(errs, &stacks.Problem{Key: full, Value: value,
				Reason: "the stack's Kubernetes provider is explicit, and an explicit provider reads no kubernetes: config: this key would be ignored, and the stack deployed wherever the current kube context points", Fix: fix})
			continue
		}
		name, ok := strings.CutPrefix(full, stacks.Namespace+":")
		if !ok || full == PresetKey {
			continue
		}
		path, err := resource.ParsePropertyPath(name)
		if err != nil || len(path) == 0 {
			errs = append(errs, problem(full, value, fmt.Sprintf("not a config key or path (%v)", err), "write keys like obs-stack:loki.mode or obs-stack:kafka.topics[0].partitions"))
			continue
		}
		errs = append(errs, twice(full, keyOf(path), value, leaves)...)
		errs = append(errs, set(reflect.ValueOf(&spec).Elem(), path, value, stacks.Namespace+":")...)
	}
	// A key the config sets, or one inside it, keeps its value.
	explicit := func(key string) bool {
		for leaf := range leaves {
			if leaf == key || strings.HasPrefix(leaf, key+".") || strings.HasPrefix(leaf, key+"[") || strings.HasPrefix(key, leaf+".") {
				return true
			}
		}
		return false
	}
	spec, derived := spec.ForVolume(explicit)
	return spec, derived, errors.Join(errs...)
}

// providerKey: the fix for a kubernetes: key, which users set out of habit for the default
// provider; ok is false for keys of other namespaces, which are not the program's to judge.
func providerKey(full string) (fix string, ok bool) {
	name, ok := strings.CutPrefix(full, "kubernetes:")
	if !ok {
		return "", false
	}
	switch name {
	case "context", "cluster":
		return "remove it and set obs-stack:cluster.kubeContext to the kubeconfig context to deploy to", true
	case "namespace":
		return "remove it and set obs-stack:cluster.namespace", true
	case "kubeconfig":
		return "remove it; point KUBECONFIG at the file for the run and choose its context with obs-stack:cluster.kubeContext", true
	case "renderYamlToDirectory":
		return "remove it; render with RENDER_DIR=<dir> ./scripts/up.sh", true
	}
	return "remove it: no kubernetes: key reaches the stack's provider", true
}

// keyOf spells a parsed path the way messages name keys: loki.schemas[0].from.
func keyOf(path resource.PropertyPath) string {
	var b strings.Builder
	for i, p := range path {
		switch p := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, p)
		}
	}
	return b.String()
}

// twice refuses a value that two config keys both give (obs-stack:loki.mode next to
// obs-stack:loki: {mode: ...}): which one wins would depend on the order Pulumi passes them.
func twice(full, path string, value any, leaves map[string]string) []error {
	var errs []error
	for _, leaf := range leafPaths(path, value) {
		for other, otherKey := range leaves {
			if otherKey != full && (other == leaf || strings.HasPrefix(other, leaf+".") || strings.HasPrefix(other, leaf+"[") ||
				strings.HasPrefix(leaf, other+".") || strings.HasPrefix(leaf, other+"[")) {
				errs = append(errs, problem(stacks.Namespace+":"+min(leaf, other), value, fmt.Sprintf("set twice, by %s and by %s, and only one can win", otherKey, full),
					"keep one of them (pulumi config rm "+full+")"))
			}
		}
	}
	for _, leaf := range leafPaths(path, value) {
		leaves[leaf] = full
	}
	return slices.CompactFunc(errs, func(a, b error) bool { return a.Error() == b.Error() })
}

// leafPaths lists the paths of the values inside value, which sits at path.
func leafPaths(path string, value any) []string {
	switch v := value.(type) {
	case map[string]any:
		if len(v) == 0 {
			return []string{path}
		}
		var out []string
		for _, k := range slices.Sorted(maps.Keys(v)) {
			out = append(out, leafPaths(path+"."+k, v[k])...)
		}
		return out
	case []any:
		if len(v) == 0 {
			return []string{path}
		}
		var out []string
		for i, item := range v {
			out = append(out, leafPaths(fmt.Sprintf("%s[%d]", path, i), item)...)
		}
		return out
	}
	return []string{path}
}

// set walks path from dst (key is dst's config key with a trailing '.') and merges value
// where it ends. A list index may name an existing entry or the next one.
func set(dst reflect.Value, path resource.PropertyPath, value any, key string) []error {
	if len(path) == 0 {
		return merge(dst, value, key)
	}
	switch step := path[0].(type) {
	case string:
		if dst.Kind() == reflect.Map { // a map key: merge onto the entry there, or a new one
			return mapEntry(dst, step, func(entry reflect.Value) []error {
				return set(entry, path[1:], value, fmt.Sprintf("%s[%q].", strings.TrimSuffix(key, "."), step))
			})
		}
		if dst.Kind() != reflect.Struct {
			return []error{problem(key, value, fmt.Sprintf("%q names a field, but this is a list", step), "use an index, e.g. "+strings.TrimSuffix(key, ".")+"[0]")}
		}
		field, ok := stacks.FieldByKey(dst, step)
		if !ok {
			return []error{unknownKey(key, step, value, stacks.Keys(dst.Type()))}
		}
		return set(field, path[1:], value, key+step+".")
	case int:
		list := strings.TrimSuffix(key, ".")
		if dst.Kind() != reflect.Slice {
			return []error{problem(list, value, fmt.Sprintf("[%d] indexes a list, but this is not one", step), "write the key without the index")}
		}
		if step < 0 || step > dst.Len() {
			return []error{problem(fmt.Sprintf("%s[%d]", list, step), value, fmt.Sprintf("the list has %d entries, so the next one is [%d]", dst.Len(), dst.Len()), "add entries in order")}
		}
		if step == dst.Len() {
			dst.Set(reflect.Append(dst, reflect.Zero(dst.Type().Elem())))
		}
		return set(dst.Index(step), path[1:], value, fmt.Sprintf("%s[%d].", list, step))
	}
	return []error{problem(key, value, fmt.Sprintf("unsupported path element %v", path[0]), "write keys like obs-stack:kafka.topics[0].partitions")}
}

// merge writes src (decoded JSON) onto dst, field by field; key is the config key of dst.
func merge(dst reflect.Value, src any, key string) []error {
	typeErr := func(want string) []error {
		return []error{problem(key, src, "expected "+want, fmt.Sprintf("set it with pulumi config set --path '%s' <value>", strings.TrimSuffix(key, ".")))}
	}
	switch dst.Kind() {
	case reflect.Struct:
		obj, ok := src.(map[string]any)
		if !ok {
			return typeErr("an object with keys " + strings.Join(stacks.Keys(dst.Type()), ", "))
		}
		var errs []error
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			field, ok := stacks.FieldByKey(dst, k)
			if !ok {
				errs = append(errs, unknownKey(key, k, obj[k], stacks.Keys(dst.Type())))
				continue
			}
			errs = append(errs, merge(field, obj[k], key+k+".")...)
		}
		return errs
	case reflect.Map:
		obj, ok := src.(map[string]any)
		if !ok {
			return typeErr("an object")
		}
		// Maps merge by key: an entry given merges onto the preset's entry of that key.
		var errs []error
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			errs = append(errs, mapEntry(dst, k, func(entry reflect.Value) []error {
				return merge(entry, obj[k], fmt.Sprintf("%s[%q].", strings.TrimSuffix(key, "."), k))
			})...)
		}
		return errs
	case reflect.Slice:
		list, ok := src.([]any)
		if !ok {
			return typeErr("a list")
		}
		// Lists merge by index: element i of the override lands on element i of the preset, and
		// the override's length wins.
		out := reflect.MakeSlice(dst.Type(), len(list), len(list))
		reflect.Copy(out, dst)
		var errs []error
		for i, item := range list {
			if item == nil && i < dst.Len() {
				// `pulumi config set --path 'x[1].y'` on a stack file without x writes a null
				// x[0]: the entry it skipped keeps the preset's element.
				continue
			}
			errs = append(errs, merge(out.Index(i), item, fmt.Sprintf("%s[%d].", strings.TrimSuffix(key, "."), i))...)
		}
		dst.Set(out)
		return errs
	case reflect.String:
		switch v := src.(type) {
		case string:
			dst.SetString(untimestamp(v))
		case float64, bool: // "cpu: 2" in a stack file arrives as a number
			dst.SetString(fmt.Sprint(v))
		default:
			return typeErr("a string")
		}
	case reflect.Int:
		switch v := src.(type) {
		case float64:
			if v != math.Trunc(v) || v < math.MinInt32 || v > math.MaxInt32 {
				return typeErr(wholeNumber)
			}
			dst.SetInt(int64(v))
		case string: // config set --path may store numbers as strings
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return typeErr(wholeNumber)
			}
			dst.SetInt(n)
		default:
			return typeErr(wholeNumber)
		}
	case reflect.Float64:
		switch v := src.(type) {
		case float64:
			dst.SetFloat(v)
		case string:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return typeErr("a number")
			}
			dst.SetFloat(f)
		default:
			return typeErr("a number")
		}
	case reflect.Bool:
		switch v := src.(type) {
		case bool:
			dst.SetBool(v)
		case string:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return typeErr("true or false")
			}
			dst.SetBool(b)
		default:
			return typeErr("true or false")
		}
	default:
		panic(fmt.Sprintf("stacks: spec field %s has unsupported kind %s", key, dst.Kind()))
	}
	return nil
}

// mapEntry runs write on an addressable copy of the map's entry at key (the zero value when
// there is none) and stores the result; a nil map is made first.
func mapEntry(m reflect.Value, key string, write func(entry reflect.Value) []error) []error {
	if m.IsNil() {
		m.Set(reflect.MakeMap(m.Type()))
	}
	entry := reflect.New(m.Type().Elem()).Elem()
	if old := m.MapIndex(reflect.ValueOf(key)); old.IsValid() {
		entry.Set(old)
	}
	errs := write(entry)
	m.SetMapIndex(reflect.ValueOf(key), entry)
	return errs
}

// Every count in the spec is one Kubernetes or Loki takes as a 32-bit integer.
const wholeNumber = "a 32-bit whole number (at most 2147483647 in size)"

// untimestamp undoes what YAML does to an unquoted date: Pulumi's stack-file loader turns
// `from: 2024-04-01` into a timestamp and hands it over as Go's time string
// ("2024-04-01 00:00:00 +0000 UTC"), a form nobody types. Midnight UTC becomes the date
// again; any other time becomes RFC 3339, as it was most likely written.
func untimestamp(s string) string {
	// Go prints a zone without a name as its offset twice ("+0200 +0200").
	t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", s)
	if err != nil {
		if t, err = time.Parse("2006-01-02 15:04:05.999999999 -0700 -0700", s); err != nil {
			return s
		}
	}
	if _, offset := t.Zone(); offset == 0 && t.Equal(t.Truncate(24*time.Hour)) {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func unknownKey(parent, key string, value any, valid []string) error {
	best, bestDist := "", 1<<30
	for _, v := range valid {
		d := levenshtein.Distance(strings.ToLower(key), strings.ToLower(v), nil)
		if d < bestDist {
			best, bestDist = v, d
		}
	}
	if bestDist <= max(2, len(key)/3) {
		return problem(parent+key, value, "unknown config key", "did you mean "+parent+best+"?")
	}
	return problem(parent+key, value, "unknown config key", "use one of the valid keys here: "+strings.Join(valid, ", "))
}

// problem is a stacks.Problem of the loader; key is a full config key (with the namespace, maybe a
// trailing '.').
func problem(key string, value any, reason, fix string) error {
	return &stacks.Problem{Key: strings.TrimSuffix(strings.TrimPrefix(key, stacks.Namespace+":"), "."), Value: value, Reason: reason, Fix: fix}
}

// Sections are the top-level config keys (obs-stack:<section>).
func Sections() []string { return stacks.Keys(reflect.TypeOf(stacks.Spec{})) }
