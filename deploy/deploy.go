// Package deploy drives the obs-stack program through the Pulumi Automation API with an
// inline program: only the pulumi CLI and the provider plugins are needed, no Go language
// host. scripts/up.sh and the integration tests use it. It takes the program as an option, so
// that its own tests do not link the program and every Pulumi Kubernetes type (issue 11).
package deploy

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Options of one stack operation.
type Options struct {
	// ProjectDir holds Pulumi.yaml and the stack files (Pulumi.<stack>.yaml).
	ProjectDir string
	// Stack name: dev, prod or any stack with an obs-stack:preset key.
	Stack string
	// Env is added to the Pulumi CLI's environment (KUBECONFIG, PULUMI_BACKEND_URL, ...) and
	// takes precedence over the process's environment.
	Env map[string]string
	// Program is the inline program for a project folder: program.RunIn.
	Program func(projectDir string) pulumi.RunFunc
}

// Open selects (or creates) the stack with the inline program. State goes to a local file
// backend under ProjectDir/.state unless PULUMI_BACKEND_URL is set (in Env or the process).
// Secrets: see passphrase.
func Open(ctx context.Context, o Options) (auto.Stack, error) {
	if o.Program == nil {
		return auto.Stack{}, fmt.Errorf("deploy.Options.Program is nil: pass program.RunIn")
	}
	dir, err := filepath.Abs(o.ProjectDir)
	if err != nil {
		return auto.Stack{}, fmt.Errorf("resolving project dir: %w", err)
	}
	env := map[string]string{
		"PULUMI_SKIP_UPDATE_CHECK": "true",
		// Plugins come from PATH (toolchain/build.sh) or an install; never downloaded mid-run.
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
	}
	lookup := func(k string) (string, bool) {
		if v, ok := o.Env[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}
	backend, _ := lookup("PULUMI_BACKEND_URL")
	if backend == "" {
		backend = "file://" + filepath.Join(dir, StateDir) // set below, as every local backend is
	}
	for k, v := range o.Env {
		env[k] = v
	}
	if state := filepath.Join(dir, StateDir); isLocalBackend(backend, state) {
		folder, _, _ := strings.Cut(strings.TrimPrefix(backend, "file://"), "?")
		if err := os.MkdirAll(folder, 0o700); err != nil {
			return auto.Stack{}, fmt.Errorf("creating local state folder: %w", err)
		}
		env["PULUMI_BACKEND_URL"] = withoutSidecars(backend)
	}
	if err := passphrase(dir, o.Stack, backend, lookup, env); err != nil {
		return auto.Stack{}, err
	}
	// An inline program gets no root directory (auto's inline runner builds pulumi.RunInfo
	// without it, whatever auto.WorkDir says), so the program is told where the stack files are.
	s, err := auto.UpsertStackInlineSource(ctx, o.Stack, "obs-stack", o.Program(dir), auto.WorkDir(dir), auto.EnvVars(env))
	if err != nil {
		return auto.Stack{}, fmt.Errorf("selecting stack %s: %w", o.Stack, err)
	}
	return s, nil
}

// withoutSidecars turns off the metadata sidecar files of gocloud's fileblob, which Pulumi's
// file backend stores state through (metadata=skip). fileblob replaces a blob atomically (a
// temporary file renamed over it) but first truncates and rewrites the blob's "<name>.attrs"
// sidecar in place: an engine killed between the two (a lost CI runner, Ctrl-C twice) leaves
// an empty prod.json.attrs, and every later command on the stack fails with "failed to load
// checkpoint: EOF" (it happened once to the integration suite's interrupted up). The file
// backend needs nothing from the sidecars: without them every write is the atomic rename.
func withoutSidecars(backend string) string {
	u, err := url.Parse(backend)
	if err != nil || u.Query().Has("metadata") {
		return backend
	}
	if strings.Contains(backend, "?") {
		return backend + "&metadata=skip"
	}
	return backend + "?metadata=skip"
}

// Destroy destroys the stack only once the engine's own destroy preview passes. The Automation
// API's Destroy runs with --skip-preview: on a stack with protected resources it deletes every
// unprotected one before it refuses at the first protected one (measured on prod by the
// integration suite: 70 of its resources gone, the data kept, the stack down). The preview
// refuses before anything is deleted; the error names the protected resources and the fix.
func Destroy(ctx context.Context, s auto.Stack, opts ...optdestroy.Option) (auto.DestroyResult, error) {
	var out bytes.Buffer
	if _, err := s.PreviewDestroy(ctx, optdestroy.ProgressStreams(&out)); err != nil {
		refused := fmt.Sprintf("destroy of %s refused at its preview, nothing was deleted", s.Name())
		if protected := protectedResources(out.String()); len(protected) > 0 {
			return auto.DestroyResult{}, fmt.Errorf("%s: %d resources are protected (obs-stack:cluster.protectData = true): %s; "+
				"fix: pulumi config set --stack %s --path obs-stack:cluster.protectData false, run up once, then destroy",
				refused, len(protected), strings.Join(protected, ", "), s.Name())
		}
		return auto.DestroyResult{}, fmt.Errorf("%s: %w", refused, err)
	}
	return s.Destroy(ctx, opts...)
}

// protectedURN is the engine's refusal to delete a protected resource, in a destroy preview.
var protectedURN = regexp.MustCompile(`resource "(urn:pulumi:[^"]+)" cannot be deleted`)

// protectedResources names, as "Kind name", the resources the preview output says are protected.
func protectedResources(previewOutput string) []string {
	var names []string
	for _, m := range protectedURN.FindAllStringSubmatch(previewOutput, -1) {
		parts := strings.Split(m[1], "::") // urn:pulumi:<stack>, <project>, <parent types>$<type>, <name>
		name, typ := parts[len(parts)-1], parts[len(parts)-2]
		kind := typ[strings.LastIndexAny(typ, "$:")+1:]
		if n := kind + " " + name; !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}
