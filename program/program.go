// Package program is the obs-stack Pulumi program: main.go runs it through the Pulumi
// language host, deploy/ runs it inline through the Automation API, tests run it with mocks.
package program

import (
	"cmp"
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/alloy"
	"obs-stack/components/canary"
	"obs-stack/components/gateway"
	"obs-stack/components/gateway/nginx"
	"obs-stack/components/grafana"
	"obs-stack/components/kafka"
	"obs-stack/components/kube"
	"obs-stack/components/loki"
	"obs-stack/components/monitoring"
	"obs-stack/components/netpol"
	"obs-stack/preflight"
	"obs-stack/stacks"
)

// Instance is the app.kubernetes.io/instance label of everything the program creates.
const Instance = "obs-stack"

// RenderDirEnv names a folder to write manifests to instead of applying them. Use it with
// its own state backend: the rendered stack must not share state with a deployed one.
const RenderDirEnv = "OBS_STACK_RENDER_DIR"

// Run declares the stack (main.go and the tests run it; the root directory holds the stack files).
func Run(ctx *pulumi.Context) error { return declare(ctx, "") }

// RunIn is Run for a program that gets no root directory (an inline Automation API program):
// projectDir holds the stack files.
func RunIn(projectDir string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error { return declare(ctx, projectDir) }
}

// declare declares the stack. A spec that fails validation, or a change that would lose data,
// fails here with every problem at once, before any resource (the provider included) is
// registered; only the read of this stack's own last outputs happens first.
func declare(ctx *pulumi.Context, projectDir string) error {
	renderDir := os.Getenv(RenderDirEnv)
	spec, err := preflight.Check(ctx, preflight.Options{ProjectDir: projectDir, Rendering: renderDir != ""})
	if err != nil {
		return err
	}
	children, namespace, err := cluster(ctx, spec, renderDir)
	if err != nil {
		return err
	}
	stack := kube.Stack{Namespace: namespace, NamespaceName: spec.Cluster.Namespace, Domain: spec.Cluster.Domain, Instance: Instance, Versions: spec.Versions, Zones: spec.Cluster.Zones}

	if spec.Cluster.NetworkPolicies {
		if _, err := netpol.New(ctx, "netpol", netpolArgs(spec, stack), children); err != nil {
			return err
		}
	}
	lk, err := loki.New(ctx, "loki", lokiArgs(spec, stack), children)
	if err != nil {
		return err
	}
	gw, err := gateway.New(ctx, "gateway", gatewayArgs(spec, stack, lk), children)
	if err != nil {
		return err
	}
	var k *kafka.Kafka
	if spec.Kafka.Enabled {
		if k, err = kafka.New(ctx, "kafka", kafkaArgs(spec, stack), children); err != nil {
			return err
		}
	}
	if _, err := alloy.New(ctx, "alloy", alloyArgs(spec, stack, gw, k), children); err != nil {
		return err
	}
	ds, err := grafana.New(ctx, "grafana", grafanaArgs(spec, stack, gw), children)
	if err != nil {
		return err
	}
	if spec.Monitoring.Canary.Enabled {
		if _, err := canary.New(ctx, "canary", canaryArgs(spec, stack, gw), children); err != nil {
			return err
		}
	}
	if spec.Monitoring.Enabled || spec.Monitoring.Dashboards {
		args, err := monitoringArgs(spec, stack)
		if err != nil {
			return err
		}
		if _, err := monitoring.New(ctx, "monitoring", args, children); err != nil {
			return err
		}
	}
	return export(ctx, spec, lk, gw, k, ds)
}

// cluster declares what every component is created through: the Kubernetes provider, the
// random provider and, when the stack owns it, the Namespace.
func cluster(ctx *pulumi.Context, spec stacks.Valid, renderDir string) (pulumi.ResourceOption, pulumi.StringInput, error) {
	if renderDir != "" {
		if err := ctx.Log.Warn("rendering manifests to "+renderDir+" instead of applying them: rendered Secrets are plain text", nil); err != nil {
			return nil, nil, err
		}
	}
	providerArgs := &kubernetes.ProviderArgs{
		Context: optional(spec.Cluster.KubeContext),
		// A stable identity: a rotated kubeconfig or a new context name updates the provider
		// in place instead of replacing every object it manages.
		ClusterIdentifier: pulumi.String("obs-stack-" + ctx.Stack()),
		// ConfigMaps and Secrets update in place instead of being replaced (the provider's
		// default): the runtime config (loki-runtime, per-tenant limits) must change without a
		// restart, and a replaced Secret (the gateway's htpasswd when a tenant is added) has an
		// unknown name during preview, which made every workload naming it a replacement. The
		// pods that read a config still roll on a change: their templates carry its hash.
		EnableConfigMapMutable: pulumi.Bool(true),
		EnableSecretMutable:    pulumi.Bool(true),
	}
	if renderDir != "" {
		// Rendering talks to no cluster; the SDK would otherwise fill kubeconfig from
		// $KUBECONFIG, which the provider refuses next to renderYamlToDirectory.
		providerArgs.RenderYamlToDirectory, providerArgs.Kubeconfig, providerArgs.Context = pulumi.String(renderDir), pulumi.String(""), nil
	}
	provider, err := kubernetes.NewProvider(ctx, "k8s", providerArgs)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the Kubernetes provider: %w", err)
	}
	opts := []pulumi.ResourceOption{pulumi.Provider(provider)}

	var namespace pulumi.StringInput = pulumi.String(spec.Cluster.Namespace)
	if spec.Cluster.CreateNamespace {
		ns, err := corev1.NewNamespace(ctx, spec.Cluster.Namespace, &corev1.NamespaceArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Name:        pulumi.String(spec.Cluster.Namespace),
				Labels:      pulumi.StringMap{kube.LabelPartOf: pulumi.String(kube.PartOf)},
				Annotations: kube.Owned(),
			},
			// Deleting the Namespace deletes every PVC in it, the protected StatefulSets' too.
		}, append(opts, pulumi.Protect(spec.Cluster.ProtectData))...)
		if err != nil {
			return nil, nil, fmt.Errorf("creating namespace %s: %w", spec.Cluster.Namespace, err)
		}
		namespace = ns.Metadata.Name().Elem()
	}

	// random's default provider is disabled too (stack files): one explicit instance for all.
	randomProvider, err := random.NewProvider(ctx, "random", &random.ProviderArgs{})
	if err != nil {
		return nil, nil, fmt.Errorf("creating the random provider: %w", err)
	}
	return pulumi.Providers(provider, randomProvider), namespace, nil
}

// export sets the stack outputs; k is nil without Kafka.
func export(ctx *pulumi.Context, spec stacks.Valid, lk *loki.Loki, gw *gateway.Gateway, k *kafka.Kafka, ds *grafana.Datasources) error {
	if k != nil {
		ctx.Export("kafkaBootstrapServers", pulumi.String(strings.Join(k.Brokers, ",")))
		ctx.Export("kafkaTopics", pulumi.ToStringArray(k.Topics))
	}
	if gw.AuthEnabled {
		ctx.Export("gatewayAuth", pulumi.Sprintf("basic auth as %s; the password is the secret output gatewayPassword (pulumi stack output gatewayPassword --show-secrets)", nginx.Username))
		ctx.Export("gatewayPassword", pulumi.ToSecret(gw.Password))
	} else {
		ctx.Export("gatewayAuth", pulumi.String("off: loki.authEnabled is false, so anyone who reaches the gateway can push and query (tenant fake)"))
	}
	if gw.Admin != nil {
		// Per tenant its push URL, user and Secret; passwords only as secret outputs.
		tenants, passwords := pulumi.Map{}, pulumi.StringMap{}
		for name, cred := range gw.Tenants {
			tenants[name] = pulumi.Map{"pushUrl": pulumi.String(gw.PushURL), "username": pulumi.String(cred.Username), "credentialsSecret": cred.Secret}
			passwords[name] = cred.Password
		}
		ctx.Export("tenants", tenants)
		ctx.Export("tenantPasswords", pulumi.ToSecret(passwords))
		ctx.Export("adminCredentials", pulumi.Map{"username": pulumi.String(gw.Admin.Username), "tenants": pulumi.String(gw.Admin.Tenant), "credentialsSecret": gw.Admin.Secret})
		ctx.Export("adminPassword", pulumi.ToSecret(gw.Admin.Password))
	}
	endpoints := pulumi.StringMap{}
	for group, url := range lk.Routes {
		endpoints[group] = pulumi.String(url)
	}
	facts, err := spec.Facts().Output()
	if err != nil {
		return err
	}
	ctx.Export("lokiMode", pulumi.String(lk.Mode))
	ctx.Export("lokiEndpoints", endpoints)
	ctx.Export("gatewayUrl", pulumi.String(gw.URL))
	ctx.Export("pushUrl", pulumi.String(gw.PushURL))
	ctx.Export("queryUrl", pulumi.String(gw.QueryURL))
	ctx.Export("tenant", pulumi.String(spec.Loki.Tenant))
	ctx.Export("namespace", pulumi.String(spec.Cluster.Namespace))
	// What Alloy collects, so verify knows which lines to look for.
	var consumed []string
	if k != nil && spec.Alloy.ConsumeKafka {
		consumed = k.Topics
	}
	ctx.Export("alloy", pulumi.Map{"podLogs": pulumi.Bool(spec.Alloy.PodLogs), "kafkaTopics": pulumi.ToStringArray(consumed)})
	ctx.Export("grafanaDatasource", pulumi.StringMap{
		"name": pulumi.String(ds.Name), "uid": pulumi.String(ds.UID),
		"secretName": ds.SecretName, "secretNamespace": pulumi.String(cmp.Or(spec.Grafana.Namespace, spec.Cluster.Namespace)),
	})
	ctx.Export("dataFacts", pulumi.ToMap(facts))
	// Every object store Loki is configured for: what it is, where its data lies, and whether
	// new data goes there (the others hold older periods).
	stores := pulumi.Map{}
	for _, st := range spec.Storage.All {
		r := st.Record()
		stores[string(st.Kind())] = pulumi.Map{"store": pulumi.String(r.Store), "places": pulumi.ToStringMap(r.Places), "newData": pulumi.Bool(st.Kind() == spec.Storage.Primary)}
	}
	ctx.Export("objectStores", stores)
	ctx.Export("sizing", pulumi.ToMapArray(sizingOutput(spec)))
	return nil
}

func sizingOutput(spec stacks.Valid) []map[string]any {
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
