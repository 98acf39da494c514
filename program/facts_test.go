package program

import "obs-stack/stacks"

// factsOutput is the dataFacts output the program records for spec.
func factsOutput(spec stacks.Spec) map[string]any {
	out, err := spec.Facts().Output()
	if err != nil {
		panic(err)
	}
	return out
}
