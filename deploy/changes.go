package deploy

import (
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// changesSomething: every operation but "same" and "read" changes the stack. The one read is
// the stack's own previous outputs (the safe-change checks' stack reference).
func changesSomething(op apitype.OpType) bool {
	return op != apitype.OpSame && op != apitype.OpRead
}

// Changes keeps, of a change summary (a preview's ChangeSummary, an update's ResourceChanges),
// the operations that change something, with their counts.
func Changes[K ~string](summary map[K]int) map[K]int {
	out := map[K]int{}
	for op, n := range summary {
		if changesSomething(apitype.OpType(op)) && n > 0 {
			out[op] = n
		}
	}
	return out
}

// UpChanges is Changes of an update's summary; an update that recorded none changed nothing.
func UpChanges(summary auto.UpdateSummary) map[string]int {
	if summary.ResourceChanges == nil {
		return map[string]int{}
	}
	return Changes(*summary.ResourceChanges)
}
