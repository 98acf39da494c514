package stacks_test

import (
	. "obs-stack/stacks"
	"reflect"
	"testing"
)

// Every mode's table must be self-consistent: each target sized by a section of loki, and
// every route, ring page and helper served by a target the mode runs.
func TestTopologiesNameTheirOwnTargets(t *testing.T) {
	for mode, topo := range Topologies {
		runs := map[string]bool{}
		for _, kind := range topo.Targets {
			if _, ok := FieldByKey(reflect.ValueOf(Loki{}), kind.Key); !ok {
				t.Errorf("%s: target %s has no section loki.%s", mode, kind.Name, kind.Key)
			}
			runs[kind.Name] = true
		}
		named := map[string]string{"scheduler": topo.Scheduler, "index gateway": topo.IndexGateway, "compactor": topo.Compactor, "tail proxy": topo.TailProxy}
		for what, table := range map[string]map[string]string{"route": topo.Routes, "ring page": topo.RingPages} {
			for k, v := range table {
				named[what+" "+k] = v
			}
		}
		for what, name := range named {
			if name != "" && !runs[name] {
				t.Errorf("%s: %s is served by %q, which the mode does not run", mode, what, name)
			}
		}
		if len(topo.Routes) != 5 {
			t.Errorf("%s: %d route groups, want 5", mode, len(topo.Routes))
		}
	}
}
