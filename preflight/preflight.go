// Package preflight is everything the program does before it registers a resource: read the
// stack's config (every key, so that misspelt ones are reported), merge and validate it,
// size against the live nodes when asked, compare with the project's other stacks, and refuse
// changes that would lose data against the stack's last update.
package preflight

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/stacks"
	"obs-stack/stacks/load"
)

// Options of Check.
type Options struct {
	// ProjectDir holds the stack files, for a program that runs without a root directory
	// (an inline Automation API program). Default: the context's root directory, else ".".
	ProjectDir string
	// Rendering is true when manifests are written instead of applied: no cluster to ask.
	Rendering bool
}

// Check loads and validates the stack's spec and guards against data-losing changes. It
// returns every problem at once; a spec that fails here must register nothing.
func Check(ctx *pulumi.Context, o Options) (stacks.Valid, error) {
	valid, err := LoadSpec(ctx, o)
	if errors.Is(err, load.ErrNoPreset) {
		return valid, err
	}
	if changeErr := CheckChanges(ctx, valid); changeErr != nil {
		err = errors.Join(err, changeErr)
	}
	return valid, err
}

// LoadSpec reads the stack's config, merges it onto the preset and validates the result.
// Warnings go to the Pulumi log; the error names every bad key at once, and the spec is
// returned next to it (a key that failed to load keeps its preset value) so that the caller
// can run the remaining checks too; only a spec without error carries the parsed values.
func LoadSpec(ctx *pulumi.Context, o Options) (stacks.Valid, error) {
	dir := projectDir(ctx, o)
	config := map[string]string{}
	for _, key := range configKeys(ctx, dir) {
		if v, ok := ctx.GetConfig(key); ok {
			config[key] = v
		}
	}
	spec, loadErr := load.Load(ctx.Stack(), config)
	if errors.Is(loadErr, load.ErrNoPreset) {
		return stacks.Valid{Spec: spec}, fmt.Errorf("stack %q cannot be deployed:\n%w", ctx.Stack(), loadErr)
	}
	var errs []error
	if loadErr != nil {
		errs = append(errs, loadErr)
	}
	if spec.Cluster.UseLiveNodes && !o.Rendering {
		if err := useLiveNodes(&spec.Cluster); err != nil {
			errs = append(errs, fmt.Errorf("obs-stack:cluster.useLiveNodes = true: %w; fix: make the kube context reachable (kubectl get nodes), "+
				"or set obs-stack:cluster.useLiveNodes false and describe the nodes in obs-stack:cluster.nodes, nodeCPU and nodeMemory", err))
		} else if err := ctx.Log.Info(fmt.Sprintf("sizing against the live cluster: %d schedulable node(s) of at least %s CPU / %s",
			spec.Cluster.Nodes, spec.Cluster.NodeCPU, spec.Cluster.NodeMemory), nil); err != nil {
			return stacks.Valid{Spec: spec}, err
		}
	}
	if spec.Monitoring.Enabled && spec.Cluster.UseLiveNodes && !o.Rendering {
		if err := monitoringCRDs(spec.Cluster); err != nil {
			errs = append(errs, err)
		}
	}
	if spec.Cluster.UseLiveNodes && !o.Rendering {
		if err := kedaCRD(spec); err != nil {
			errs = append(errs, err)
		}
	}
	if err := spec.CheckSiblings(ctx.Stack(), siblings(ctx, dir)); err != nil {
		errs = append(errs, err)
	}
	valid, warnings, err := spec.Validate()
	for _, w := range warnings {
		if logErr := ctx.Log.Warn(w, nil); logErr != nil {
			return stacks.Valid{Spec: spec}, errors.Join(err, logErr)
		}
	}
	if err != nil {
		errs = append(errs, err)
	} else if spec.Cluster.CheckSecrets && !o.Rendering {
		errs = append(errs, checkSecrets(spec.Cluster, valid.Storage)...)
	}
	if len(errs) > 0 {
		return stacks.Valid{Spec: spec}, fmt.Errorf("stack %q cannot be deployed:\n%w", ctx.Stack(), errors.Join(errs...))
	}
	return valid, nil
}

// siblings are the project's other stacks, as their stack files describe them (a file that
// does not load is that stack's own problem, reported when it is previewed).
func siblings(ctx *pulumi.Context, dir string) map[string]stacks.Spec {
	files, _ := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml")) // the pattern is well-formed
	out := map[string]stacks.Spec{}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml")
		if name == ctx.Stack() {
			continue
		}
		config, err := ReadStackFile(filepath.Dir(f), name)
		if err != nil {
			continue
		}
		if spec, err := load.Load(name, config); !errors.Is(err, load.ErrNoPreset) {
			out[name] = spec
		}
	}
	return out
}

func projectDir(ctx *pulumi.Context, o Options) string {
	switch {
	case ctx.RootDirectory() != "":
		return ctx.RootDirectory()
	case o.ProjectDir != "":
		return o.ProjectDir
	}
	return "."
}

// configKeys are the keys to read: the known sections, plus every key the engine may hand
// over, so that a misspelt section (obs-stack:lokki) or a dotted key (obs-stack:loki.mode) is
// read and checked wherever it was set. The Go SDK can look a key up but not list them, so the
// keys are gathered from where config comes from: the stack file, the project file's config
// (Pulumi.yaml), and PULUMI_CONFIG, in which the language host passes the whole config the
// engine resolved (ESC environments and --config-file included) to a program run by the CLI.
func configKeys(ctx *pulumi.Context, dir string) []string {
	keys := []string{load.PresetKey}
	for _, s := range load.Sections() {
		keys = append(keys, stacks.Namespace+":"+s)
	}
	// A stack or project file Pulumi could not parse never gets this far, so errors mean no file.
	file, _ := ReadStackFile(dir, ctx.Stack())
	for k := range file {
		keys = append(keys, k)
	}
	if project, err := workspace.LoadProject(filepath.Join(dir, "Pulumi.yaml")); err == nil {
		for k := range project.Config {
			if !strings.Contains(k, ":") {
				k = stacks.Namespace + ":" + k // a project key without a namespace is the project's
			}
			keys = append(keys, k)
		}
	}
	var engine map[string]any
	if json.Unmarshal([]byte(os.Getenv(pulumi.EnvConfig)), &engine) == nil {
		for k := range engine {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// CheckChanges compares the spec with what the last update of this stack recorded (its
// dataFacts output, read through a reference to the stack itself) and refuses changes that
// would lose data or that the deployed stack cannot apply. Nothing of the cluster is touched
// before this passes.
func CheckChanges(ctx *pulumi.Context, spec stacks.Valid) error {
	self := ctx.Organization() + "/" + ctx.Project() + "/" + ctx.Stack()
	ref, err := pulumi.NewStackReference(ctx, "previous-update", &pulumi.StackReferenceArgs{Name: pulumi.String(self)})
	if err != nil {
		return fmt.Errorf("reading the previous update of %s: %w", self, err)
	}
	details, err := ref.GetOutputDetails("dataFacts")
	if err != nil {
		return fmt.Errorf("reading the previous update's dataFacts: %w", err)
	}
	prev, err := stacks.FactsFromOutput(details.Value)
	if err != nil {
		return err
	}
	if err := spec.CheckChanges(prev, time.Now()); err != nil {
		return fmt.Errorf("stack %q: this change would lose data or cannot be applied to the deployed stack:\n%w", ctx.Stack(), err)
	}
	return nil
}

// monitoringCRDs asks the cluster (as useLiveNodes does) whether the Prometheus Operator's
// CRDs exist: without them the first apply of a PodMonitor fails half-way through an update.
func monitoringCRDs(c stacks.Cluster) error {
	return requireCRDs(c, MonitoringCRDs, "monitoring.enabled", "the Prometheus Operator",
		"install kube-prometheus-stack or the Prometheus Operator's CRDs first, or set obs-stack:monitoring.enabled false")
}

// requireCRDs refuses key when the live cluster lacks any of crds: what names the software
// that brings them, and fix how to get it or do without.
func requireCRDs(c stacks.Cluster, crds []string, key, what, fix string) error {
	out, err := kubectl(c, append([]string{"get", "crd"}, append(slices.Clone(crds), "-o", "json", "--ignore-not-found")...)...)
	if err == nil {
		var missing []string
		if missing, err = MissingCRDs(crds, out); err == nil && len(missing) > 0 {
			return &stacks.Problem{Key: key, Value: true,
				Reason: fmt.Sprintf("the cluster (cluster.useLiveNodes) has no %s: %s is not installed, and the apply would fail with \"no matches for kind\"", strings.Join(missing, ", "), what),
				Fix:    fix}
		}
	}
	if err != nil {
		return &stacks.Problem{Key: key, Value: true, Reason: "cannot read the cluster's CRDs: " + err.Error(),
			Fix: "make the kube context reachable (kubectl get crd), or set obs-stack:cluster.useLiveNodes false"}
	}
	return nil
}

// kedaCRD asks the cluster (as useLiveNodes does) for KEDA's ScaledObject CRD when a target
// scales on the query scheduler's queue: without it the apply fails half-way.
func kedaCRD(spec stacks.Spec) error {
	for _, t := range spec.Loki.Targets() {
		if t.Workload.Autoscaling.OnQueue {
			return requireCRDs(spec.Cluster, []string{KEDACRD}, "loki."+t.Key+".autoscaling.onQueue", "KEDA",
				"install KEDA (keda.sh/docs/latest/deploy) first, or scale on CPU: set it to false")
		}
	}
	return nil
}

// kubectl runs kubectl in the provider's context and returns its output.
func kubectl(c stacks.Cluster, args ...string) ([]byte, error) {
	args = append(args, "--request-timeout=10s")
	if c.KubeContext != "" {
		args = append(args, "--context", c.KubeContext)
	}
	out, err := exec.Command("kubectl", args...).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil, fmt.Errorf("kubectl %s failed: %s", args[0]+" "+args[1], strings.TrimSpace(string(exit.Stderr)))
		}
		return nil, fmt.Errorf("running kubectl: %w", err)
	}
	return out, nil
}

// useLiveNodes asks the cluster (through kubectl, in the same kubeconfig and context as the
// provider) which nodes it has.
func useLiveNodes(c *stacks.Cluster) error {
	out, err := kubectl(*c, "get", "nodes", "-o", "json")
	if err != nil {
		return err
	}
	return ApplyLiveNodes(c, out)
}
