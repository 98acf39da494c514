package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/deploy"
	"obs-stack/internal/benchstats"
	"obs-stack/internal/operatorcrds"
	"obs-stack/program"
)

// floor is the smallest program through the same engine and the same explicit Kubernetes
// provider: one Namespace and one ConfigMap (its data from the config key floor:value).
func floor(ctx *pulumi.Context) error { return floorWith(0)(ctx) }

// floorWith is the floor plus extra ConfigMaps of its own: as many resources as a stack of
// obs-stack, through the same engine and provider, with no program logic. With extra > 0 it
// also has what every obs-stack stack has besides its objects: the random provider plugin
// with one RandomId, and the read of its own last outputs (the data-loss guard's
// StackReference). What a preview of it costs over the floor's is what that many resources
// and those fixed parts cost the engine and the plugins.
func floorWith(extra int) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		suffix := ""
		if extra > 0 {
			suffix = fmt.Sprintf("-%d", extra)
		}
		p, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{ClusterIdentifier: pulumi.String("obs-stack-floor" + suffix)})
		if err != nil {
			return err
		}
		ns, err := corev1.NewNamespace(ctx, "bench-floor"+suffix, &corev1.NamespaceArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("bench-floor" + suffix)},
		}, pulumi.Provider(p))
		if err != nil {
			return err
		}
		value, ok := ctx.GetConfig("floor:value")
		if !ok {
			value = "1"
		}
		configMaps := extra // the closure runs on every preview and up: extra stays as given
		if extra > 0 {
			self := ctx.Organization() + "/" + ctx.Project() + "/" + ctx.Stack()
			if _, err := pulumi.NewStackReference(ctx, "previous-update", &pulumi.StackReferenceArgs{Name: pulumi.String(self)}); err != nil {
				return err
			}
			rp, err := random.NewProvider(ctx, "random", &random.ProviderArgs{})
			if err != nil {
				return err
			}
			if _, err := random.NewRandomId(ctx, "id", &random.RandomIdArgs{ByteLength: pulumi.Int(16)}, pulumi.Provider(rp)); err != nil {
				return err
			}
			// The random provider and the RandomId count in the engine's summary; the StackReference
			// is a read, which it does not count (in the stacks' counts neither).
			configMaps -= 2
		}
		for i := 0; i <= configMaps; i++ {
			name := "floor"
			if i > 0 {
				name = fmt.Sprintf("floor-%d", i)
			}
			if _, err := corev1.NewConfigMap(ctx, name, &corev1.ConfigMapArgs{
				Metadata: &metav1.ObjectMetaArgs{Namespace: ns.Metadata.Name().Elem(), Name: pulumi.String(name)},
				Data:     pulumi.StringMap{"value": pulumi.String(value)},
			}, pulumi.Provider(p)); err != nil {
				return err
			}
		}
		return nil
	}
}

// toolchainBin is OBS_STACK_TOOLCHAIN_BIN or the last line of toolchain/build.sh.
func toolchainBin(ctx context.Context, root string) (string, error) {
	if bin := os.Getenv("OBS_STACK_TOOLCHAIN_BIN"); bin != "" {
		return bin, nil
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "toolchain/build.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("toolchain/build.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}

type benchStack struct {
	name      string
	stack     auto.Stack
	like      string    // a grown floor: the stack whose resource count it has
	oneKey    string    // config key of the one-key change
	values    [2]string // alternated
	resources int       // from the first preview
	firstUp   time.Duration
	preview   benchstats.Sample
	noop      benchstats.Sample
	change    benchstats.Sample
	touched   map[string]int
}

// deploy is the stack's first up (timed), then one unmeasured preview: its state and the
// plugins are warm from here on; that preview also counts its resources.
func (s *benchStack) deploy(ctx context.Context) error {
	logf("first up of %s", s.name)
	start := time.Now()
	if _, err := s.stack.Up(ctx); err != nil {
		return fmt.Errorf("up of %s: %w", s.name, err)
	}
	s.firstUp = time.Since(start)
	res, err := s.stack.Preview(ctx, optpreview.ExpectNoChanges())
	if err != nil {
		return fmt.Errorf("preview of %s: %w", s.name, err)
	}
	for _, n := range res.ChangeSummary {
		s.resources += n
	}
	return nil
}

// previewAndNoop times one warm preview and one no-op up of the stack.
func (s *benchStack) previewAndNoop(ctx context.Context) (auto.UpResult, error) {
	start := time.Now()
	if _, err := s.stack.Preview(ctx, optpreview.ExpectNoChanges()); err != nil {
		return auto.UpResult{}, fmt.Errorf("preview of %s: %w", s.name, err)
	}
	s.preview = append(s.preview, time.Since(start))
	start = time.Now()
	res, err := s.stack.Up(ctx)
	if err != nil {
		return auto.UpResult{}, fmt.Errorf("no-op up of %s: %w", s.name, err)
	}
	s.noop = append(s.noop, time.Since(start))
	return res, nil
}

// bench is what every timed stack shares: a local control plane with one simulated node big
// enough for prod and the Prometheus Operator's CRDs, a local backend, a copy of the project,
// and the environment every stack runs with.
type bench struct {
	bin, tmp, proj string
	env            map[string]string
}

// shared is the one bench of an invocation: the engine and replay parts share its plane,
// backend and project (the replay's dev and prod are the engine part's, already deployed).
var shared struct {
	once sync.Once
	b    bench
	stop func()
	err  error
}

// sharedBench starts the bench on first use; stopBench (main calls it) stops it.
func sharedBench(ctx context.Context, root string) (bench, error) {
	shared.once.Do(func() { shared.b, shared.stop, shared.err = startBench(ctx, root) })
	return shared.b, shared.err
}

func stopBench() {
	if shared.stop != nil {
		shared.stop()
		shared.stop = nil
	}
}

// startBench starts the plane (in OBS_STACK_BENCH_CLUSTER_STATE when a script provides it, so
// that its trap stops it whatever happens, else in a folder of ours); stop stops it and
// removes the folder.
func startBench(ctx context.Context, root string) (b bench, stop func(), err error) {
	if b.bin, err = toolchainBin(ctx, root); err != nil {
		return b, nil, err
	}
	os.Setenv("PATH", b.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if b.tmp, err = os.MkdirTemp("", "obs-stack-bench-"); err != nil {
		return b, nil, err
	}
	state := os.Getenv("OBS_STACK_BENCH_CLUSTER_STATE")
	if state == "" {
		state = filepath.Join(b.tmp, "cluster")
	}
	stop = func() {
		down := exec.Command("bash", filepath.Join(root, "toolchain/cluster-down.sh"), state)
		down.Stdout, down.Stderr = os.Stderr, os.Stderr
		if err := down.Run(); err != nil {
			logf("stopping the control plane: %v", err)
		}
		os.RemoveAll(b.tmp)
	}
	up := exec.CommandContext(ctx, "bash", filepath.Join(root, "toolchain/cluster-up.sh"), state)
	up.Env = append(os.Environ(), "OBS_STACK_TOOLCHAIN_BIN="+b.bin, "NODE_CPU=32", "NODE_MEMORY=64Gi")
	up.Stderr = os.Stderr
	out, err := up.Output()
	if err != nil {
		return b, stop, fmt.Errorf("starting the local control plane: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	// prod's monitoring creates Prometheus Operator objects: the plane needs the CRDs.
	if _, err := operatorcrds.Install(root, lines[len(lines)-1]); err != nil {
		return b, stop, err
	}
	b.env = map[string]string{
		"KUBECONFIG": lines[len(lines)-1],
		// metadata=skip, as deploy.Open sets it: every state write an atomic rename, so a stack
		// reading its own outputs mid-update never finds a half-written sidecar ("failed to load
		// checkpoint: EOF", seen with the replays).
		"PULUMI_BACKEND_URL":                          "file://" + filepath.Join(b.tmp, "state") + "?metadata=skip",
		"PULUMI_CONFIG_PASSPHRASE":                    "obs-stack-bench",
		"PULUMI_HOME":                                 filepath.Join(b.tmp, "pulumi-home"),
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
	}
	for _, d := range []string{"state", "pulumi-home", "project", "floor"} {
		if err := os.MkdirAll(filepath.Join(b.tmp, d), 0o700); err != nil {
			return b, stop, err
		}
	}
	b.proj = filepath.Join(b.tmp, "project")
	return b, stop, deploy.CopyProject(root, b.proj)
}

// openProd opens the stack name of the project on the prod preset, sized as integration does
// on the one simulated node (its sizing, replicas sharing the node), plus extra config.
func (b bench) openProd(ctx context.Context, name string, extra map[string]string) (auto.Stack, error) {
	s, err := deploy.Open(ctx, deploy.Options{ProjectDir: b.proj, Stack: name, Env: b.env, Program: program.RunIn})
	if err != nil {
		return s, err
	}
	config := map[string]string{
		"obs-stack:cluster.namespace": "observability-" + name, "obs-stack:cluster.nodes": "1",
		"obs-stack:cluster.nodeCPU": "32", "obs-stack:cluster.nodeMemory": "64Gi",
		"obs-stack:loki.ingester.antiAffinity": "soft", "obs-stack:kafka.antiAffinity": "soft",
	}
	if name != "prod" {
		config["obs-stack:preset"] = "prod"
	}
	maps.Copy(config, extra)
	for k, v := range config {
		if err := setPath(ctx, s, k, v); err != nil {
			return s, err
		}
	}
	return s, nil
}

func engine(ctx context.Context, root string) (string, error) {
	bn, err := sharedBench(ctx, root)
	if err != nil {
		return "", err
	}
	tmp, env, proj := bn.tmp, bn.env, bn.proj

	fs, err := auto.UpsertStackInlineSource(ctx, "floor", "obs-stack-floor", floor, auto.WorkDir(filepath.Join(tmp, "floor")), auto.EnvVars(env))
	if err != nil {
		return "", fmt.Errorf("floor stack: %w", err)
	}
	dev, err := deploy.Open(ctx, deploy.Options{ProjectDir: proj, Stack: "dev", Env: env, Program: program.RunIn})
	if err != nil {
		return "", err
	}
	prod, err := bn.openProd(ctx, "prod", nil)
	if err != nil {
		return "", err
	}
	stacks := []*benchStack{
		{name: "floor", stack: fs, oneKey: "floor:value", values: [2]string{"2", "1"}},
		{name: "dev", stack: dev, oneKey: "obs-stack:loki.limits.retentionPeriod", values: [2]string{"72h", "168h"}},
		{name: "prod", stack: prod, oneKey: "obs-stack:loki.limits.retentionPeriod", values: [2]string{"720h", "744h"}},
	}

	for _, s := range stacks {
		if err := s.deploy(ctx); err != nil {
			return "", err
		}
	}
	// The floor grown to dev's and prod's resource counts: ConfigMaps only, no program.
	var grown []*benchStack
	for _, like := range stacks[1:] {
		extra := like.resources - stacks[0].resources
		name := fmt.Sprintf("floor+%d", extra)
		st, err := auto.UpsertStackInlineSource(ctx, fmt.Sprintf("floor-%d", extra), "obs-stack-floor", floorWith(extra),
			auto.WorkDir(filepath.Join(tmp, "floor")), auto.EnvVars(env))
		if err != nil {
			return "", fmt.Errorf("%s stack: %w", name, err)
		}
		g := &benchStack{name: name, stack: st, like: like.name}
		if err := g.deploy(ctx); err != nil {
			return "", err
		}
		grown = append(grown, g)
	}
	// Interleaved rounds, so that drift in the machine's load hits every stack alike.
	for r := 0; r < *runs; r++ {
		for _, g := range grown {
			logf("round %d/%d: %s", r+1, *runs, g.name)
			if _, err := g.previewAndNoop(ctx); err != nil {
				return "", err
			}
		}
		for _, s := range stacks {
			logf("round %d/%d: %s", r+1, *runs, s.name)
			res, err := s.previewAndNoop(ctx)
			if err != nil {
				return "", err
			}
			if c := deploy.UpChanges(res.Summary); len(c) > 0 {
				return "", fmt.Errorf("the no-op up of %s changed %v", s.name, c)
			}
			if err := setPath(ctx, s.stack, s.oneKey, s.values[r%2]); err != nil {
				return "", err
			}
			start := time.Now()
			res, err = s.stack.Up(ctx)
			if err != nil {
				return "", fmt.Errorf("one-key up of %s: %w", s.name, err)
			}
			s.change = append(s.change, time.Since(start))
			s.touched = deploy.UpChanges(res.Summary)
		}
	}
	tenantRows, err := tenantStacks(ctx, bn)
	if err != nil {
		return "", err
	}
	cli := plainCLI(ctx, proj, env)
	var traces []callTimes
	for _, st := range []*benchStack{stacks[0], grown[0], stacks[1], grown[1], stacks[2]} {
		logf("traced preview of %s", st.name)
		t, err := traceCalls(ctx, st.stack)
		if err != nil {
			return "", fmt.Errorf("traced preview of %s: %w", st.name, err)
		}
		traces = append(traces, t)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Each figure: median (min–max) of %d run(s), wall time of the Automation API call (CLI start, engine, program, plugins). "+
		"Ratios are medians against the floor's in the same invocation. Local control plane of toolchain/ (one kwok node of 32 CPU / 64Gi; "+
		"pods simulated); prod runs with `cluster.nodes 1, nodeCPU 32, nodeMemory 64Gi`, soft anti-affinity for ingesters and Kafka, "+
		"namespace observability-prod (as integration does).\n\n", *runs)
	b.WriteString("| measurement | floor | dev | dev / floor | prod | prod / floor | target |\n|---|---|---|---|---|---|---|\n")
	f, d, p := stacks[0], stacks[1], stacks[2]
	fmt.Fprintf(&b, "| resources in the stack (engine's count, providers and stack included) | %d | %d | | %d | | |\n", f.resources, d.resources, p.resources)
	fmt.Fprintf(&b, "| warm preview, Automation API (`Stack.Preview` of a stack opened with `deploy.Open`) | %s | %s | %s | %s | %s | dev ≤ 1.3x, prod ≤ 1.6x |\n",
		f.preview, d.preview, benchstats.Ratio(d.preview, f.preview), p.preview, benchstats.Ratio(p.preview, f.preview))
	fmt.Fprintf(&b, "| no-op up | %s | %s | %s | %s | %s | ≤ 1.2x |\n", f.noop, d.noop, benchstats.Ratio(d.noop, f.noop), p.noop, benchstats.Ratio(p.noop, f.noop))
	fmt.Fprintf(&b, "| one-key up (floor: `floor:value`; dev, prod: `loki.limits.retentionPeriod`) | %s | %s | %s | %s | %s | |\n",
		f.change, d.change, benchstats.Ratio(d.change, f.change), p.change, benchstats.Ratio(p.change, f.change))
	fmt.Fprintf(&b, "| resources touched by the one-key up | %s | %s | | %s | | |\n", show(f.touched), show(d.touched), show(p.touched))
	fmt.Fprintf(&b, "| first up (empty namespace to Ready; one run, informative) | %s | %s | | %s | | |\n", benchstats.Secs(f.firstUp), benchstats.Secs(d.firstUp), benchstats.Secs(p.firstUp))
	fmt.Fprintf(&b, "| warm preview, plain CLI (`pulumi preview`) | %s | | | | | |\n", cli)

	b.WriteString("\nThe floor grown to each stack's resource count with ConfigMaps, plus the random plugin with one RandomId and " +
		"the read of its own last outputs, as every stack has (no program logic, no dependencies but the Namespace): what that many " +
		"resources and those fixed parts cost the engine and the plugins alone.\n\n")
	b.WriteString("| floor grown | resources | warm preview | / floor | the stack's preview / floor | no-op up | / floor | the stack's no-op up / floor |\n|---|---|---|---|---|---|---|---|\n")
	for i, g := range grown {
		like := stacks[i+1]
		fmt.Fprintf(&b, "| %s (like %s) | %d | %s | %s | %s | %s | %s | %s |\n", g.name, g.like, g.resources,
			g.preview, benchstats.Ratio(g.preview, f.preview), benchstats.Ratio(like.preview, f.preview), g.noop, benchstats.Ratio(g.noop, f.noop), benchstats.Ratio(like.noop, f.noop))
	}
	b.WriteString(traceTable([]string{"floor", grown[0].name, "dev", grown[1].name, "prod"}, traces))
	b.WriteString(tenantRows)
	return b.String(), nil
}

func setPath(ctx context.Context, s auto.Stack, key, value string) error {
	if err := s.SetConfigWithOptions(ctx, key, auto.ConfigValue{Value: value}, &auto.ConfigOptions{Path: true}); err != nil {
		return fmt.Errorf("pulumi config set --path %s %s on %s: %w", key, value, s.Name(), err)
	}
	return nil
}

// changed drops same and read from an update's resource changes.
func show(m map[string]int) string {
	var parts []string
	for op, n := range m {
		parts = append(parts, fmt.Sprintf("%s %d", op, n))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// plainCLI tries `pulumi preview` on the dev stack as a user with a plain install would; here
// it needs the Go language host, which the toolchain does not serve.
func plainCLI(ctx context.Context, proj string, env map[string]string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "pulumi", "preview", "--stack", "dev", "--non-interactive", "--cwd", proj)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err == nil {
		return fmt.Sprintf("%s (one run)", benchstats.Secs(took))
	}
	reason := "failed"
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "language") || strings.Contains(strings.ToLower(line), "error") {
			reason = strings.TrimSpace(line)
			break
		}
	}
	return fmt.Sprintf("not measurable here: `%s` (failed after %s)", strings.ReplaceAll(reason, "|", "/"), benchstats.Secs(took))
}

// tenantStacks times prod with -tenants' counts of tenants (each with a namespace, limits and
// retention): its first up, then per run one warm preview and one no-op up, as the stacks
// above. Each count is a stack of its own namespace on the same plane. "" without -tenants.
func tenantStacks(ctx context.Context, bn bench) (string, error) {
	if *tenants == "" {
		return "", nil
	}
	var b strings.Builder
	b.WriteString("\nprod with tenants (`-tenants`): each tenant a gateway user, password and Secret, an Alloy writer, a Grafana datasource and a runtime-config entry.\n\n")
	b.WriteString("| tenants | resources | first up | preview | no-op up |\n|---|---|---|---|---|\n")
	for _, field := range strings.Split(*tenants, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 1 {
			return "", fmt.Errorf("-tenants %q: want counts such as 1,50", *tenants)
		}
		name := fmt.Sprintf("tenants-%d", n)
		st, err := bn.openProd(ctx, name, nil)
		if err != nil {
			return "", err
		}
		var list []map[string]any
		for i := range n {
			list = append(list, map[string]any{"name": fmt.Sprintf("team-%03d", i), "namespaces": []string{fmt.Sprintf("team-%03d", i)},
				"limits": map[string]any{"ingestionRateMB": 8, "ingestionBurstSizeMB": 16}, "retention": map[string]any{"period": "720h"}})
		}
		raw, err := json.Marshal(list)
		if err != nil {
			return "", err
		}
		// A dotted key holding JSON, as a user sets a whole list (no --path).
		if err := st.SetConfig(ctx, "obs-stack:loki.tenants", auto.ConfigValue{Value: string(raw)}); err != nil {
			return "", fmt.Errorf("setting %d tenants: %w", n, err)
		}
		s := &benchStack{name: name, stack: st}
		if err := s.deploy(ctx); err != nil {
			return "", err
		}
		for r := 0; r < *runs; r++ {
			logf("round %d/%d: %s", r+1, *runs, name)
			if _, err := s.previewAndNoop(ctx); err != nil {
				return "", err
			}
		}
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %s |\n", n, s.resources, s.firstUp.Round(time.Millisecond), s.preview, s.noop)
	}
	return b.String(), nil
}
