// Command deploy runs one Pulumi operation on an obs-stack stack through the Automation API:
//
//	go run ./cmd/deploy -stack dev -action up
//
// Output: a compact view (one line per changed resource, warnings and errors in full, a live
// status line on a terminal, a summary); -verbose shows Pulumi's full progress log instead.
//
// Actions: up, preview, destroy, refresh, recover (after an interrupted up: cancel the stale
// lock and refresh, clearing pending creates), outputs, verify (on a real cluster after up:
// the pipeline end to end, see package verify; refused on kwok's simulated plane). Set OBS_STACK_RENDER_DIR to write
// manifests to a folder instead of applying them (use a separate PULUMI_BACKEND_URL).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"obs-stack/deploy"
	"obs-stack/program"
	"obs-stack/verify"
)

func main() {
	stack := flag.String("stack", envOr("STACK", "dev"), "stack name")
	action := flag.String("action", "up", "up | preview | destroy | refresh | recover | outputs | verify")
	dir := flag.String("dir", ".", "project folder (Pulumi.yaml and stack files)")
	expectNoChanges := flag.Bool("expect-no-changes", false, "fail a preview or up that would change anything")
	verbose := flag.Bool("verbose", false, "show Pulumi's full progress log instead of the compact view")
	deadline := flag.Duration("verify-deadline", 2*time.Minute, "verify: how long each wait for a line in Loki may take")
	flag.Parse()
	if *action == "verify" {
		outputs := func(ctx context.Context) (map[string]any, error) {
			s, err := deploy.Open(ctx, deploy.Options{ProjectDir: *dir, Stack: *stack, Program: program.RunIn})
			if err != nil {
				return nil, err
			}
			out, err := s.Outputs(ctx)
			if err != nil {
				return nil, err
			}
			values := make(map[string]any, len(out))
			for k, v := range out {
				values[k] = v.Value
			}
			return values, nil
		}
		if err := verify.RunStack(os.Stdout, verify.Kubectl{}, *stack, outputs, *deadline); err != nil {
			// Each failed step has printed its ✗ line with the reason; this is the summary.
			fmt.Fprintln(os.Stderr, "deploy: verify failed:", verify.Summary(err))
			os.Exit(1)
		}
		return
	}
	if err := run(*dir, *stack, *action, *expectNoChanges, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", deploy.Compact(err))
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run(dir, stackName, action string, expectNoChanges, verbose bool) error {
	ctx := context.Background()
	s, err := deploy.Open(ctx, deploy.Options{ProjectDir: dir, Stack: stackName, Program: program.RunIn})
	if err != nil {
		return err
	}
	out := os.Stdout
	tty := deploy.IsTerminal(out)
	color := map[bool]string{true: "always", false: "never"}[tty]
	var d *deploy.Display
	if !verbose {
		d = deploy.NewDisplay(out, tty, action+" "+stackName)
	}
	// done ends the compact view with its summary.
	done := func(err error) error {
		if d != nil {
			d.Finish(err)
		}
		return err
	}
	switch action {
	case "up":
		opts := []optup.Option{optup.Color(color), optup.SuppressOutputs()} // outputs: printed below, secrets hidden
		if verbose {
			opts = append(opts, optup.ProgressStreams(out))
		} else {
			opts = append(opts, optup.EventStreams(d.Events()), optup.SuppressProgress())
		}
		if expectNoChanges {
			opts = append(opts, optup.ExpectNoChanges())
		}
		if _, err := s.Up(ctx, opts...); done(err) != nil {
			return fmt.Errorf("up %s: %w", stackName, err)
		}
		return printOutputs(ctx, s)
	case "preview":
		opts := []optpreview.Option{optpreview.Color(color)}
		if verbose {
			opts = append(opts, optpreview.ProgressStreams(out), optpreview.Diff())
		} else {
			opts = append(opts, optpreview.EventStreams(d.Events()), optpreview.SuppressProgress())
		}
		if expectNoChanges {
			opts = append(opts, optpreview.ExpectNoChanges())
		}
		_, err := s.Preview(ctx, opts...)
		return done(err)
	case "destroy":
		opts := []optdestroy.Option{optdestroy.Color(color)}
		if verbose {
			opts = append(opts, optdestroy.ProgressStreams(out))
		} else {
			opts = append(opts, optdestroy.EventStreams(d.Events()), optdestroy.SuppressProgress())
		}
		_, err := deploy.Destroy(ctx, s, opts...)
		return done(err)
	case "refresh", "recover":
		if action == "recover" {
			// After an interrupted up: drop the stale lock, then reconcile state with the cluster,
			// forgetting creates that never finished. A following up converges.
			if err := s.Cancel(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "deploy: cancel:", deploy.Compact(err), "(continuing)")
			}
		}
		opts := []optrefresh.Option{optrefresh.Color(color)}
		if action == "recover" {
			opts = append(opts, optrefresh.ClearPendingCreates())
		}
		if verbose {
			opts = append(opts, optrefresh.ProgressStreams(out))
		} else {
			opts = append(opts, optrefresh.EventStreams(d.Events()), optrefresh.SuppressProgress())
		}
		_, err := s.Refresh(ctx, opts...)
		return done(err)
	case "outputs":
		if d != nil {
			close(d.Events())
		}
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
