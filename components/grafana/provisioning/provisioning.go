// Package provisioning renders Grafana's datasource provisioning file: plain values in, YAML
// out, no Pulumi types, so verify and the tests read and build it without linking the SDK.
package provisioning

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// File is the provisioning Secret's key: the file Grafana's sidecar writes.
const File = "obs-stack-datasources.yaml"

// Settings of the provisioned datasources.
type Settings struct {
	// Name and UID of the Loki datasource.
	Name, UID string
	// MaxLines returned per query and TimeoutSeconds of a query.
	MaxLines, TimeoutSeconds int
	// PrometheusURL adds a Prometheus datasource when set.
	PrometheusURL string
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

// Input are the plain values the provisioning file is built from.
type Input struct {
	GatewayURL string
	// BasicAuth sends Username and Password, and Tenant as X-Scope-OrgID.
	BasicAuth                  bool
	Username, Password, Tenant string
	// Tenants get a datasource each, reading as their own gateway user; All, when set, is the
	// "all tenants" datasource of the admin user (it reads every tenant, Tenant being "a|b|...").
	Tenants []Credentials
	All     *Credentials
}

// Credentials of one gateway user, and the tenant (or tenants) it reads.
type Credentials struct {
	Username, Password, Tenant string
	// Name and UID of its datasource.
	Name, UID string
}

// Build renders the provisioning file.
func Build(g Settings, in Input) (string, error) {
	datasource := func(name, uid string, auth *Credentials) Datasource {
		ds := Datasource{
			Name: name, Type: "loki", UID: uid, Access: "proxy", URL: in.GatewayURL,
			JSONData: map[string]any{"maxLines": g.MaxLines, "timeout": g.TimeoutSeconds},
		}
		if auth != nil {
			// The gateway pins the tenant too; Grafana sends the same one so both always agree.
			ds.BasicAuth, ds.BasicAuthUser = true, auth.Username
			ds.JSONData["httpHeaderName1"] = "X-Scope-OrgID"
			ds.SecureJSONData = map[string]string{"basicAuthPassword": auth.Password, "httpHeaderValue1": auth.Tenant}
		}
		return ds
	}
	var auth *Credentials
	if in.BasicAuth {
		auth = &Credentials{Username: in.Username, Password: in.Password, Tenant: in.Tenant}
	}
	p := Provisioning{APIVersion: 1, Datasources: []Datasource{datasource(g.Name, g.UID, auth)}}
	for _, t := range in.Tenants {
		p.Datasources = append(p.Datasources, datasource(t.Name, t.UID, &t))
	}
	if in.All != nil {
		p.Datasources = append(p.Datasources, datasource(in.All.Name, in.All.UID, in.All))
	}
	if g.PrometheusURL != "" {
		p.Datasources = append(p.Datasources, Datasource{Name: "Prometheus", Type: "prometheus", UID: "prometheus", Access: "proxy", URL: g.PrometheusURL})
	}
	out, err := yaml.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("rendering Grafana datasources: %w", err)
	}
	return string(out), nil
}
