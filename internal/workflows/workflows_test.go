package workflows

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"golang.org/x/mod/modfile"
	"sigs.k8s.io/yaml"

	"obs-stack/stacks"
)

// root is the repository, from this package's directory (where go test runs).
const root = "../.."

// TestWorkflowsLint runs actionlint over .github/workflows.
func TestWorkflowsLint(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, ".github/workflows/*.yml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("want the preview and deploy workflows, found %v (%v)", files, err)
	}
	linter, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := linter.LintFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s:%d:%d: %s [%s]", p.Filepath, p.Line, p.Column, p.Message, p.Kind)
	}
}

// workflow is the part of a GitHub Actions workflow file these tests read.
type workflow struct {
	// YAML 1.1, which sigs.k8s.io/yaml reads, takes a bare `on` key for the boolean true;
	// GitHub reads it as "on". Either spelling lands in one of these.
	On          map[string]trigger `json:"on"`
	OnAsBool    map[string]trigger `json:"true"`
	Permissions map[string]string  `json:"permissions"`
	Concurrency struct {
		Group            string `json:"group"`
		CancelInProgress *bool  `json:"cancel-in-progress"`
	} `json:"concurrency"`
	Jobs map[string]job `json:"jobs"`
}

type trigger struct {
	Branches []string `json:"branches"`
}

type job struct {
	Environment string            `json:"environment"`
	Env         map[string]string `json:"env"`
	Strategy    struct {
		FailFast    *bool               `json:"fail-fast"`
		MaxParallel int                 `json:"max-parallel"`
		Matrix      map[string][]string `json:"matrix"`
	} `json:"strategy"`
	Steps []step `json:"steps"`
}

type step struct {
	Name string            `json:"name"`
	If   string            `json:"if"`
	Uses string            `json:"uses"`
	Run  string            `json:"run"`
	With map[string]any    `json:"with"`
	Env  map[string]string `json:"env"`
}

func readWorkflow(t *testing.T, path string) workflow {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(raw, &w); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if w.On == nil {
		w.On = w.OnAsBool
	}
	return w
}

// stackNames are the stacks that have a stack file, sorted.
func stackNames(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "Pulumi.*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml"))
	}
	slices.Sort(names)
	if len(names) < 2 {
		t.Fatalf("want the dev and prod stack files, found %v", files)
	}
	return names
}

// onlyJob returns the workflow's one job, failing when there are others.
func onlyJob(t *testing.T, w workflow, id string) job {
	t.Helper()
	j, ok := w.Jobs[id]
	if !ok || len(w.Jobs) != 1 {
		t.Fatalf("want exactly job %q, jobs are %v", id, slices.Sorted(maps.Keys(w.Jobs)))
	}
	return j
}

// pulumiStep returns the index of the job's one pulumi/actions step.
func pulumiStep(t *testing.T, j job) int {
	t.Helper()
	found := -1
	for i, s := range j.Steps {
		if action, version, ok := strings.Cut(s.Uses, "@"); action == "pulumi/actions" {
			if !ok || version == "" {
				t.Errorf("step %d: pulumi/actions without a pinned version", i)
			}
			if found >= 0 {
				t.Errorf("steps %d and %d both run pulumi/actions", found, i)
			}
			found = i
		}
	}
	if found < 0 {
		t.Fatalf("no step uses pulumi/actions: %+v", j.Steps)
	}
	return found
}

// checkInputs compares a step's `with:` values (as the runner reads them, strings) with want.
func checkInputs(t *testing.T, s step, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, ok := s.With[k]
		if !ok {
			t.Errorf("%s: with.%s missing, want %q", s.Uses, k, v)
		} else if fmt.Sprint(got) != v {
			t.Errorf("%s: with.%s = %v, want %q", s.Uses, k, got, v)
		}
	}
}

func TestPreviewWorkflowPreviewsEveryStackOnPullRequests(t *testing.T) {
	w := readWorkflow(t, filepath.Join(root, ".github/workflows/preview.yml"))
	if pr, ok := w.On["pull_request"]; !ok || !slices.Equal(pr.Branches, []string{"main"}) || len(w.On) != 1 {
		t.Errorf("on = %+v, want pull_request on main only", w.On)
	}
	if w.Permissions["pull-requests"] != "write" {
		t.Errorf("permissions = %v: commenting on the PR needs pull-requests: write", w.Permissions)
	}
	j := onlyJob(t, w, "preview")
	if got, want := slices.Sorted(slices.Values(j.Strategy.Matrix["stack"])), stackNames(t); !slices.Equal(got, want) {
		t.Errorf("matrix.stack = %v, want every stack file's stack %v", j.Strategy.Matrix["stack"], want)
	}
	if j.Strategy.FailFast == nil || *j.Strategy.FailFast {
		t.Error("strategy.fail-fast must be false: one stack's failed preview must not hide the others'")
	}
	at := pulumiStep(t, j)
	tests := slices.IndexFunc(j.Steps, func(s step) bool { return strings.TrimSpace(s.Run) == "go test ./..." })
	if tests < 0 || tests > at {
		t.Errorf("the unit tests (go test ./...) must run before the preview, steps %+v", j.Steps)
	}
	s := j.Steps[at]
	checkInputs(t, s, map[string]string{
		"command":       "preview",
		"stack-name":    "${{ matrix.stack }}",
		"comment-on-pr": "true",
		"github-token":  "${{ secrets.GITHUB_TOKEN }}",
	})
	if s.Env["PULUMI_ACCESS_TOKEN"] != "${{ secrets.PULUMI_ACCESS_TOKEN }}" {
		t.Errorf("env = %v, want PULUMI_ACCESS_TOKEN from the secret", s.Env)
	}
}

func TestDeployWorkflowDeploysDevThenProdFromMain(t *testing.T) {
	w := readWorkflow(t, filepath.Join(root, ".github/workflows/deploy.yml"))
	if push, ok := w.On["push"]; !ok || !slices.Equal(push.Branches, []string{"main"}) || len(w.On) != 1 {
		t.Errorf("on = %+v, want push to main only", w.On)
	}
	if w.Concurrency.CancelInProgress == nil || *w.Concurrency.CancelInProgress {
		t.Error("concurrency.cancel-in-progress must be false: a cancelled up leaves a stack half-updated")
	}
	j := onlyJob(t, w, "up")
	if got := j.Strategy.Matrix["stack"]; !slices.Equal(got, []string{"dev", "prod"}) {
		t.Errorf("matrix.stack = %v, want [dev prod] in that order", got)
	}
	if got, want := slices.Sorted(slices.Values(j.Strategy.Matrix["stack"])), stackNames(t); !slices.Equal(got, want) {
		t.Errorf("matrix.stack = %v, want every stack file's stack %v", got, want)
	}
	if j.Strategy.MaxParallel != 1 {
		t.Errorf("max-parallel = %d, want 1 so prod waits for dev", j.Strategy.MaxParallel)
	}
	if j.Environment != "${{ matrix.stack }}" {
		t.Errorf("environment = %q, want the stack's, so prod's protection rules apply", j.Environment)
	}
	s := j.Steps[pulumiStep(t, j)]
	checkInputs(t, s, map[string]string{"command": "up", "stack-name": "${{ matrix.stack }}"})
	if s.Env["PULUMI_ACCESS_TOKEN"] != "${{ secrets.PULUMI_ACCESS_TOKEN }}" {
		t.Errorf("env = %v, want PULUMI_ACCESS_TOKEN from the secret", s.Env)
	}
}

func TestE2EWorkflowDeploysVerifiesAndAlwaysDestroysOnKind(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, ".github/workflows/e2e.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "#") || !strings.Contains(string(raw), "cannot run on our machines") {
		t.Error("e2e.yml must say at its top that it cannot run on our machines (no container runtime)")
	}
	w := readWorkflow(t, filepath.Join(root, ".github/workflows/e2e.yml"))
	if pr, ok := w.On["pull_request"]; !ok || !slices.Equal(pr.Branches, []string{"main"}) || len(w.On) != 1 {
		t.Errorf("on = %+v, want pull_request on main only", w.On)
	}
	j := onlyJob(t, w, "e2e")
	namespace := stacks.Presets["dev"]().Cluster.Namespace
	// The CRDs the workflow installs are those of the typed API the program builds with.
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := modfile.Parse("go.mod", goMod, nil)
	if err != nil {
		t.Fatal(err)
	}
	var api string
	for _, r := range mod.Require {
		if r.Mod.Path == "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring" {
			api = r.Mod.Version
		}
	}
	if want := "github.com/prometheus-operator/prometheus-operator@" + api; api == "" || j.Env["PROMETHEUS_OPERATOR_MODULE"] != want {
		t.Errorf("PROMETHEUS_OPERATOR_MODULE = %q, want %q (the version of the typed API in go.mod)", j.Env["PROMETHEUS_OPERATOR_MODULE"], want)
	}
	// The steps that matter, in this order; each is found by what it runs.
	order := []struct {
		what string
		is   func(step) bool
	}{
		{"a kind cluster (helm/kind-action, pinned)", func(s step) bool {
			action, version, _ := strings.Cut(s.Uses, "@")
			return action == "helm/kind-action" && version != ""
		}},
		{"the Prometheus Operator CRDs of its Go module, applied server-side", func(s step) bool {
			return strings.Contains(s.Run, "kubectl apply --server-side -f") && strings.Contains(s.Run, `go mod download -json "$PROMETHEUS_OPERATOR_MODULE"`) &&
				strings.Contains(s.Run, "/example/prometheus-operator-crd")
		}},
		{"./scripts/up.sh (dev)", func(s step) bool { return strings.TrimSpace(s.Run) == "./scripts/up.sh" }},
		{"every pod of " + namespace + " Ready", func(s step) bool {
			return strings.HasPrefix(s.Run, "kubectl wait --for=condition=Ready pod") && strings.Contains(s.Run, "-n "+namespace+" ")
		}},
		{"ACTION=verify ./scripts/up.sh", func(s step) bool { return strings.TrimSpace(s.Run) == "ACTION=verify ./scripts/up.sh" }},
		{"ACTION=destroy ./scripts/up.sh", func(s step) bool { return strings.TrimSpace(s.Run) == "ACTION=destroy ./scripts/up.sh" }},
	}
	at := -1
	for _, o := range order {
		i := slices.IndexFunc(j.Steps, o.is)
		if i < 0 {
			t.Errorf("no step runs %s", o.what)
			continue
		}
		if i <= at {
			t.Errorf("step %d (%s) runs before the step it must follow (%d)", i, o.what, at)
		}
		at = i
	}
	if i := slices.IndexFunc(j.Steps, order[len(order)-1].is); i >= 0 && j.Steps[i].If != "always()" {
		t.Errorf("destroy runs if %q, want always(): a failed verify must not leave the stack behind", j.Steps[i].If)
	}
}
