// Package check holds the name checks that validation runs on more than one section, and the
// Reporter they report to (validation's checker), so that a section kept in a package of its
// own (the object stores) checks names the same way, with the same messages.
package check

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Reporter collects problems: a failure names the config key (without the obs-stack:
// namespace), the value, the reason and the fix; fix is a format for args.
type Reporter interface {
	Fail(key string, value any, reason, fix string, args ...any)
	Warn(key string, value any, reason, fix string)
}

// Required fails an empty (or blank) value.
func Required(r Reporter, key, value, example string) {
	if strings.TrimSpace(value) == "" {
		r.Fail(key, value, "required", "set it, e.g. to %s", example)
	}
}

// SecretKey checks the name of a key in a Secret.
func SecretKey(r Reporter, key, value, example string) {
	if value == "" {
		r.Fail(key, value, "required", "set it to the key in the Secret, e.g. %s", example)
		return
	}
	if errs := validation.IsConfigMapKey(value); len(errs) > 0 {
		r.Fail(key, value, "not a Secret key: "+strings.Join(errs, "; "), "use letters, digits, '-', '_' or '.', e.g. %s", example)
	}
}

// DNSLabel checks a name Kubernetes requires to be a DNS label (a namespace).
func DNSLabel(r Reporter, key, value string) {
	dnsName(r, key, value, validation.IsDNS1123Label, "a DNS label", "use lower-case letters, digits and '-', at most 63 characters, e.g. observability", "set it to a DNS label, e.g. observability")
}

// DNSSubdomain checks a name Kubernetes requires to be a DNS subdomain (a Secret, a storage
// class).
func DNSSubdomain(r Reporter, key, value string) {
	dnsName(r, key, value, validation.IsDNS1123Subdomain, "a DNS name", "use lower-case letters, digits, '-' and '.'", "set it to a DNS name")
}

// dnsName checks value with one of apimachinery's DNS validators; what names the kind of name.
func dnsName(r Reporter, key, value string, check func(string) []string, what, fix, fixEmpty string) {
	if value == "" {
		r.Fail(key, value, "required", "%s", fixEmpty)
		return
	}
	if errs := check(value); len(errs) > 0 {
		r.Fail(key, value, "not "+what+": "+strings.Join(errs, "; "), "%s", fix)
	}
}
