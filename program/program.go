// Package program is the obs-stack Pulumi program: main.go runs it through the Pulumi
// language host, deploy/ runs it inline through the Automation API, tests run it with mocks.
package program

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/alloy"
	"obs-stack/components/gateway"
	"obs-stack/components/grafana"
	"obs-stack/components/kafka"
	"obs-stack/components/kube"
	"obs-stack/components/loki"
	"obs-stack/components/netpol"
	"obs-stack/stacks"
)

// Instance is the app.kubernetes.io/instance label of everything the program creates.
const Instance = "obs-stack"

// RenderDirEnv names a folder to write manifests to instead of applying them. Use it with
// its own state backend: the rendered stack must not share state with a deployed one.
const RenderDirEnv = "OBS_STACK_RENDER_DIR"

// Run declares the stack. A spec that fails validation, or a change that would lose data,
// fails here with every problem at once, before any resource (the provider included) is
// registered; only the read of this stack's own last outputs happens first.
func Run(ctx *pulumi.Context) error {
	spec, err := LoadSpec(ctx)
	if errors.Is(err, stacks.ErrNoPreset) {
		return err
	}
	if changeErr := checkChanges(ctx, spec); changeErr != nil {
		err = errors.Join(err, changeErr)
	}
	if err != nil {
		return err
	}

	renderDir := os.Getenv(RenderDirEnv)
	if renderDir != "" {
		if err := ctx.Log.Warn("rendering manifests to "+renderDir+" instead of applying them: rendered Secrets are plain text", nil); err != nil {
			return err
		}
	}
	providerArgs := &kubernetes.ProviderArgs{
		Context: optional(spec.Cluster.KubeContext),
		// A stable identity: a rotated kubeconfig or a new context name updates the provider
		// in place instead of replacing every object it manages.
		ClusterIdentifier: pulumi.String("obs-stack-" + ctx.Stack()),
	}
	if renderDir != "" {
		// Rendering talks to no cluster; the SDK would otherwise fill kubeconfig from
		// $KUBECONFIG, which the provider refuses next to renderYamlToDirectory.
		providerArgs.RenderYamlToDirectory, providerArgs.Kubeconfig, providerArgs.Context = pulumi.String(renderDir), pulumi.String(""), nil
	}
	provider, err := kubernetes.NewProvider(ctx, "k8s", providerArgs)
	if err != nil {
		return fmt.Errorf("creating the Kubernetes provider: %w", err)
	}
	opts := []pulumi.ResourceOption{pulumi.Provider(provider)}

	var namespace pulumi.StringInput = pulumi.String(spec.Cluster.Namespace)
	if spec.Cluster.CreateNamespace {
		ns, err := corev1.NewNamespace(ctx, spec.Cluster.Namespace, &corev1.NamespaceArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Name:   pulumi.String(spec.Cluster.Namespace),
				Labels: pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String("obs-stack")},
			},
			// Deleting the Namespace deletes every PVC in it, the protected StatefulSets' too.
		}, append(opts, pulumi.Protect(spec.Cluster.ProtectData))...)
		if err != nil {
			return fmt.Errorf("creating namespace %s: %w", spec.Cluster.Namespace, err)
		}
		namespace = ns.Metadata.Name().Elem()
	}

	// random's default provider is disabled too (stack files): one explicit instance for all.
	randomProvider, err := random.NewProvider(ctx, "random", &random.ProviderArgs{})
	if err != nil {
		return fmt.Errorf("creating the random provider: %w", err)
	}
	children := pulumi.Providers(provider, randomProvider)
	common := kube.Common{Spec: spec, Namespace: namespace, Instance: Instance}
	if spec.Cluster.NetworkPolicies {
		if _, err := netpol.New(ctx, "netpol", &common, children); err != nil {
			return err
		}
	}
	lk, err := loki.New(ctx, "loki", &common, children)
	if err != nil {
		return err
	}
	gw, err := gateway.New(ctx, "gateway", &gateway.Args{Common: common, Routes: lk.Routes, RingPages: lk.RingPages}, children)
	if err != nil {
		return err
	}

	alloyArgs := &alloy.Args{Common: common, PushURL: gw.PushURL}
	if spec.Kafka.Enabled {
		k, err := kafka.New(ctx, "kafka", &common, children)
		if err != nil {
			return err
		}
		if spec.Alloy.ConsumeKafka {
			alloyArgs.KafkaBrokers, alloyArgs.KafkaTopics = k.BootstrapServers, k.Topics
		}
		ctx.Export("kafkaBootstrapServers", k.BootstrapServers)
		ctx.Export("kafkaTopics", pulumi.ToStringArray(k.Topics))
	}
	grafanaArgs := &grafana.Args{Common: common, GatewayURL: gw.URL}
	if gw.AuthEnabled {
		alloyArgs.CredentialsSecret = gw.CredentialsSecret
		grafanaArgs.Username, grafanaArgs.Password = gateway.Username, gw.Password
		ctx.Export("gatewayAuth", pulumi.Sprintf("basic auth as %s; the password is the secret output gatewayPassword (pulumi stack output gatewayPassword --show-secrets)", gateway.Username))
		ctx.Export("gatewayPassword", pulumi.ToSecret(gw.Password))
	} else {
		ctx.Export("gatewayAuth", pulumi.String("off: loki.authEnabled is false, so anyone who reaches the gateway can push and query (tenant fake)"))
	}
	if _, err := alloy.New(ctx, "alloy", alloyArgs, children); err != nil {
		return err
	}
	ds, err := grafana.New(ctx, "grafana", grafanaArgs, children)
	if err != nil {
		return err
	}

	endpoints := pulumi.StringMap{}
	for group, url := range lk.Routes {
		endpoints[group] = url
	}
	ctx.Export("lokiMode", pulumi.String(lk.Mode))
	ctx.Export("lokiEndpoints", endpoints)
	ctx.Export("gatewayUrl", gw.URL)
	ctx.Export("pushUrl", gw.PushURL)
	ctx.Export("queryUrl", gw.QueryURL)
	ctx.Export("tenant", pulumi.String(spec.Loki.Tenant))
	ctx.Export("grafanaDatasource", pulumi.StringMap{"name": pulumi.String(ds.Name), "uid": pulumi.String(ds.UID)})
	ctx.Export("dataFacts", pulumi.ToMap(factsOutput(spec)))
	ctx.Export("sizing", pulumi.ToMapArray(sizingOutput(spec)))
	return nil
}

// LoadSpec reads the stack's config, merges it onto the preset and validates the result.
// Warnings go to the Pulumi log; the error names every bad key at once, and the spec is
// returned next to it (a key that failed to load keeps its preset value) so that the caller
// can run the remaining checks too.
func LoadSpec(ctx *pulumi.Context) (stacks.Spec, error) {
	config := map[string]string{}
	for _, key := range configKeys(ctx) {
		if v, ok := ctx.GetConfig(key); ok {
			config[key] = v
		}
	}
	spec, loadErr := stacks.Load(ctx.Stack(), config)
	if errors.Is(loadErr, stacks.ErrNoPreset) {
		return spec, fmt.Errorf("stack %q cannot be deployed:\n%w", ctx.Stack(), loadErr)
	}
	var errs []error
	if loadErr != nil {
		errs = append(errs, loadErr)
	}
	if spec.Cluster.UseLiveNodes && os.Getenv(RenderDirEnv) == "" {
		if err := useLiveNodes(&spec.Cluster); err != nil {
			errs = append(errs, fmt.Errorf("obs-stack:cluster.useLiveNodes = true: %w; fix: make the kube context reachable (kubectl get nodes), "+
				"or set obs-stack:cluster.useLiveNodes false and describe the nodes in obs-stack:cluster.nodes, nodeCPU and nodeMemory", err))
		} else if err := ctx.Log.Info(fmt.Sprintf("sizing against the live cluster: %d schedulable node(s) of at least %s CPU / %s",
			spec.Cluster.Nodes, spec.Cluster.NodeCPU, spec.Cluster.NodeMemory), nil); err != nil {
			return spec, err
		}
	}
	if err := spec.CheckSiblings(ctx.Stack(), siblings(ctx)); err != nil {
		errs = append(errs, err)
	}
	warnings, err := spec.Validate()
	for _, w := range warnings {
		if logErr := ctx.Log.Warn(w, nil); logErr != nil {
			return spec, errors.Join(err, logErr)
		}
	}
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return spec, fmt.Errorf("stack %q cannot be deployed:\n%w", ctx.Stack(), errors.Join(errs...))
	}
	return spec, nil
}

// siblings are the project's other stacks, as their stack files describe them (a file that
// does not load is that stack's own problem, reported when it is previewed).
func siblings(ctx *pulumi.Context) map[string]stacks.Spec {
	files, _ := filepath.Glob(filepath.Join(projectDir(ctx), "Pulumi.*.yaml"))
	out := map[string]stacks.Spec{}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml")
		if name == ctx.Stack() {
			continue
		}
		config, err := stacks.ReadStackFile(filepath.Dir(f), name)
		if err != nil {
			continue
		}
		if spec, err := stacks.Load(name, config); !errors.Is(err, stacks.ErrNoPreset) {
			out[name] = spec
		}
	}
	return out
}

func projectDir(ctx *pulumi.Context) string {
	if dir := ctx.RootDirectory(); dir != "" {
		return dir
	}
	return "."
}

// configKeys are the keys to read: the known sections, plus every key the stack file names,
// so that a misspelt section (obs-stack:lokki) is reported instead of ignored. The Go SDK
// can look a key up but not list them.
func configKeys(ctx *pulumi.Context) []string {
	keys := []string{stacks.PresetKey}
	for _, s := range stacks.Sections() {
		keys = append(keys, stacks.Namespace+":"+s)
	}
	// A stack file Pulumi could not parse never gets this far, so errors mean no file.
	file, _ := stacks.ReadStackFile(projectDir(ctx), ctx.Stack())
	for k := range file {
		keys = append(keys, k)
	}
	return keys
}

func sizingOutput(spec stacks.Spec) []map[string]any {
	var out []map[string]any
	for _, g := range spec.Sizing() {
		out = append(out, map[string]any{
			"component": g.Component, "replicas": g.Replicas, "storage": g.Storage,
			"cpuRequest": g.Resources.Requests.CPU, "memoryRequest": g.Resources.Requests.Memory,
			"cpuLimit": g.Resources.Limits.CPU, "memoryLimit": g.Resources.Limits.Memory,
		})
	}
	return out
}

func optional(s string) pulumi.StringPtrInput {
	if s == "" {
		return nil
	}
	return pulumi.String(s)
}

// checkChanges compares the spec with what the last update of this stack recorded (its
// dataFacts output, read through a reference to the stack itself) and refuses changes that
// would lose data. Nothing of the cluster is touched before this passes.
func checkChanges(ctx *pulumi.Context, spec stacks.Spec) error {
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
		return fmt.Errorf("stack %q: this change would lose data:\n%w", ctx.Stack(), err)
	}
	return nil
}

func factsOutput(spec stacks.Spec) map[string]any {
	raw, _ := json.Marshal(spec.Facts())
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// useLiveNodes asks the cluster (through kubectl, in the same kubeconfig and context as the
// provider) which nodes it has.
func useLiveNodes(c *stacks.Cluster) error {
	args := []string{"get", "nodes", "-o", "json", "--request-timeout=10s"}
	if c.KubeContext != "" {
		args = append(args, "--context", c.KubeContext)
	}
	out, err := exec.Command("kubectl", args...).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("kubectl get nodes failed: %s", strings.TrimSpace(string(exit.Stderr)))
		}
		return fmt.Errorf("running kubectl: %w", err)
	}
	return c.ApplyLiveNodes(out)
}
