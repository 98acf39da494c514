// Command deploy runs one Pulumi operation on an obs-stack stack through the Automation API:
//
//	go run ./cmd/deploy -stack dev -action up
//
// Actions: up, preview, destroy, refresh, recover (after an interrupted up: cancel the stale
// lock and refresh, clearing pending creates), outputs. Set OBS_STACK_RENDER_DIR to write
// manifests to a folder instead of applying them (use a separate PULUMI_BACKEND_URL).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"obs-stack/deploy"
)

func main() {
	stack := flag.String("stack", envOr("STACK", "dev"), "stack name")
	action := flag.String("action", "up", "up | preview | destroy | refresh | recover | outputs")
	dir := flag.String("dir", ".", "project folder (Pulumi.yaml and stack files)")
	expectNoChanges := flag.Bool("expect-no-changes", false, "fail a preview or up that would change anything")
	flag.Parse()
	if err := run(*dir, *stack, *action, *expectNoChanges); err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run(dir, stackName, action string, expectNoChanges bool) error {
	ctx := context.Background()
	s, err := deploy.Open(ctx, deploy.Options{ProjectDir: dir, Stack: stackName})
	if err != nil {
		return err
	}
	out := os.Stdout
	switch action {
	case "up":
		opts := []optup.Option{optup.ProgressStreams(out)}
		if expectNoChanges {
			opts = append(opts, optup.ExpectNoChanges())
		}
		if _, err := s.Up(ctx, opts...); err != nil {
			return fmt.Errorf("up %s: %w", stackName, err)
		}
		return printOutputs(ctx, s)
	case "preview":
		opts := []optpreview.Option{optpreview.ProgressStreams(out), optpreview.Diff()}
		if expectNoChanges {
			opts = append(opts, optpreview.ExpectNoChanges())
		}
		_, err := s.Preview(ctx, opts...)
		return err
	case "destroy":
		_, err := s.Destroy(ctx, optdestroy.ProgressStreams(out))
		return err
	case "refresh":
		_, err := s.Refresh(ctx, optrefresh.ProgressStreams(out))
		return err
	case "recover":
		// After an interrupted up: drop the stale lock, then reconcile state with the cluster,
		// forgetting creates that never finished. A following up converges.
		if err := s.Cancel(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "deploy: cancel:", err, "(continuing)")
		}
		_, err := s.Refresh(ctx, optrefresh.ProgressStreams(out), optrefresh.ClearPendingCreates())
		return err
	case "outputs":
		return printOutputs(ctx, s)
	}
	return fmt.Errorf("unknown action %q", action)
}

func printOutputs(ctx context.Context, s auto.Stack) error {
	outputs, err := s.Outputs(ctx)
	if err != nil {
		return fmt.Errorf("reading outputs: %w", err)
	}
	shown := map[string]any{}
	for k, v := range outputs {
		if v.Secret {
			shown[k] = "[secret]"
			continue
		}
		shown[k] = v.Value
	}
	b, err := json.MarshalIndent(shown, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println("Stack outputs:")
	fmt.Println(string(b))
	return nil
}
