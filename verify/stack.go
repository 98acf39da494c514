package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"obs-stack/deploy"
)

// RunStack is `go run ./cmd/deploy -action verify`: it checks the pipeline of the deployed
// stack stackName of the project in dir, reading its outputs through deploy.Open. The nodes
// are checked before the stack is opened, so a simulated plane is refused at once.
func RunStack(out io.Writer, cluster Cluster, dir, stackName string, deadline time.Duration) error {
	ctx := context.Background()
	load := func(ctx context.Context) (Target, error) {
		s, err := deploy.Open(ctx, deploy.Options{ProjectDir: dir, Stack: stackName})
		if err != nil {
			return Target{}, err
		}
		outputs, err := s.Outputs(ctx)
		if err != nil {
			return Target{}, fmt.Errorf("reading outputs: %w", err)
		}
		values := make(map[string]any, len(outputs))
		for k, v := range outputs {
			values[k] = v.Value // secrets in plain text, kept in memory and never printed
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
