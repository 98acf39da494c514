// Package grafana provisions datasources into an existing Grafana through its sidecar
// (kube-prometheus-stack / grafana chart style): a Secret labelled for the sidecar holds the
// provisioning file, so credentials never land in a ConfigMap.
package grafana

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"sigs.k8s.io/yaml"

	"obs-stack/components/kube"
	"obs-stack/stacks"
)

// Args of the datasources component.
type Args struct {
	// Stack's Namespace is the stack's, used when grafana.namespace is empty.
	kube.Stack
	// GatewayURL is the gateway Service URL: Grafana always reads Loki through the gateway.
	GatewayURL pulumi.StringInput
	// Username and Password of the gateway's basic auth; Password is nil when auth is off.
	Username string
	Password pulumi.StringInput
}

// Datasources is the component.
type Datasources struct {
	pulumi.ResourceState
	// Name and UID of the Loki datasource.
	Name, UID string
	// SecretName is the provisioning Secret's name.
	SecretName pulumi.StringOutput
}

// Provisioning is Grafana's datasource provisioning file.
type Provisioning struct {
	APIVersion  int          `json:"apiVersion"`
	Datasources []Datasource `json:"datasources"`
}

// Datasource is one provisioned datasource.
type Datasource struct {
	Name           string            `json:"name"`
	Type           string            `json:"type"`
	UID            string            `json:"uid"`
	Access         string            `json:"access"`
	URL            string            `json:"url"`
	IsDefault      bool              `json:"isDefault,omitempty"`
	BasicAuth      bool              `json:"basicAuth,omitempty"`
	BasicAuthUser  string            `json:"basicAuthUser,omitempty"`
	JSONData       map[string]any    `json:"jsonData,omitempty"`
	SecureJSONData map[string]string `json:"secureJsonData,omitempty"`
}

// ProvisioningInput are the plain values the provisioning file is built from.
type ProvisioningInput struct {
	GatewayURL string
	Username   string
	Password   string // empty when auth is off
}

// BuildProvisioning renders the provisioning file for the spec.
func BuildProvisioning(s stacks.Spec, in ProvisioningInput) (string, error) {
	g := s.Grafana
	loki := Datasource{
		Name: g.DatasourceName, Type: "loki", UID: g.DatasourceUID, Access: "proxy", URL: in.GatewayURL,
		JSONData: map[string]any{"maxLines": g.MaxLines, "timeout": g.TimeoutSeconds},
	}
	if s.Loki.AuthEnabled {
		// The gateway pins the tenant too; Grafana sends the same one so both always agree.
		loki.BasicAuth, loki.BasicAuthUser = true, in.Username
		loki.JSONData["httpHeaderName1"] = "X-Scope-OrgID"
		loki.SecureJSONData = map[string]string{"basicAuthPassword": in.Password, "httpHeaderValue1": s.Loki.Tenant}
	}
	p := Provisioning{APIVersion: 1, Datasources: []Datasource{loki}}
	if g.PrometheusURL != "" {
		p.Datasources = append(p.Datasources, Datasource{Name: "Prometheus", Type: "prometheus", UID: "prometheus", Access: "proxy", URL: g.PrometheusURL})
	}
	out, err := yaml.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("rendering Grafana datasources: %w", err)
	}
	return string(out), nil
}

// New declares the provisioning Secret.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Datasources, error) {
	s := args.Spec
	c := &Datasources{Name: s.Grafana.DatasourceName, UID: s.Grafana.DatasourceUID}
	if err := ctx.RegisterComponentResource("obs-stack:grafana:Datasources", name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering Grafana datasources component: %w", err)
	}
	namespace := args.Namespace
	if s.Grafana.Namespace != "" {
		namespace = pulumi.String(s.Grafana.Namespace)
	}
	password := args.Password
	if password == nil {
		password = pulumi.String("")
	}
	file := pulumi.All(args.GatewayURL, password).ApplyT(func(v []any) (string, error) {
		return BuildProvisioning(s, ProvisioningInput{GatewayURL: v[0].(string), Username: args.Username, Password: v[1].(string)})
	}).(pulumi.StringOutput)

	labels := kube.NewLabels("grafana-datasources", args.Instance, "datasources", "").All
	labels[s.Grafana.SidecarLabel] = pulumi.String(s.Grafana.SidecarLabelValue)
	secret, err := corev1.NewSecret(ctx, name, &corev1.SecretArgs{
		Metadata:   kube.Meta(s.DatasourceSecretName(), namespace, labels),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{"obs-stack-datasources.yaml": pulumi.ToSecret(file).(pulumi.StringOutput)},
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
