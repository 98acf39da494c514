package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Outputs reads a deployed stack's outputs (secrets in plain text: kept in memory, never
// printed); cmd/deploy reads them through the Automation API.
type Outputs func(ctx context.Context) (map[string]any, error)

// RunStack is `go run ./cmd/deploy -action verify`: it checks the pipeline of the deployed
// stack stackName, whose outputs read reads. The nodes are checked before the outputs are
// read, so a simulated plane is refused at once.
func RunStack(out io.Writer, cluster Cluster, stackName string, read Outputs, deadline time.Duration) error {
	ctx := context.Background()
	load := func(ctx context.Context) (Target, error) {
		values, err := read(ctx)
		if err != nil {
			return Target{}, fmt.Errorf("reading the outputs of %s: %w", stackName, err)
		}
		return FromOutputs(stackName, values)
	}
	fmt.Fprintf(out, "verify %s: the pipeline end to end (each wait for a line up to %s)\n", stackName, deadline)
	return Run(ctx, cluster, load, Options{Out: out, Deadline: deadline})
}

// Summary is the last line of a failed verify: every failed step has printed its ✗ line
// with the reason, so only the count is repeated (or the refusal of a simulated plane).
func Summary(err error) string {
	if errors.Is(err, ErrSimulated) {
		return err.Error()
	}
	n := 1
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		n = len(joined.Unwrap())
	}
	return fmt.Sprintf("%d step(s) failed, each on a ✗ line above", n)
}
