package stacks

import "fmt"

// PodGroup is one set of identical pods the stack runs.
type PodGroup struct {
	Component string    `json:"component"`
	Replicas  int       `json:"replicas"`
	Resources Resources `json:"resources"`
	// Storage is the PVC size per pod; empty for stateless pods.
	Storage string `json:"storage,omitempty"`
}

// Sizing lists the Loki pods the spec runs (targets of its mode and enabled caches).
func (s Spec) Sizing() []PodGroup {
	var groups []PodGroup
	for _, t := range s.Loki.Targets() {
		g := PodGroup{Component: "loki-" + t.Name, Replicas: t.Workload.Replicas, Resources: t.Workload.Resources}
		if t.Stateful {
			g.Storage = t.Workload.Storage
		}
		groups = append(groups, g)
	}
	for _, c := range []struct {
		name  string
		cache Cache
	}{{"loki-chunks-cache", s.Loki.Caches.ChunksCache}, {"loki-results-cache", s.Loki.Caches.ResultsCache}} {
		if c.cache.Enabled {
			mem := fmt.Sprintf("%dMi", CacheMemoryMi(c.cache.SizeMB))
			q := Quantities{CPU: c.cache.CPU, Memory: mem}
			groups = append(groups, PodGroup{Component: c.name, Replicas: c.cache.Replicas, Resources: Resources{Requests: q, Limits: q}})
		}
	}
	return groups
}
