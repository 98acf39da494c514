// Package canary declares loki-canary: one pod that writes a line a second to its stdout
// (Alloy's pod logs carry it into Loki: the stack's own write path), reads the lines back
// through the gateway with the stack's tenant and credentials (a websocket tail, then range
// queries for what the tail missed), and exports what went missing as metrics on :3500.
package canary

import (
	"fmt"
	"strings"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/kube"
	"obs-stack/stacks"
)

// Port serves the canary's /metrics.
const Port = 3500

// Container is the canary container's name; with the pod's name it is the stream the canary
// queries: {pod="<pod>", container="loki-canary"}, the labels Alloy's pod logs set.
const Container = "loki-canary"

// Args of the canary.
type Args struct {
	kube.Stack
	Image     string
	Resources stacks.Resources
	// GatewayURL is the gateway's in-cluster base URL (http://host[:port]).
	GatewayURL string
	// Tenant the canary reads as; CredentialsSecret holds the gateway's username and
	// password keys (empty: the gateway asks for none).
	Tenant            string
	CredentialsSecret pulumi.StringOutput
	AuthEnabled       bool
}

// Canary is the component.
type Canary struct {
	pulumi.ResourceState
}

// New declares the canary's Deployment.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Canary, error) {
	c := &Canary{}
	if err := ctx.RegisterComponentResource("obs-stack:canary:Canary", name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering canary component: %w", err)
	}
	labels := args.Labels(Container, "canary", args.Image)
	port := kube.Port{Name: kube.MetricsPortName, Number: Port}
	env := corev1.EnvVarArray{corev1.EnvVarArgs{Name: pulumi.String("POD_NAME"), ValueFrom: &corev1.EnvVarSourceArgs{
		FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String("metadata.name")},
	}}}
	flags := pulumi.StringArray{
		// -addr is host:port; the canary adds the scheme.
		pulumi.String("-addr=" + strings.TrimPrefix(args.GatewayURL, "http://")),
		pulumi.String("-labelname=pod"), pulumi.String("-labelvalue=$(POD_NAME)"),
		pulumi.String("-streamname=container"), pulumi.String("-streamvalue=" + Container),
		pulumi.String(fmt.Sprintf("-port=%d", Port)),
	}
	if args.AuthEnabled {
		// The password reaches the process through the environment, never the pod spec:
		// Kubernetes expands $(VAR) in args from the container's env.
		env = append(env, kube.EnvFromSecret("LOKI_USERNAME", args.CredentialsSecret, "username"), kube.EnvFromSecret("LOKI_PASSWORD", args.CredentialsSecret, "password"))
		flags = append(flags, pulumi.String("-user=$(LOKI_USERNAME)"), pulumi.String("-pass=$(LOKI_PASSWORD)"), pulumi.String("-tenant-id="+args.Tenant))
	}
	pod := kube.Pod{
		Labels: labels, UID: 10001,
		Containers: []corev1.ContainerArgs{{
			Name:      pulumi.String(Container),
			Image:     pulumi.String(args.Image),
			Args:      flags,
			Env:       env,
			Ports:     kube.ContainerPorts(port),
			Resources: kube.Resources(args.Resources),
			ReadinessProbe: &corev1.ProbeArgs{
				HttpGet: &corev1.HTTPGetActionArgs{Path: pulumi.String("/metrics"), Port: pulumi.String(port.Name)},
			},
		}},
	}
	args.Spread(&pod.Spec, stacks.AntiAffinityNone, labels.Selector, 1, "")
	_, err := appsv1.NewDeployment(ctx, name, pod.Deployment(Container, args.Namespace, 1), pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("creating the canary Deployment: %w", err)
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{}); err != nil {
		return nil, fmt.Errorf("registering canary outputs: %w", err)
	}
	return c, nil
}
