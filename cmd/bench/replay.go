package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/deploy"
	"obs-stack/internal/benchstats"
	"obs-stack/program"
)

// Replay is the floor of the same objects: what a deployed stack registers, read back from
// its state (`pulumi stack export --show-secrets`, which the Automation API's Export runs),
// registered again by a program with no logic. Every provider, component, custom resource and
// read of the state is registered in the state's order with its type, name, inputs (secrets
// as secrets), parent, provider, dependencies and ignoreChanges; the stack's outputs are
// exported again. The only change is the namespace, renamed everywhere it appears, so the
// replay's objects live beside the stack's on the same plane without touching them.
type Replay struct {
	Resources []apitype.ResourceV3
	Outputs   map[string]any // the stack's outputs
}

// ReadReplay exports the deployed stack s and renames its namespace from to to in every
// string of the state (object names, namespaces, DNS names, outputs).
func ReadReplay(ctx context.Context, s auto.Stack, from, to string) (Replay, error) {
	exported, err := s.Export(ctx)
	if err != nil {
		return Replay{}, err
	}
	raw := strings.ReplaceAll(string(exported.Deployment), from, to)
	var d apitype.DeploymentV3
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return Replay{}, fmt.Errorf("reading the state of %s: %w", s.Name(), err)
	}
	r := Replay{}
	for _, res := range d.Resources {
		if res.Type == resource.RootStackType {
			r.Outputs = res.Outputs
			continue
		}
		if res.Delete {
			continue // a replaced resource's leftover
		}
		r.Resources = append(r.Resources, res)
	}
	return r, nil
}

// Run is the replay program.
func (r Replay) Run(ctx *pulumi.Context) error {
	registered := map[resource.URN]pulumi.Resource{}
	for _, res := range r.Resources {
		urn := res.URN
		name, typ := urn.Name(), string(res.Type)
		opts := []pulumi.ResourceOption{}
		if p, ok := registered[res.Parent]; ok {
			opts = append(opts, pulumi.Parent(p))
		}
		var deps []pulumi.Resource
		for _, d := range res.Dependencies {
			if dep, ok := registered[d]; ok {
				deps = append(deps, dep)
			}
		}
		if len(deps) > 0 {
			opts = append(opts, pulumi.DependsOn(deps))
		}
		if len(res.IgnoreChanges) > 0 {
			opts = append(opts, pulumi.IgnoreChanges(res.IgnoreChanges))
		}
		if ref := res.Provider; ref != "" {
			providerURN := resource.URN(ref[:strings.LastIndex(ref, "::")])
			if p, ok := registered[providerURN].(pulumi.ProviderResource); ok {
				opts = append(opts, pulumi.Provider(p))
			}
		}
		switch {
		case typ == "pulumi:pulumi:StackReference":
			self := ctx.Organization() + "/" + ctx.Project() + "/" + ctx.Stack()
			ref, err := pulumi.NewStackReference(ctx, name, &pulumi.StackReferenceArgs{Name: pulumi.String(self)}, opts...)
			if err != nil {
				return err
			}
			registered[urn] = ref
		case strings.HasPrefix(typ, "pulumi:providers:"):
			p := &pulumi.ProviderResourceState{}
			inputs := clean(res.Inputs)
			if v, ok := inputs["version"].(string); ok {
				opts = append(opts, pulumi.Version(v))
			}
			if err := ctx.RegisterResource(typ, name, toInput(inputs), p, opts...); err != nil {
				return fmt.Errorf("replaying %s: %w", urn, err)
			}
			registered[urn] = p
		case !res.Custom:
			c := &pulumi.ResourceState{}
			if err := ctx.RegisterComponentResource(typ, name, c, opts...); err != nil {
				return fmt.Errorf("replaying %s: %w", urn, err)
			}
			if err := ctx.RegisterResourceOutputs(c, toInput(res.Outputs).(pulumi.Map)); err != nil {
				return err
			}
			registered[urn] = c
		default:
			c := &pulumi.CustomResourceState{}
			if err := ctx.RegisterResource(typ, name, toInput(clean(res.Inputs)), c, opts...); err != nil {
				return fmt.Errorf("replaying %s: %w", urn, err)
			}
			registered[urn] = c
		}
	}
	for k, v := range r.Outputs {
		ctx.Export(k, toInput(v))
	}
	return nil
}

// clean drops the engine's bookkeeping keys (__defaults, __meta, ...) from inputs.
func clean(inputs map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range inputs {
		if !strings.HasPrefix(k, "__") {
			out[k] = v
		}
	}
	return out
}

// toInput turns a state value (JSON) into a program input; a secret (the state's secret
// signature with its plaintext, as --show-secrets exports it) stays a secret.
func toInput(v any) pulumi.Input {
	switch v := v.(type) {
	case map[string]any:
		if sig, ok := v[resource.SigKey].(string); ok && sig == resource.SecretSig {
			var plain any
			if text, ok := v["plaintext"].(string); ok && json.Unmarshal([]byte(text), &plain) == nil {
				return pulumi.ToSecret(toInput(plain))
			}
		}
		m := pulumi.Map{}
		for k, e := range v {
			m[k] = toInput(e)
		}
		return m
	case []any:
		a := pulumi.Array{}
		for _, e := range v {
			a = append(a, toInput(e))
		}
		return a
	case string:
		return pulumi.String(v)
	case float64:
		return pulumi.Float64(v)
	case bool:
		return pulumi.Bool(v)
	case nil:
		return nil
	}
	panic(fmt.Sprintf("bench: a state value of type %T", v))
}

// replayPart times dev, prod and prod sized for 3 TB a day over three zones against their
// replays (Replay): the same objects, registered by a program with no logic, through the same
// CLI, engine, plugins, backend and plane, in interleaved rounds.
func replayPart(ctx context.Context, root string) (string, error) {
	bn, err := sharedBench(ctx, root)
	if err != nil {
		return "", err
	}
	header, err := machine(ctx, root)
	if err != nil {
		return "", err
	}
	// Nine zoned nodes, three per zone, for the zoned tier. It is sized for nodes of 16 CPU /
	// 64Gi (its cluster.nodeCPU and nodeMemory); the simulated ones are four times that, so that
	// its replay's pods and the other stacks' fit beside its own.
	zones := []string{"zone-a", "zone-b", "zone-c"}
	add := exec.CommandContext(ctx, "bash", filepath.Join(root, "toolchain/nodes.sh"))
	add.Env = append(os.Environ(), "KUBECONFIG="+bn.env["KUBECONFIG"], "OBS_STACK_TOOLCHAIN_BIN="+bn.bin,
		"FIRST=1", "NODES=9", "ZONES="+strings.Join(zones, ","), "NODE_CPU=64", "NODE_MEMORY=256Gi")
	if out, err := add.CombinedOutput(); err != nil {
		return "", fmt.Errorf("adding zoned nodes: %w\n%s", err, out)
	}
	dev, err := deploy.Open(ctx, deploy.Options{ProjectDir: bn.proj, Stack: "dev", Env: bn.env, Program: program.RunIn})
	if err != nil {
		return "", err
	}
	prod, err := bn.openProd(ctx, "prod", nil)
	if err != nil {
		return "", err
	}
	tier, err := bn.openProd(ctx, "tb3", map[string]string{
		"obs-stack:loki.ingestGBPerDay": "3000", "obs-stack:cluster.nodes": "9", "obs-stack:cluster.nodeCPU": "16", "obs-stack:cluster.nodeMemory": "64Gi",
		"obs-stack:loki.ingester.antiAffinity": "hard", "obs-stack:kafka.antiAffinity": "hard",
	})
	if err != nil {
		return "", err
	}
	for i, zone := range zones { // in order: config set --path grows a list one index at a time
		if err := setPath(ctx, tier, fmt.Sprintf("obs-stack:cluster.zones.names[%d]", i), zone); err != nil {
			return "", err
		}
	}
	type pair struct{ stack, replay *benchStack }
	var pairs []pair
	for _, s := range []struct {
		name, namespace string
		stack           auto.Stack
	}{{"dev", "observability-dev", dev}, {"prod", "observability-prod", prod}, {"prod at 3 TB/day over 3 zones", "observability-tb3", tier}} {
		st := &benchStack{name: s.name, stack: s.stack}
		if err := st.deploy(ctx); err != nil {
			return "", err
		}
		r, err := ReadReplay(ctx, s.stack, s.namespace, "replay-"+s.stack.Name())
		if err != nil {
			return "", err
		}
		rs, err := auto.UpsertStackInlineSource(ctx, "replay-"+s.stack.Name(), "obs-stack-replay", r.Run,
			auto.WorkDir(filepath.Join(bn.tmp, "floor")), auto.EnvVars(bn.env))
		if err != nil {
			return "", err
		}
		rp := &benchStack{name: "replay of " + s.name, stack: rs}
		if err := rp.deploy(ctx); err != nil {
			return "", err
		}
		pairs = append(pairs, pair{st, rp})
	}
	for r := 0; r < *runs; r++ {
		for _, p := range pairs {
			for _, s := range []*benchStack{p.stack, p.replay} {
				logf("round %d/%d: %s", r+1, *runs, s.name)
				if _, err := s.previewAndNoop(ctx); err != nil {
					return "", err
				}
			}
		}
	}
	var names []string
	var traces []callTimes
	for _, p := range pairs[1:] {
		for _, s := range []*benchStack{p.stack, p.replay} {
			t, err := traceCalls(ctx, s.stack)
			if err != nil {
				return "", fmt.Errorf("traced preview of %s: %w", s.name, err)
			}
			names, traces = append(names, s.name), append(traces, t)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "%s\nEach figure: median (min–max) of %d run(s), wall time of the Automation API call; ratios are medians against the replay's in the same rounds. "+
		"prod as in the section above; prod at 3 TB/day: `loki.ingestGBPerDay 3000` over zones zone-a, zone-b, zone-c sized for 9 nodes of 16 CPU / 64Gi (`cluster.nodes 9`; the 9 simulated nodes added have 64 CPU / 256Gi, room for its replay), hard anti-affinity for ingesters and Kafka.\n\n",
		header, *runs)
	b.WriteString("| stack | resources (stack / replay) | warm preview | replay | stack / replay | no-op up | replay | stack / replay | target |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range pairs {
		fmt.Fprintf(&b, "| %s | %d / %d | %s | %s | %s | %s | %s | %s | ≤ 1.1x |\n", p.stack.name, p.stack.resources, p.replay.resources,
			p.stack.preview, p.replay.preview, benchstats.Ratio(p.stack.preview, p.replay.preview),
			p.stack.noop, p.replay.noop, benchstats.Ratio(p.stack.noop, p.replay.noop))
	}
	b.WriteString(traceTable(names, traces))
	return b.String(), nil
}
