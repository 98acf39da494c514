package program

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"obs-stack/internal/mocktest"
)

// twoTenants is prod with two teams, as a user writes it (full config keys to JSON values).
func twoTenants(rateA string, extra string) map[string]string {
	return map[string]string{"obs-stack:loki.tenants": `[
		{"name":"team-a","namespaces":["shop"],"limits":{"ingestionRateMB":` + rateA + `,"ingestionBurstSizeMB":96,"queryTimeout":"2m"},
		 "retention":{"period":"2160h","streams":[{"selector":"{namespace=\"shop\", app=\"audit\"}","period":"8760h","priority":2}]}},
		{"name":"team-b","namespaces":["search"],"topics":["logs"]}` + extra + `]`}
}

func byName(rec *mocktest.Recorder) map[string]mocktest.Resource {
	out := map[string]mocktest.Resource{}
	for _, r := range rec.Resources {
		out[r.Type+" "+r.Name] = r
	}
	return out
}

// TestTenantsEndToEnd: two tenants reach every part. The expected values are written by hand
// from Loki's runtime-config format (overrides.<tenant>.<limits_config key>), the gateway's
// user scheme and Grafana's provisioning format. It fails if a tenant's limits missed the
// runtime file, if Alloy wrote a tenant's logs with the default credentials, if a tenant's
// password reached a ConfigMap, or if the "all tenants" datasource read fewer tenants.
func TestTenantsEndToEnd(t *testing.T) {
	rec := mustRun(t, "prod", twoTenants("32", ""))
	res := byName(rec)

	runtime := res["kubernetes:core/v1:ConfigMap loki-runtime"]
	if mocktest.Dig(runtime.Inputs, "metadata", "name") != "loki-runtime" {
		t.Fatalf("the runtime ConfigMap must have a fixed name (an update in place), got %v", mocktest.Dig(runtime.Inputs, "metadata", "name"))
	}
	var rc map[string]any
	if err := yaml.Unmarshal([]byte(mocktest.Dig(runtime.Inputs, "data", "runtime.yaml").(string)), &rc); err != nil {
		t.Fatal(err)
	}
	wantA := map[string]any{"ingestion_rate_mb": float64(32), "ingestion_burst_size_mb": float64(96), "query_timeout": "2m", "retention_period": "90d",
		"retention_stream": []any{map[string]any{"selector": `{namespace="shop", app="audit"}`, "priority": float64(2), "period": "1y"}}}
	if got := mocktest.Dig(rc, "overrides", "team-a"); !reflect.DeepEqual(got, wantA) {
		t.Errorf("team-a overrides = %v, want %v", got, wantA)
	}
	if got := mocktest.Dig(rc, "overrides", "team-b"); !reflect.DeepEqual(got, map[string]any{}) {
		t.Errorf("team-b overrides = %v, want none (the global limits)", got)
	}
	cfg := lokiConfig(t, rec)
	if mocktest.Dig(cfg, "runtime_config", "file") != "/etc/loki/runtime/runtime.yaml" || mocktest.Dig(cfg, "compactor", "retention_enabled") != true {
		t.Errorf("Loki config: runtime_config %v, compactor %v", cfg["runtime_config"], cfg["compactor"])
	}

	for secret, user := range map[string]string{"loki-tenant-team-a": "team-a", "loki-tenant-team-b": "team-b", "loki-gateway-admin": "obs-stack-admin"} {
		found := false
		for _, r := range rec.OfType("kubernetes:core/v1:Secret") {
			if mocktest.Dig(r.Inputs, "metadata", "name") == secret {
				found = mocktest.Dig(r.Inputs, "stringData", "username") == user
			}
		}
		if !found {
			t.Errorf("no Secret %s with username %s", secret, user)
		}
	}
	for _, cm := range rec.OfType("kubernetes:core/v1:ConfigMap") {
		if raw, _ := json.Marshal(cm.Inputs); strings.Contains(string(raw), mocktest.Password) {
			t.Errorf("ConfigMap %s holds a password", cm.Name)
		}
	}

	alloyEnv := map[string]any{}
	for _, e := range mocktest.Dig(rec.One(t, "kubernetes:apps/v1:DaemonSet").Inputs, "spec", "template", "spec", "containers", 0, "env").([]any) {
		alloyEnv[e.(map[string]any)["name"].(string)] = mocktest.Dig(e, "valueFrom", "secretKeyRef", "name")
	}
	if alloyEnv["LOKI_USERNAME_0"] != "loki-tenant-team-a" || alloyEnv["LOKI_PASSWORD_1"] != "loki-tenant-team-b" || alloyEnv["LOKI_USERNAME"] != "loki-gateway-auth" {
		t.Errorf("Alloy's credentials env = %v", alloyEnv)
	}

	var grafanaFile string
	for _, s := range rec.OfType("kubernetes:core/v1:Secret") {
		if f, ok := mocktest.Dig(s.Inputs, "stringData", "obs-stack-datasources.yaml").(string); ok {
			grafanaFile = f
		}
	}
	for _, want := range []string{"name: Loki (team-a)", "uid: loki-team-a", "basicAuthUser: team-b", "name: Loki (all tenants)", "uid: loki-all", "httpHeaderValue1: default|team-a|team-b", "basicAuthUser: obs-stack-admin"} {
		if !strings.Contains(grafanaFile, want) {
			t.Errorf("Grafana's datasources lack %q:\n%s", want, grafanaFile)
		}
	}
}

// TestTenantLimitChangeTouchesOnlyTheRuntimeConfig: one tenant's limit changed is one
// ConfigMap's content changed, and nothing else (no pod template, so no pod rolls). It fails
// if the runtime file were hashed into a pod template or auto-named (a new name rolls every
// Loki pod), or if the limit went into Loki's main config.
func TestTenantLimitChangeTouchesOnlyTheRuntimeConfig(t *testing.T) {
	before, after := byName(mustRun(t, "prod", twoTenants("32", ""))), byName(mustRun(t, "prod", twoTenants("64", "")))
	var changed []string
	for key, r := range after {
		if !reflect.DeepEqual(r.Inputs, before[key].Inputs) {
			changed = append(changed, key)
		}
	}
	if !slices.Equal(changed, []string{"kubernetes:core/v1:ConfigMap loki-runtime"}) {
		t.Errorf("changed: %v, want only the runtime ConfigMap", changed)
	}
}

// TestAddingATenantCreatesOnlyItsObjects: a third tenant creates its own password and Secret
// and no other object (the shared ones change in place or roll). It fails if a tenant's
// objects were named by position (adding one would rename the others').
func TestAddingATenantCreatesOnlyItsObjects(t *testing.T) {
	before, after := byName(mustRun(t, "prod", twoTenants("32", ""))), byName(mustRun(t, "prod", twoTenants("32", `,{"name":"team-c","namespaces":["billing"]}`)))
	var created []string
	for key := range after {
		if _, ok := before[key]; !ok {
			created = append(created, key)
		}
	}
	slices.Sort(created)
	if want := []string{"kubernetes:core/v1:Secret gateway-tenant-team-c", "random:index/randomPassword:RandomPassword gateway-password-team-c"}; !slices.Equal(created, want) {
		t.Errorf("created %v, want %v", created, want)
	}
}

// TestProdStackFileTenantExample: the commented two-tenant example in Pulumi.prod.yaml,
// uncommented as a user would, previews. It fails when the example drifts from the spec.
func TestProdStackFileTenantExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "Pulumi.prod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(raw), "#  obs-stack:loki:")
	if start < 0 {
		t.Fatal("Pulumi.prod.yaml lost its tenant example")
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(raw[start:]), "\n"), "\n") {
		lines = append(lines, strings.TrimPrefix(l, "#"))
	}
	file := "config:\n" + strings.Join(lines, "\n") + "\n"
	rec, err := runStackFile(t, catalogueCase{Stack: "prod", File: file})
	if err != nil {
		t.Fatalf("the example does not preview: %v\n%s", err, file)
	}
	if n := len(rec.OfType("random:index/randomPassword:RandomPassword")); n != 4 {
		t.Errorf("%d gateway passwords, want 4 (default, team-a, team-b, admin)", n)
	}
}

// TestEveryObjectIsForceApplied: every Kubernetes object carries pulumi.com/patchForce, so a
// field left with a forgotten field manager by an interrupted up is taken back instead of
// failing the next change (the integration suite's change table hit that conflict on
// loki-chunks-cache after recover). It fails when an object is declared without kube.Meta or
// kube.Owned.
func TestEveryObjectIsForceApplied(t *testing.T) {
	for name, rec := range map[string]*mocktest.Recorder{"dev": mustRun(t, "dev", nil), "prod with tenants": mustRun(t, "prod", twoTenants("32", ""))} {
		for _, r := range rec.Resources {
			if !strings.HasPrefix(r.Type, "kubernetes:") {
				continue
			}
			if mocktest.Dig(r.Inputs, "metadata", "annotations", "pulumi.com/patchForce") != "true" {
				t.Errorf("%s: %s %s lacks pulumi.com/patchForce", name, r.Type, r.Name)
			}
		}
	}
}
