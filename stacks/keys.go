package stacks

import (
	"reflect"
	"strings"
)

// The spec's config keys are its fields' json names; the loader, the config reference and
// the targets read them from here.

// FieldByKey finds the field whose config key is name, looking through embedded structs.
func FieldByKey(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			if inner, ok := FieldByKey(v.Field(i), name); ok {
				return inner, true
			}
			continue
		}
		if KeyName(f) == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// Keys lists the config keys of a struct type, embedded structs inlined.
func Keys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			keys = append(keys, Keys(f.Type)...)
			continue
		}
		keys = append(keys, KeyName(f))
	}
	return keys
}

// KeyName is the config key of a field: its json name.
func KeyName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}
