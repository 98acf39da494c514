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
)

// ProvisioningFile is the provisioning Secret's key: the file Grafana's sidecar writes.
const ProvisioningFile = "obs-stack-datasources.yaml"

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
	Settings Settings
	// GatewayURL is the gateway Service URL: Grafana always reads Loki through the gateway.
	GatewayURL pulumi.StringInput
	// Auth is the gateway's basic auth; nil while Loki auth is off.
	Auth *Auth
}

// Settings of the provisioned datasources.
type Settings struct {
	// Name and UID of the Loki datasource.
	Name, UID string
	// MaxLines returned per query and TimeoutSeconds of a query.
	MaxLines, TimeoutSeconds int
	// PrometheusURL adds a Prometheus datasource when set.
	PrometheusURL string
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
	// BasicAuth sends Username and Password, and Tenant as X-Scope-OrgID.
	BasicAuth                  bool
	Username, Password, Tenant string
}

// BuildProvisioning renders the provisioning file.
func BuildProvisioning(g Settings, in ProvisioningInput) (string, error) {
	loki := Datasource{
		Name: g.Name, Type: "loki", UID: g.UID, Access: "proxy", URL: in.GatewayURL,
		JSONData: map[string]any{"maxLines": g.MaxLines, "timeout": g.TimeoutSeconds},
	}
	if in.BasicAuth {
		// The gateway pins the tenant too; Grafana sends the same one so both always agree.
		loki.BasicAuth, loki.BasicAuthUser = true, in.Username
		loki.JSONData["httpHeaderName1"] = "X-Scope-OrgID"
		loki.SecureJSONData = map[string]string{"basicAuthPassword": in.Password, "httpHeaderValue1": in.Tenant}
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
	c := &Datasources{Name: args.Settings.Name, UID: args.Settings.UID}
	if err := ctx.RegisterComponentResource("obs-stack:grafana:Datasources", name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering Grafana datasources component: %w", err)
	}
	namespace := args.Namespace
	if args.SecretNamespace != "" {
		namespace = pulumi.String(args.SecretNamespace)
	}
	in := ProvisioningInput{}
	var password pulumi.StringInput = pulumi.String("")
	if args.Auth != nil {
		in = ProvisioningInput{BasicAuth: true, Username: args.Auth.Username, Tenant: args.Auth.Tenant}
		password = args.Auth.Password
	}
	file := pulumi.All(args.GatewayURL, password).ApplyT(func(v []any) (string, error) {
		in := in
		in.GatewayURL, in.Password = v[0].(string), v[1].(string)
		return BuildProvisioning(args.Settings, in)
	}).(pulumi.StringOutput)

	labels := kube.NewLabels("grafana-datasources", args.Instance, "datasources", "").All
	labels[args.SidecarLabel] = pulumi.String(args.SidecarLabelValue)
	secret, err := corev1.NewSecret(ctx, name, &corev1.SecretArgs{
		Metadata:   kube.Meta(args.SecretName, namespace, labels),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{ProvisioningFile: pulumi.ToSecret(file).(pulumi.StringOutput)},
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
