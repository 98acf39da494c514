package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"obs-stack/components/gateway/nginx"
	"obs-stack/components/grafana/provisioning"
	"obs-stack/internal/nginxtest"
)

// Node lists as `kubectl get nodes -o json` prints them, written by hand: a node as
// toolchain/cluster-up.sh creates it, and kind's control-plane node.
const (
	kwokNodes = `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Node","metadata":{"name":"kwok-simulated-node-0",
	  "annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},
	  "labels":{"kubernetes.io/hostname":"kwok-simulated-node-0","type":"kwok","obs-stack/simulated":"true"}},
	  "status":{"nodeInfo":{"kubeletVersion":"kwok-simulated"}}}]}`
	kindNodes = `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Node","metadata":{"name":"kind-control-plane",
	  "annotations":{"kubeadm.alpha.kubernetes.io/cri-socket":"unix:///run/containerd/containerd.sock","node.alpha.kubernetes.io/ttl":"0"},
	  "labels":{"kubernetes.io/hostname":"kind-control-plane","node-role.kubernetes.io/control-plane":""}},
	  "status":{"nodeInfo":{"kubeletVersion":"v1.33.1","containerRuntimeVersion":"containerd://2.1.1"}}}]}`
	// Only kwok's label, as kwok's own examples create nodes.
	labelOnlyNodes = `{"items":[{"metadata":{"name":"real-1"}},{"metadata":{"name":"fake-1","labels":{"type":"kwok"}}}]}`
)

func TestSimulatedNodes(t *testing.T) {
	for _, c := range []struct {
		name, json string
		want       []string
		total      int
	}{
		{"kwok", kwokNodes, []string{"kwok-simulated-node-0"}, 1},
		{"kind", kindNodes, nil, 1},
		{"label only", labelOnlyNodes, []string{"fake-1"}, 2},
	} {
		got, total, err := SimulatedNodes([]byte(c.json))
		if err != nil || !slices.Equal(got, c.want) || total != c.total {
			t.Errorf("%s: simulated %v of %d (%v), want %v of %d", c.name, got, total, err, c.want, c.total)
		}
	}
	if _, _, err := SimulatedNodes([]byte("error: You must be logged in")); err == nil {
		t.Error("a non-JSON answer was read as a node list")
	}
}

// fakeCluster stands in for kubectl: nodes, a port-forward to a fixed URL, a broker whose
// console producer hands its lines to Loki's stand-in, and the datasource Secret.
type fakeCluster struct {
	nodes      string
	forwardTo  string
	loki       *lokiStandIn
	execErr    error
	secret     map[string][]byte
	forwards   []string
	execs      [][]string
	execStdins []string
}

func (f *fakeCluster) Nodes(context.Context) ([]byte, error) { return []byte(f.nodes), nil }

func (f *fakeCluster) PortForward(_ context.Context, ns, svc string, port int) (string, func(), error) {
	f.forwards = append(f.forwards, fmt.Sprintf("%s/%s:%d", ns, svc, port))
	return f.forwardTo, func() {}, nil
}

func (f *fakeCluster) Exec(_ context.Context, ns, pod, container, stdin string, argv ...string) (string, error) {
	f.execs = append(f.execs, append([]string{ns, pod, container}, argv...))
	f.execStdins = append(f.execStdins, stdin)
	if f.execErr != nil {
		return "", f.execErr
	}
	topic := argv[slices.Index(argv, "--topic")+1]
	f.loki.add(map[string]string{"topic": topic, "partition": "0"}, strings.TrimSuffix(stdin, "\n"))
	return "", nil
}

func (f *fakeCluster) SecretData(_ context.Context, ns, name string) (map[string][]byte, error) {
	if ns != "observability" || name != "obs-stack-datasources" {
		return nil, fmt.Errorf("secrets %q not found in %s", name, ns)
	}
	return f.secret, nil
}

// push is what Loki's stand-in received on /loki/api/v1/push.
type push struct {
	orgID, user, password string
	hasAuth               bool
	labels                map[string]string
	line                  string
}

// lokiStandIn records pushes and answers query_range for `{k="v"} |= "text"` and `{k="v"}`.
type lokiStandIn struct {
	mu      sync.Mutex
	pushes  []push
	streams []Stream // what queries can find
	orgs    []string // the tenant each stream was pushed to ("" for one added by a test)
	forget  bool     // accept pushes but never find them
	leak    bool     // let every tenant read every stream, as a Loki without auth would
}

func (l *lokiStandIn) add(labels map[string]string, line string) { l.addTo("", labels, line) }

func (l *lokiStandIn) addTo(org string, labels map[string]string, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.streams = append(l.streams, Stream{Labels: labels, Lines: []string{line}})
	l.orgs = append(l.orgs, org)
}

// visible: a stream pushed to a tenant is found only by a query sent as that tenant or as a
// list naming it ("a|b", Loki's multi-tenant queries).
func (l *lokiStandIn) visible(i int, queryOrg string) bool {
	return l.leak || l.orgs[i] == "" || queryOrg == "" || slices.Contains(strings.Split(queryOrg, "|"), l.orgs[i])
}

func (l *lokiStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PushPath:
		var body struct {
			Streams []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"streams"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Streams) != 1 || len(body.Streams[0].Values) != 1 {
			http.Error(w, fmt.Sprintf("bad push body: %v", err), http.StatusBadRequest)
			return
		}
		if _, err := strconv.ParseInt(body.Streams[0].Values[0][0], 10, 64); err != nil {
			http.Error(w, "timestamp is not nanoseconds", http.StatusBadRequest)
			return
		}
		user, password, hasAuth := r.BasicAuth()
		p := push{orgID: r.Header.Get("X-Scope-OrgID"), user: user, password: password, hasAuth: hasAuth,
			labels: body.Streams[0].Stream, line: body.Streams[0].Values[0][1]}
		l.mu.Lock()
		l.pushes = append(l.pushes, p)
		l.mu.Unlock()
		if !l.forget {
			l.addTo(p.orgID, p.labels, p.line)
		}
		w.WriteHeader(http.StatusNoContent)
	case QueryRangePath:
		selector, filter, _ := strings.Cut(r.URL.Query().Get("query"), " |= ")
		key, value, _ := strings.Cut(strings.Trim(selector, "{}"), "=")
		value, _ = strconv.Unquote(value)
		filter, _ = strconv.Unquote(filter)
		type result struct {
			Stream map[string]string `json:"stream"`
			Values [][2]string       `json:"values"`
		}
		results := []result{}
		l.mu.Lock()
		for i, s := range l.streams {
			if s.Labels[key] == value && strings.Contains(s.Lines[0], filter) && l.visible(i, r.Header.Get("X-Scope-OrgID")) {
				results = append(results, result{s.Labels, [][2]string{{"1", s.Lines[0]}}})
			}
		}
		l.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "streams", "result": results}})
	default:
		http.NotFound(w, r)
	}
}

const password = "the-gateway-password-0123456789ab"

// datasourceSecret renders the provisioning Secret with the component's own renderer.
func datasourceSecret(t *testing.T, url, pw string) map[string][]byte {
	t.Helper()
	file, err := provisioning.Build(provisioning.Settings{Name: "Loki", UID: "loki", MaxLines: 1000, TimeoutSeconds: 60},
		provisioning.Input{GatewayURL: url, BasicAuth: pw != "", Username: nginx.Username, Password: pw, Tenant: "default"})
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{provisioning.File: []byte(file)}
}

// prodTarget is what FromOutputs reads from a prod stack's outputs (auth on, Kafka consumed).
func prodTarget(pw string) Target {
	return Target{
		Stack: "prod", Namespace: "observability", GatewayURL: "http://loki-gateway.observability.svc.cluster.local",
		Gateway: Service{Namespace: "observability", Name: "loki-gateway", Port: 80},
		Tenant:  "default", Username: nginx.Username, Password: pw, PodLogs: true,
		KafkaTopics: []string{"logs"}, KafkaBootstrap: "kafka-0.kafka-headless.observability.svc.cluster.local:9092", KafkaPod: "kafka-0",
		Datasource: Datasource{UID: "loki", SecretNamespace: "observability", SecretName: "obs-stack-datasources"},
	}
}

// startGateway runs real nginx with the gateway's config (auth on or off) in front of Loki's stand-in.
func startGateway(t *testing.T, auth bool, tenant string) (*lokiStandIn, string) {
	t.Helper()
	loki := &lokiStandIn{}
	srv := httptest.NewServer(loki)
	t.Cleanup(srv.Close)
	gw := nginxtest.Start(t, nginx.Input{Routes: nginxtest.AllRoutes(srv.URL), AuthEnabled: auth, Tenant: tenant}, password)
	return loki, gw.URL
}

func load(t Target) func(context.Context) (Target, error) {
	return func(context.Context) (Target, error) { return t, nil }
}

func quick(out *bytes.Buffer) Options {
	return Options{Out: out, Deadline: 3 * time.Second, Poll: 100 * time.Millisecond, ID: "id-42"}
}

func TestRunThroughRealNginxWithAuth(t *testing.T) {
	loki, url := startGateway(t, true, "default")
	loki.add(map[string]string{"namespace": "observability", "pod": "loki-0", "container": "loki"}, "level=info msg=ready")
	c := &fakeCluster{nodes: kindNodes, forwardTo: url, loki: loki,
		secret: datasourceSecret(t, "http://loki-gateway.observability.svc.cluster.local", password)}
	var out bytes.Buffer
	if err := Run(context.Background(), c, load(prodTarget(password)), quick(&out)); err != nil {
		t.Fatalf("verify failed: %v\n%s", err, out.String())
	}
	// The push went through nginx with the stack's tenant and credentials.
	if len(loki.pushes) != 1 {
		t.Fatalf("Loki's stand-in got %d pushes, want 1\n%s", len(loki.pushes), out.String())
	}
	p := loki.pushes[0]
	if p.orgID != "default" || !p.hasAuth || p.user != "obs-stack" || p.password != password {
		t.Errorf("push arrived with X-Scope-OrgID %q, basic auth %v as %q (password right: %v); want tenant default as obs-stack", p.orgID, p.hasAuth, p.user, p.password == password)
	}
	if p.line != "obs-stack verify push id-42" || p.labels["job"] != "obs-stack-verify" || len(p.labels) != 1 {
		t.Errorf("pushed line %q with labels %v", p.line, p.labels)
	}
	if !slices.Equal(c.forwards, []string{"observability/loki-gateway:80"}) {
		t.Errorf("port-forwards %v, want the gateway Service's port 80", c.forwards)
	}
	// The producer ran in the first broker with the image's script, a small heap and the line on stdin.
	wantExec := []string{"observability", "kafka-0", "kafka", "env", "KAFKA_HEAP_OPTS=-Xmx128m", "/opt/kafka/bin/kafka-console-producer.sh",
		"--bootstrap-server", "kafka-0.kafka-headless.observability.svc.cluster.local:9092", "--topic", "logs"}
	if len(c.execs) != 1 || !slices.Equal(c.execs[0], wantExec) || c.execStdins[0] != "obs-stack verify kafka id-42\n" {
		t.Errorf("exec %q with stdin %q, want %q", c.execs, c.execStdins, wantExec)
	}
	text := out.String()
	for _, want := range []string{
		"✓ the cluster's 1 node(s) are real",
		"✓ port-forward to svc/loki-gateway:80 in observability",
		"✓ gateway answers / through the port-forward",
		`✓ push of "obs-stack verify push id-42" to /loki/api/v1/push (tenant default, user obs-stack)`,
		`✓ query_range {job="obs-stack-verify"} |= "id-42" reads the pushed line back`,
		`✓ query_range {namespace="observability"} finds a pod line Alloy collected in the last 10m0s (pod loki-0, container loki)`,
		`✓ produce "obs-stack verify kafka id-42" to topic logs`,
		`✓ query_range {topic="logs"} |= "id-42" finds the line Alloy consumed from Kafka`,
		"✓ Grafana datasource loki in Secret observability/obs-stack-datasources points at svc/loki-gateway:80",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, password) {
		t.Error("the output shows the gateway password")
	}
}

func TestRunThroughRealNginxAuthOff(t *testing.T) {
	loki, url := startGateway(t, false, "fake")
	target := prodTarget("")
	target.Tenant, target.PodLogs, target.KafkaTopics = "fake", false, nil
	c := &fakeCluster{nodes: kindNodes, forwardTo: url, loki: loki,
		secret: datasourceSecret(t, "http://loki-gateway.observability.svc.cluster.local", "")}
	var out bytes.Buffer
	if err := Run(context.Background(), c, load(target), quick(&out)); err != nil {
		t.Fatalf("verify failed: %v\n%s", err, out.String())
	}
	if len(loki.pushes) != 1 || loki.pushes[0].orgID != "fake" || loki.pushes[0].hasAuth {
		t.Errorf("pushes %+v, want one with X-Scope-OrgID fake and no basic auth", loki.pushes)
	}
	text := out.String()
	for _, want := range []string{"(tenant fake, no auth)", "- pod logs: skipped, alloy.podLogs is off", "- Kafka: skipped"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if len(c.execs) != 0 {
		t.Errorf("Kafka was written to without a consumed topic: %q", c.execs)
	}
}

func TestWrongPasswordIsRefusedByNginx(t *testing.T) {
	loki, url := startGateway(t, true, "default")
	c := &fakeCluster{nodes: kindNodes, forwardTo: url, loki: loki,
		secret: datasourceSecret(t, "http://loki-gateway.observability.svc.cluster.local", password)}
	target := prodTarget("not-the-password")
	target.PodLogs, target.KafkaTopics = false, nil
	var out bytes.Buffer
	err := Run(context.Background(), c, load(target), quick(&out))
	if err == nil {
		t.Fatalf("verify passed with a wrong password:\n%s", out.String())
	}
	if len(loki.pushes) != 0 {
		t.Errorf("nginx let %d push(es) through to Loki", len(loki.pushes))
	}
	text := out.String()
	for _, want := range []string{
		"✗ push of",
		"the gateway refused user obs-stack with the stack's gatewayPassword (401)",
		"POST /loki/api/v1/push answered 401 Unauthorized",
		// The Secret holds the right password: the datasource check says the stack's differs.
		"its basic auth password is not the stack's gatewayPassword",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, password) || strings.Contains(text, "not-the-password") {
		t.Error("the output shows a password")
	}
}

func TestQueryThatNeverFindsTheLineFailsAtTheDeadline(t *testing.T) {
	loki, url := startGateway(t, true, "default")
	loki.forget = true
	c := &fakeCluster{nodes: kindNodes, forwardTo: url, loki: loki,
		secret: datasourceSecret(t, "http://loki-gateway.observability.svc.cluster.local", password)}
	target := prodTarget(password)
	target.PodLogs, target.KafkaTopics = false, nil
	var out bytes.Buffer
	o := quick(&out)
	o.Deadline = 300 * time.Millisecond
	began := time.Now()
	err := Run(context.Background(), c, load(target), o)
	took := time.Since(began)
	if err == nil {
		t.Fatalf("verify passed though Loki never returned the line:\n%s", out.String())
	}
	want := `no line containing "id-42" for {job="obs-stack-verify"} |= "id-42" within 300ms`
	if !strings.Contains(err.Error(), want) || !strings.Contains(out.String(), "✗ query_range") {
		t.Errorf("error %q, want it to contain %q; output:\n%s", err, want, out.String())
	}
	if took < o.Deadline || took > 5*time.Second {
		t.Errorf("verify took %s, want it to give up at the %s deadline", took, o.Deadline)
	}
}

func TestRunRefusesTheSimulatedPlane(t *testing.T) {
	c := &fakeCluster{nodes: kwokNodes}
	loaded := false
	var out bytes.Buffer
	err := Run(context.Background(), c, func(context.Context) (Target, error) { loaded = true; return Target{}, nil }, quick(&out))
	if !errors.Is(err, ErrSimulated) {
		t.Fatalf("err = %v, want ErrSimulated", err)
	}
	text := out.String()
	for _, want := range []string{"✗ 1 of 1 node(s) are simulated by kwok (kwok-simulated-node-0) (0.", "no container runs", "verify needs a real cluster", "kind"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if loaded || len(c.forwards) != 0 {
		t.Errorf("after the refusal the stack was read (%v) or port-forwarded (%v)", loaded, c.forwards)
	}
}

func TestDatasourceThatPointsElsewhereFails(t *testing.T) {
	loki, url := startGateway(t, false, "fake")
	target := prodTarget("")
	target.PodLogs, target.KafkaTopics = false, nil
	// Grafana reading a Loki component directly: the field failure the gateway exists to avoid.
	c := &fakeCluster{nodes: kindNodes, forwardTo: url, loki: loki,
		secret: datasourceSecret(t, "http://loki-query-frontend.observability.svc.cluster.local:3100", "")}
	var out bytes.Buffer
	err := Run(context.Background(), c, load(target), quick(&out))
	if err == nil || !strings.Contains(out.String(), "its url http://loki-query-frontend.observability.svc.cluster.local:3100 is not the gateway's http://loki-gateway.observability.svc.cluster.local") {
		t.Errorf("err = %v, output:\n%s", err, out.String())
	}
}

func TestKafkaProducerFailureIsReported(t *testing.T) {
	loki, url := startGateway(t, false, "fake")
	target := prodTarget("")
	target.PodLogs = false
	c := &fakeCluster{nodes: kindNodes, forwardTo: url, loki: loki, execErr: errors.New(`pods "kafka-0" not found`),
		secret: datasourceSecret(t, "http://loki-gateway.observability.svc.cluster.local", "")}
	var out bytes.Buffer
	err := Run(context.Background(), c, load(target), quick(&out))
	if err == nil || !strings.Contains(out.String(), `✗ produce "obs-stack verify kafka id-42" to topic logs (console producer in pod kafka-0): pods "kafka-0" not found`) {
		t.Errorf("err = %v, output:\n%s", err, out.String())
	}
	// The other steps still ran: the datasource check follows the Kafka step.
	if !strings.Contains(out.String(), "✓ Grafana datasource") {
		t.Errorf("a failed Kafka step stopped the later checks:\n%s", out.String())
	}
}

func TestFromOutputs(t *testing.T) {
	// As the Automation API returns them after `up` of prod (JSON-decoded values).
	outputs := map[string]any{}
	if err := yaml.Unmarshal([]byte(`
namespace: observability
gatewayUrl: http://loki-gateway.observability.svc.cluster.local
tenant: default
gatewayPassword: `+password+`
kafkaBootstrapServers: kafka-0.kafka-headless.observability.svc.cluster.local:9092,kafka-1.kafka-headless.observability.svc.cluster.local:9092
kafkaTopics: [logs]
alloy: {podLogs: true, kafkaTopics: [logs]}
grafanaDatasource: {name: Loki, uid: loki, secretName: obs-stack-datasources, secretNamespace: observability}
`), &outputs); err != nil {
		t.Fatal(err)
	}
	got, err := FromOutputs("prod", outputs)
	if err != nil {
		t.Fatal(err)
	}
	want := prodTarget(password)
	want.KafkaBootstrap += ",kafka-1.kafka-headless.observability.svc.cluster.local:9092"
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("target\n%+v\nwant\n%+v", got, want)
	}

	// With tenants: each tenant's user and password, and the admin's, as the program exports them.
	if err := yaml.Unmarshal([]byte(`
tenants: {team-b: {username: team-b, pushUrl: x, credentialsSecret: loki-tenant-team-b}, team-a: {username: team-a, pushUrl: x, credentialsSecret: loki-tenant-team-a}}
tenantPasswords: {team-a: pw-a, team-b: pw-b}
adminCredentials: {username: obs-stack-admin, tenants: default|team-a|team-b, credentialsSecret: loki-gateway-admin}
adminPassword: pw-admin
`), &outputs); err != nil {
		t.Fatal(err)
	}
	got, err = FromOutputs("prod", outputs)
	wantTenants := []Login{{"team-a", "pw-a", "team-a"}, {"team-b", "pw-b", "team-b"}}
	if err != nil || !slices.Equal(got.Tenants, wantTenants) || got.Admin == nil || *got.Admin != (Login{"obs-stack-admin", "pw-admin", "default|team-a|team-b"}) {
		t.Errorf("tenants %+v, admin %+v (%v); want %+v and the admin", got.Tenants, got.Admin, err, wantTenants)
	}
	delete(outputs, "adminPassword")
	if _, err := FromOutputs("prod", outputs); err == nil || !strings.Contains(err.Error(), "adminCredentials/adminPassword") {
		t.Errorf("a missing admin password must be named, got %v", err)
	}

	// An older stack's outputs: every missing one is named at once.
	_, err = FromOutputs("dev", map[string]any{"tenant": "fake", "gatewayUrl": "http://loki-gateway.observability-dev.svc.cluster.local"})
	for _, want := range []string{"stack output namespace is missing", "stack output alloy is missing", "stack output grafanaDatasource lacks"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %q", err, want)
		}
	}
}

func TestServiceOf(t *testing.T) {
	for url, want := range map[string]Service{
		"http://loki-gateway.observability-dev.svc.cluster.local":       {"observability-dev", "loki-gateway", 80},
		"http://loki-gateway.obs.svc.k8s.example:8080/loki/api/v1/push": {"obs", "loki-gateway", 8080},
	} {
		if got, err := ServiceOf(url); err != nil || got != want {
			t.Errorf("ServiceOf(%s) = %v, %v; want %v", url, got, err, want)
		}
	}
	if _, err := ServiceOf("http://127.0.0.1:3100"); err == nil {
		t.Error("an address that names no Service was accepted")
	}
}

func TestForwardedPort(t *testing.T) {
	for line, want := range map[string]int{
		"Forwarding from 127.0.0.1:41234 -> 8080": 41234,
		"Forwarding from [::1]:41234 -> 8080":     0,
		"Handling connection for 41234":           0,
	} {
		if got, ok := ForwardedPort(line); got != want || ok != (want != 0) {
			t.Errorf("ForwardedPort(%q) = %d, %v; want %d", line, got, ok, want)
		}
	}
}

// TestRunChecksEveryTenant: with tenants, verify pushes as each tenant's user through real
// nginx (the gateway's per-tenant users), reads the line back as that tenant, finds it hidden
// from the default tenant and visible to the admin. The stand-in keeps tenants apart as Loki
// does; with it leaking (a gateway or Loki that mixes tenants) verify must fail naming the leak.
// It fails if verify skipped the tenants or checked them with the default user.
func TestRunChecksEveryTenant(t *testing.T) {
	for _, leak := range []bool{false, true} {
		loki := &lokiStandIn{leak: leak}
		srv := httptest.NewServer(loki)
		t.Cleanup(srv.Close)
		users := []nginx.User{{Name: nginx.Username, OrgID: "default", Push: true}, {Name: "team-a", OrgID: "team-a", Push: true}, {Name: "obs-stack-admin", OrgID: "default|team-a"}}
		gw := nginxtest.StartUsers(t, nginx.Input{Routes: nginxtest.AllRoutes(srv.URL), AuthEnabled: true, Tenant: "default", Users: users},
			map[string]string{nginx.Username: password, "team-a": "team-a-password-0123456789abcdefgh", "obs-stack-admin": "admin-password-0123456789abcdefghij"})
		loki.add(map[string]string{"namespace": "observability", "pod": "loki-0", "container": "loki"}, "level=info msg=ready")
		c := &fakeCluster{nodes: kindNodes, forwardTo: gw.URL, loki: loki,
			secret: datasourceSecret(t, "http://loki-gateway.observability.svc.cluster.local", password)}
		target := prodTarget(password)
		target.Tenants = []Login{{Username: "team-a", Password: "team-a-password-0123456789abcdefgh", Tenant: "team-a"}}
		target.Admin = &Login{Username: "obs-stack-admin", Password: "admin-password-0123456789abcdefghij", Tenant: "default|team-a"}
		var out bytes.Buffer
		err := Run(context.Background(), c, load(target), quick(&out))
		text := out.String()
		if leak {
			if err == nil || !strings.Contains(text, "✗ tenant default does not see it: tenant team-a's line is visible to tenant default") {
				t.Errorf("a leaking stand-in must fail the tenant check, got %v:\n%s", err, text)
			}
			continue
		}
		if err != nil {
			t.Fatalf("verify failed: %v\n%s", err, text)
		}
		for _, want := range []string{
			`✓ push of "obs-stack verify tenant id-42-team-a" as tenant team-a's user team-a`,
			"✓ tenant team-a reads its line back", "✓ tenant default does not see it", "✓ the admin obs-stack-admin reads it across default|team-a",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("output lacks %q:\n%s", want, text)
			}
		}
		var tenantPush *push
		for i := range loki.pushes {
			if strings.Contains(loki.pushes[i].line, "tenant") {
				tenantPush = &loki.pushes[i]
			}
		}
		if tenantPush == nil || tenantPush.orgID != "team-a" || tenantPush.user != "team-a" {
			t.Errorf("the tenant's push arrived as %+v, want X-Scope-OrgID team-a from user team-a", tenantPush)
		}
	}
}
