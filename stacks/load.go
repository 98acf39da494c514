package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
)

// Namespace is the project's config namespace; provider namespaces (kubernetes:, random:,
// grafana:, kafka:) are read as provider settings and are never used for the program's keys.
const Namespace = "obs-stack"

// PresetKey selects a preset explicitly; without it the stack name picks the preset.
const PresetKey = Namespace + ":preset"

// Load picks the preset for stack and deep-merges the stack's config onto it. config maps
// full config keys to their raw values as Pulumi passes them (objects as JSON), e.g.
// "obs-stack:loki" -> `{"mode":"Distributed"}`; a dotted key such as "obs-stack:loki.mode"
// (set without --path) is treated as the path it spells. Keys of other namespaces are ignored.
// Every problem is returned at once.
func Load(stack string, config map[string]string) (Spec, error) {
	presetName := stack
	if p, ok := config[PresetKey]; ok {
		presetName = p
	}
	preset, ok := Presets[presetName]
	if !ok {
		return Spec{}, fmt.Errorf("%s = %q: no such preset; set %s to one of %s (the stack name picks the preset when the key is unset)",
			PresetKey, presetName, PresetKey, strings.Join(PresetNames(), ", "))
	}
	spec := preset()

	var errs []error
	for _, full := range slices.Sorted(maps.Keys(config)) { // deterministic merges and messages
		name, ok := strings.CutPrefix(full, Namespace+":")
		if !ok || full == PresetKey {
			continue
		}
		raw := config[full]
		var value any
		if err := json.Unmarshal([]byte(raw), &value); err != nil {
			value = raw // plain strings are not JSON
		}
		path := strings.Split(name, ".")
		for i := len(path) - 1; i > 0; i-- {
			value = map[string]any{path[i]: value}
		}
		errs = append(errs, merge(reflect.ValueOf(&spec).Elem(), map[string]any{path[0]: value}, Namespace+":")...)
	}
	return spec, errors.Join(errs...)
}

// merge writes src (decoded JSON) onto dst, field by field; key is the config key of dst.
func merge(dst reflect.Value, src any, key string) []error {
	typeErr := func(want string) []error {
		return []error{fmt.Errorf("%s = %s: expected %s; set it with pulumi config set --path '%s' <value>",
			strings.TrimSuffix(key, "."), show(src), want, strings.TrimSuffix(key, "."))}
	}
	switch dst.Kind() {
	case reflect.Struct:
		obj, ok := src.(map[string]any)
		if !ok {
			return typeErr("an object with keys " + strings.Join(jsonKeys(dst.Type()), ", "))
		}
		var errs []error
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			field, ok := fieldByJSONName(dst, k)
			if !ok {
				errs = append(errs, unknownKey(key, k, jsonKeys(dst.Type())))
				continue
			}
			errs = append(errs, merge(field, obj[k], key+k+".")...)
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
			errs = append(errs, merge(out.Index(i), item, fmt.Sprintf("%s[%d].", strings.TrimSuffix(key, "."), i))...)
		}
		dst.Set(out)
		return errs
	case reflect.String:
		switch v := src.(type) {
		case string:
			dst.SetString(v)
		case float64, bool: // "cpu: 2" in a stack file arrives as a number
			dst.SetString(fmt.Sprint(v))
		default:
			return typeErr("a string")
		}
	case reflect.Int:
		switch v := src.(type) {
		case float64:
			if v != float64(int(v)) {
				return typeErr("a whole number")
			}
			dst.SetInt(int64(v))
		case string: // config set --path may store numbers as strings
			n, err := strconv.Atoi(v)
			if err != nil {
				return typeErr("a whole number")
			}
			dst.SetInt(int64(n))
		default:
			return typeErr("a whole number")
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

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// fieldByJSONName finds the field tagged name, looking through embedded structs.
func fieldByJSONName(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			if inner, ok := fieldByJSONName(v.Field(i), name); ok {
				return inner, true
			}
			continue
		}
		if tagName(f) == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// jsonKeys lists the config keys of a struct type, embedded structs inlined.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			keys = append(keys, jsonKeys(f.Type)...)
			continue
		}
		keys = append(keys, tagName(f))
	}
	return keys
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

func unknownKey(parent, key string, valid []string) error {
	best, bestDist := "", 1<<30
	for _, v := range valid {
		d := levenshtein.Distance(strings.ToLower(key), strings.ToLower(v), nil)
		if d < bestDist {
			best, bestDist = v, d
		}
	}
	if bestDist <= max(2, len(key)/3) {
		return fmt.Errorf("%s%s: unknown config key; did you mean %s%s?", parent, key, parent, best)
	}
	return fmt.Errorf("%s%s: unknown config key; valid keys here: %s", parent, key, strings.Join(valid, ", "))
}

// Sections are the top-level config keys (obs-stack:<section>).
func Sections() []string { return jsonKeys(reflect.TypeOf(Spec{})) }
