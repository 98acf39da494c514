// Package grafana provisions datasources into an existing Grafana through its sidecar
// (kube-prometheus-stack / grafana chart style): a Secret labelled for the sidecar holds the
// provisioning file, so credentials never land in a ConfigMap.
package grafana

import (
	"fmt"
	"slices"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/grafana/provisioning"
	"obs-stack/components/kube"
	"obs-stack/stacks"
)

// Args of the datasources component.
type Args struct {
	// Stack's Namespace is where the Secret goes when SecretNamespace is empty.
	kube.Stack
	// SecretNamespace is where Grafana's sidecar looks; empty means the stack's namespace.
	SecretNamespace string
	// SecretName of the provisioning Secret.
	SecretName string
	// SidecarLabel and SidecarLabelValue mark the Secret for Grafana's sidecar.
	SidecarLabel, SidecarLabelValue string
	// Settings of the provisioned datasources.
	Settings provisioning.Settings
	// GatewayURL is the gateway Service URL: Grafana always reads Loki through the gateway.
	GatewayURL string
	// Auth is the gateway's basic auth; nil while Loki auth is off.
	Auth *Auth
	// Tenants get a datasource each, reading with their own credentials; All is the "all
	// tenants" datasource of the admin user (nil without tenants).
	Tenants []Auth
	All     *Auth
}

// Auth is how Grafana authenticates to the gateway.
type Auth struct {
	// Username and Password of the gateway's basic auth.
	Username string
	Password pulumi.StringInput
	// Tenant is sent as X-Scope-OrgID.
	Tenant string
}

// Datasources is the component.
type Datasources struct {
	pulumi.ResourceState
	// Name and UID of the Loki datasource.
	Name, UID string
	// SecretName is the provisioning Secret's name.
	SecretName pulumi.StringOutput
}

// AllTenantsUID is the uid of the "all tenants" datasource: the Loki datasource's with a
// suffix, within Grafana's 40 characters.
func AllTenantsUID(uid string) string {
	const suffix = "-all"
	return uid[:min(len(uid), 40-len(suffix))] + suffix
}

// New declares the provisioning Secret.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Datasources, error) {
	c := &Datasources{Name: args.Settings.Name, UID: args.Settings.UID}
	if err := ctx.RegisterComponentResource("obs-stack:grafana:Datasources", name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering Grafana datasources component: %w", err)
	}
	namespace := args.Namespace
	if args.SecretNamespace != "" {
		namespace = pulumi.String(args.SecretNamespace)
	}
	in := provisioning.Input{GatewayURL: args.GatewayURL}
	// Every password is an output: they are resolved together and the file is built from all.
	passwords := []any{pulumi.String("").ToStringOutput()}
	if args.Auth != nil {
		in.BasicAuth, in.Username, in.Tenant = true, args.Auth.Username, args.Auth.Tenant
		passwords[0] = args.Auth.Password.ToStringOutput()
	}
	for _, t := range args.Tenants {
		in.Tenants = append(in.Tenants, provisioning.Credentials{Username: t.Username, Tenant: t.Tenant,
			Name: args.Settings.Name + " (" + t.Tenant + ")", UID: stacks.TenantDatasourceUID(t.Tenant)})
		passwords = append(passwords, t.Password.ToStringOutput())
	}
	if args.All != nil {
		in.All = &provisioning.Credentials{Username: args.All.Username, Tenant: args.All.Tenant,
			Name: args.Settings.Name + " (all tenants)", UID: AllTenantsUID(args.Settings.UID)}
		passwords = append(passwords, args.All.Password.ToStringOutput())
	}
	file := pulumi.All(passwords...).ApplyT(func(pws []any) (string, error) {
		in := in
		in.Password = pws[0].(string)
		in.Tenants = slices.Clone(in.Tenants)
		for i := range in.Tenants {
			in.Tenants[i].Password = pws[1+i].(string)
		}
		if in.All != nil {
			all := *in.All
			all.Password = pws[len(pws)-1].(string)
			in.All = &all
		}
		return provisioning.Build(args.Settings, in)
	}).(pulumi.StringOutput)

	labels := kube.NewLabels("grafana-datasources", args.Instance, "datasources", "").With(map[string]string{args.SidecarLabel: args.SidecarLabelValue})
	secret, err := corev1.NewSecret(ctx, name, &corev1.SecretArgs{
		Metadata:   kube.Meta(args.SecretName, namespace, labels),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{provisioning.File: pulumi.ToSecret(file).(pulumi.StringOutput)},
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("creating Grafana datasources Secret: %w", err)
	}
	c.SecretName = secret.Metadata.Name().Elem()
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"name": pulumi.String(c.Name), "uid": pulumi.String(c.UID), "secretName": c.SecretName,
	}); err != nil {
		return nil, fmt.Errorf("registering Grafana datasources outputs: %w", err)
	}
	return c, nil
}
