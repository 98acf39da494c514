package provisioning

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"obs-stack/stacks"
)

func parse(t *testing.T, text string) Provisioning {
	t.Helper()
	var p Provisioning
	if err := yaml.Unmarshal([]byte(text), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProvisioningPerAuthMode(t *testing.T) {
	settings := func(s stacks.Spec) Settings {
		g := s.Grafana
		return Settings{Name: g.DatasourceName, UID: g.DatasourceUID, MaxLines: g.MaxLines, TimeoutSeconds: g.TimeoutSeconds, PrometheusURL: g.PrometheusURL}
	}
	in := Input{GatewayURL: "http://loki-gateway.observability.svc.cluster.local", Username: "obs-stack", Password: "pw"}

	dev, err := Build(settings(stacks.Dev()), in)
	if err != nil {
		t.Fatal(err)
	}
	d := parse(t, dev)
	if d.APIVersion != 1 || len(d.Datasources) != 1 {
		t.Fatalf("dev provisioning = %+v", d)
	}
	if ds := d.Datasources[0]; ds.Type != "loki" || ds.Access != "proxy" || ds.URL != in.GatewayURL || ds.BasicAuth || ds.SecureJSONData != nil {
		t.Errorf("dev datasource = %+v (auth is off: no credentials, no tenant header)", ds)
	}
	if strings.Contains(dev, "pw") {
		t.Error("dev must not carry the password")
	}

	prodSpec := stacks.Prod()
	prodSpec.Grafana.PrometheusURL = "http://prometheus-operated.monitoring.svc:9090"
	in.BasicAuth, in.Tenant = true, prodSpec.Loki.Tenant
	prod, err := Build(settings(prodSpec), in)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, prod)
	if len(p.Datasources) != 2 || p.Datasources[1].Type != "prometheus" {
		t.Fatalf("prod with prometheusURL: %+v", p.Datasources)
	}
	ds := p.Datasources[0]
	if !ds.BasicAuth || ds.BasicAuthUser != "obs-stack" || ds.SecureJSONData["basicAuthPassword"] != "pw" ||
		ds.JSONData["httpHeaderName1"] != "X-Scope-OrgID" || ds.SecureJSONData["httpHeaderValue1"] != prodSpec.Loki.Tenant {
		t.Errorf("prod datasource = %+v", ds)
	}
	if _, isNumber := ds.JSONData["timeout"].(float64); !isNumber {
		t.Errorf("timeout must be a number of seconds, got %T", ds.JSONData["timeout"])
	}
}
