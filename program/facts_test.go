package program

import "obs-stack/stacks"

// factsOutput is the dataFacts output the program records for spec, which its update
// validated first.
func factsOutput(spec stacks.Spec) map[string]any {
	valid, _, err := spec.Validate()
	if err != nil {
		panic(err)
	}
	out, err := valid.Facts().Output()
	if err != nil {
		panic(err)
	}
	return out
}
