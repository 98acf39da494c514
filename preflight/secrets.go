package preflight

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"obs-stack/stacks"
	"obs-stack/stacks/objstore"
)

// secretKeysTemplate prints the names of a Secret's keys, one per line, and never a value.
const secretKeysTemplate = `{{range $k, $v := .data}}{{$k}}{{"\n"}}{{end}}`

// checkSecrets reads every Secret the stores in use name (cluster.checkSecrets) and reports
// those missing, and the keys missing from them, against the config keys that name them.
func checkSecrets(c stacks.Cluster, stores objstore.InUse) []error {
	var errs []error
	for _, store := range stores.All {
		for _, need := range store.Secrets() {
			out, err := kubectl(c, "-n", c.Namespace, "get", "secret", need.Name, "-o", "go-template="+secretKeysTemplate)
			errs = append(errs, SecretProblems(need, c.Namespace, out, err)...)
		}
	}
	return errs
}

// SecretProblems judges one Secret the pods read from what kubectl answered: its key names
// (one per line), or the error of reading it.
func SecretProblems(need objstore.SecretNeed, namespace string, keys []byte, err error) []error {
	if err != nil {
		if strings.Contains(err.Error(), "NotFound") {
			return []error{&stacks.Problem{Key: need.NameKey, Value: need.Name,
				Reason: fmt.Sprintf("no Secret %s in the namespace %s (cluster.checkSecrets): the Loki pods would not start (CreateContainerConfigError)", need.Name, namespace),
				Fix:    fmt.Sprintf("create it first (kubectl create namespace %s; kubectl -n %s create secret generic %s --from-literal=<key>=...), or name an existing Secret", namespace, namespace, need.Name)}}
		}
		return []error{&stacks.Problem{Key: "cluster.checkSecrets", Value: true, Reason: fmt.Sprintf("cannot read the Secret %s: %v", need.Name, err),
			Fix: "make the kube context reachable with get on secrets in the stack's namespace, or set obs-stack:cluster.checkSecrets false"}}
	}
	have := strings.Fields(string(keys))
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(need.Keys)) {
		if !slices.Contains(have, key) {
			errs = append(errs, &stacks.Problem{Key: need.Keys[key], Value: key,
				Reason: fmt.Sprintf("the Secret %s has no key %s (its keys: %s): the Loki pods would not start", need.Name, key, strings.Join(have, ", ")),
				Fix:    fmt.Sprintf("name one of its keys, or add %s to the Secret", key)})
		}
	}
	return errs
}
