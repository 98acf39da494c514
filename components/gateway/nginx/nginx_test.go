package nginx_test

import (
	"cmp"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"obs-stack/components/gateway/nginx"
	"obs-stack/internal/nginxtest"
	"obs-stack/stacks"
)

// received is what a stand-in upstream saw.
type received struct {
	target, method, path, orgID, upgrade string
}

// standIns starts one recording HTTP server on 127.0.0.1 per Loki target.
type standIns struct {
	mu   sync.Mutex
	got  []received
	urls map[string]string
}

func startStandIns(t *testing.T, targets []string) *standIns {
	s := &standIns{urls: map[string]string{}}
	for _, target := range targets {
		target := target
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.got = append(s.got, received{target, r.Method, r.URL.Path, r.Header.Get("X-Scope-OrgID"), r.Header.Get("Upgrade")})
			s.mu.Unlock()
			if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					return
				}
				buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
				buf.Flush()
				conn.Close()
				return
			}
			fmt.Fprintf(w, "%s saw %s", target, r.URL.Path)
		}))
		t.Cleanup(srv.Close)
		s.urls[target] = srv.URL
	}
	return s
}

func (s *standIns) last() received {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) == 0 {
		return received{}
	}
	return s.got[len(s.got)-1]
}

// TestRealNginxRoutes runs Debian's nginx with the generated config of each mode in front of
// stand-in upstreams and checks where each kind of request lands.
func TestRealNginxRoutes(t *testing.T) {
	// Where each route group and ring page must land, per mode, written out by hand (the
	// gateway's config is built from the spec's RouteTargets and RingPageTargets, which these
	// check too).
	one := "single-binary"
	singleBinary := map[string]string{stacks.RoutePush: one, stacks.RouteQuery: one, stacks.RouteTail: one, stacks.RouteRules: one, stacks.RouteDelete: one,
		"/ring": one, "/distributor/ring": one, "/compactor/ring": one, "/ruler/ring": one, "/scheduler/ring": one}
	simpleScalable := map[string]string{stacks.RoutePush: "write", stacks.RouteQuery: "read", stacks.RouteTail: "read", stacks.RouteRules: "backend", stacks.RouteDelete: "backend",
		"/ring": "write", "/distributor/ring": "write", "/compactor/ring": "backend", "/ruler/ring": "backend"}
	distributed := map[string]string{stacks.RoutePush: "distributor", stacks.RouteQuery: "query-frontend", stacks.RouteTail: "query-frontend", stacks.RouteRules: "ruler", stacks.RouteDelete: "compactor",
		"/ring": "distributor", "/distributor/ring": "distributor", "/compactor/ring": "compactor", "/ruler/ring": "ruler"}
	ringPages := []string{"/ring", "/distributor/ring", "/compactor/ring", "/ruler/ring", "/scheduler/ring"}
	modes := []struct {
		preset, mode string
		auth         bool
		want         map[string]string // route group or ring page -> target
	}{
		{"dev", stacks.SingleBinary, false, singleBinary},
		{"prod", stacks.SimpleScalable, true, simpleScalable},
		{"prod", stacks.Distributed, true, distributed},
		{"prod", stacks.Distributed, false, distributed},
	}
	for _, m := range modes {
		t.Run(fmt.Sprintf("%s-auth=%v", m.mode, m.auth), func(t *testing.T) {
			spec := stacks.Presets[m.preset]()
			spec.Loki.Mode = m.mode
			if !m.auth {
				spec.Loki.AuthEnabled, spec.Loki.Tenant = false, "fake"
			}
			var targets []string
			for _, target := range spec.Loki.Targets() {
				targets = append(targets, target.Name)
			}
			ups := startStandIns(t, targets)

			in := nginx.Input{
				Routes: map[string]string{}, RingPages: map[string]string{},
				AuthEnabled: spec.Loki.AuthEnabled, Tenant: spec.Loki.Tenant,
			}
			for group, target := range spec.Loki.RouteTargets() {
				in.Routes[group] = ups.urls[target]
			}
			for path, target := range spec.Loki.RingPageTargets() {
				in.RingPages[path] = ups.urls[target]
			}
			base := nginxtest.Start(t, in, "s3cret").URL

			request := func(method, path string, auth bool, headers ...string) *http.Response {
				t.Helper()
				req, err := http.NewRequest(method, base+path, strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				if auth {
					req.SetBasicAuth(nginx.Username, "s3cret")
				}
				for i := 0; i+1 < len(headers); i += 2 {
					req.Header.Set(headers[i], headers[i+1])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
				resp.Body.Close()
				return resp
			}
			cases := []struct {
				method, path, group string
				headers             []string
				status              int
			}{
				{"POST", "/loki/api/v1/push", stacks.RoutePush, nil, 200},
				{"POST", "/otlp/v1/logs", stacks.RoutePush, nil, 200},
				{"GET", "/loki/api/v1/query_range", stacks.RouteQuery, nil, 200},
				{"GET", "/loki/api/v1/labels", stacks.RouteQuery, nil, 200},
				{"GET", "/loki/api/v1/tail", stacks.RouteTail, []string{"Upgrade", "websocket", "Connection", "Upgrade"}, 101},
				{"GET", "/loki/api/v1/rules", stacks.RouteRules, nil, 200},
				{"GET", "/prometheus/api/v1/alerts", stacks.RouteRules, nil, 200},
				{"POST", "/loki/api/v1/delete", stacks.RouteDelete, nil, 200},
			}
			for _, c := range cases {
				resp := request(c.method, c.path, m.auth, c.headers...)
				got := ups.last()
				if resp.StatusCode != c.status || got.target != m.want[c.group] || got.path != c.path {
					t.Errorf("%s %s: status %d, reached %s at %s; want %d at %s", c.method, c.path, resp.StatusCode, got.target, got.path, c.status, m.want[c.group])
				}
				wantOrg := ""
				if m.auth {
					wantOrg = spec.Loki.Tenant
				}
				if got.orgID != wantOrg {
					t.Errorf("%s %s: X-Scope-OrgID %q, want %q", c.method, c.path, got.orgID, wantOrg)
				}
				if c.status == 101 && !strings.EqualFold(got.upgrade, "websocket") {
					t.Errorf("tail: upstream saw Upgrade %q", got.upgrade)
				}
			}
			// A ring page without a target has no route: the gateway answers 404 itself. Loki
			// serves /scheduler/ring only without a scheduler_address, i.e. in SingleBinary; the
			// scalable modes set one and Loki answers 404, so the gateway has no such route.
			for _, path := range ringPages {
				seen := len(ups.got)
				resp := request("GET", path, m.auth)
				target, routed := m.want[path]
				if got := ups.last(); routed && (resp.StatusCode != 200 || got.target != target || got.path != path) {
					t.Errorf("ring page %s: status %d, reached %s at %s; want %s", path, resp.StatusCode, got.target, got.path, target)
				}
				if !routed && (resp.StatusCode != 404 || len(ups.got) != seen) {
					t.Errorf("ring page %s: status %d, %d upstream requests; want the gateway's 404 and none", path, resp.StatusCode, len(ups.got)-seen)
				}
			}
			if m.auth {
				if resp := request("POST", "/loki/api/v1/push", false); resp.StatusCode != 401 {
					t.Errorf("push without credentials: %d, want 401", resp.StatusCode)
				}
				// A client cannot choose its tenant: the gateway pins the header.
				request("GET", "/loki/api/v1/labels", true, "X-Scope-OrgID", "someone-else")
				if got := ups.last(); got.orgID != spec.Loki.Tenant {
					t.Errorf("client-sent tenant leaked through: %q", got.orgID)
				}
			}
			if resp := request("GET", "/", false); resp.StatusCode != 200 {
				t.Errorf("health check without credentials: %d", resp.StatusCode)
			}
			if resp := request("GET", "/nothing-here", m.auth); resp.StatusCode != 404 {
				t.Errorf("unknown path: %d, want 404", resp.StatusCode)
			}
		})
	}
}

// TestBuildUsers checks the rendered text of the per-user maps and of the push location,
// written out by hand, and that Users changes nothing without auth.
func TestBuildUsers(t *testing.T) {
	in := nginx.Input{
		Resolver: "kube-dns", Routes: nginxtest.AllRoutes("http://loki:3100"), AuthEnabled: true, Tenant: "fake",
		Users: []nginx.User{
			{Name: "team-b", OrgID: "team-b", Push: true},
			{Name: "admin", OrgID: "fake|team-a|team-b"},
			{Name: "default", OrgID: `we"ird`}, // a map parameter's name, escaped as a key
		},
	}
	text, err := nginx.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`
    map $remote_user $obs_org_id {
        default "";
        "admin" "fake|team-a|team-b";
        "\\default" "we\"ird";
        "team-b" "team-b";
    }
    map $remote_user $obs_can_push {
        default "";
        "team-b" "1";
    }
    server {
`, `
        location = /.obs-stack/forbidden {
            internal;
            root /dev/null;
            try_files /forbidden =403;
        }
`, `
        location ~ "^/(loki/api/v1/push|api/prom/push|otlp/v1/logs)$" {
            if ($obs_org_id = "") {
                rewrite ^ /.obs-stack/forbidden last;
            }
            if ($obs_can_push = "") {
                rewrite ^ /.obs-stack/forbidden last;
            }
            set $push http://loki:3100;
            proxy_pass $push;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Scope-OrgID $obs_org_id;
        }
`} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks%s\n--- config:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "X-Scope-OrgID $obs_org_id;"); n != 5 {
		t.Errorf("X-Scope-OrgID pinned to $obs_org_id in %d locations, want the 5 route groups", n)
	}
	if strings.Contains(text, `X-Scope-OrgID "fake"`) {
		t.Errorf("Tenant still pinned with Users set")
	}

	// Without auth, Users is ignored: the same file as without Users.
	in.AuthEnabled = false
	withUsers, _ := nginx.Build(in)
	in.Users = nil
	withoutUsers, _ := nginx.Build(in)
	if withUsers != withoutUsers {
		t.Errorf("Users changed the config without auth:\n%s", withUsers)
	}

	for _, bad := range [][]nginx.User{
		{{Name: "", OrgID: "a"}},
		{{Name: "a:b", OrgID: "a"}},
		{{Name: "alice", OrgID: "a"}, {Name: "Alice", OrgID: "b"}},
		{{Name: "alice", OrgID: "$host"}},
	} {
		if _, err := nginx.Build(nginx.Input{Routes: nginxtest.AllRoutes("http://loki:3100"), AuthEnabled: true, Users: bad}); err == nil {
			t.Errorf("Build accepted users %+v", bad)
		}
	}
}

// TestRealNginxTenants runs Debian's nginx with several users and checks which tenant each
// request reaches Loki as. It fails if proxy() pins X-Scope-OrgID to Input.Tenant (or passes the
// client's header) when Users is set, if the $obs_can_push gate leaves the push route, or if
// the gate becomes a bare "return 403" (nginx's rewrite phase runs before auth_basic: a request
// without credentials or with a wrong password would get 403, not 401).
func TestRealNginxTenants(t *testing.T) {
	ups := startStandIns(t, []string{"loki"})
	passwords := map[string]string{
		"team-a": "a-pass", "team-b": "b-pass", nginx.Username: "default-pass", "admin": "admin-pass", "orgless": "orgless-pass",
	}
	gw := nginxtest.StartUsers(t, nginx.Input{
		Routes: nginxtest.AllRoutes(ups.urls["loki"]), RingPages: map[string]string{"/ring": ups.urls["loki"]},
		AuthEnabled: true, Tenant: "fake",
		Users: []nginx.User{
			{Name: "team-a", OrgID: "team-a", Push: true},
			{Name: "team-b", OrgID: "team-b", Push: true},
			{Name: nginx.Username, OrgID: "fake", Push: true},
			{Name: "admin", OrgID: "fake|team-a|team-b"},
			{Name: "orgless", OrgID: "", Push: true}, // should not happen: refused, not sent without a tenant
		},
	}, passwords)

	const (
		none  = "\x00"       // no credentials
		wrong = "wrong-pass" // a wrong password
	)
	websocket := []string{"Upgrade", "websocket", "Connection", "Upgrade"}
	cases := []struct {
		name, user, password, method, path string
		headers                            []string
		status                             int
		orgID                              string // as the upstream received it; "" with a refusal: nothing reached it
	}{
		{"A push, forged team-b", "team-a", "", "POST", "/loki/api/v1/push", []string{"X-Scope-OrgID", "team-b"}, 200, "team-a"},
		{"B push", "team-b", "", "POST", "/loki/api/v1/push", nil, 200, "team-b"},
		{"default user push", nginx.Username, "", "POST", "/loki/api/v1/push", nil, 200, "fake"},
		{"A query, forged team-b", "team-a", "", "GET", "/loki/api/v1/query_range", []string{"X-Scope-OrgID", "team-b"}, 200, "team-a"},
		{"B query, forged multi-tenant", "team-b", "", "GET", "/loki/api/v1/query_range", []string{"X-Scope-OrgID", "team-a|team-b"}, 200, "team-b"},
		{"admin query", "admin", "", "GET", "/loki/api/v1/query_range", nil, 200, "fake|team-a|team-b"},
		{"admin query, forged team-a", "admin", "", "GET", "/loki/api/v1/labels", []string{"X-Scope-OrgID", "team-a"}, 200, "fake|team-a|team-b"},
		{"admin ring page", "admin", "", "GET", "/ring", nil, 200, "fake|team-a|team-b"},
		{"admin push refused", "admin", "", "POST", "/loki/api/v1/push", nil, 403, ""},
		{"admin prom push refused", "admin", "", "POST", "/api/prom/push", nil, 403, ""},
		{"A OTLP push, forged team-b", "team-a", "", "POST", "/otlp/v1/logs", []string{"X-Scope-OrgID", "team-b"}, 200, "team-a"},
		{"admin OTLP push refused", "admin", "", "POST", "/otlp/v1/logs", nil, 403, ""},
		{"A wrong password", "team-a", wrong, "GET", "/loki/api/v1/query_range", nil, 401, ""},
		{"A wrong password push", "team-a", wrong, "POST", "/loki/api/v1/push", nil, 401, ""},
		{"admin wrong password push", "admin", wrong, "POST", "/loki/api/v1/push", nil, 401, ""},
		{"unknown user", "mallory", "a-pass", "GET", "/loki/api/v1/query_range", nil, 401, ""},
		{"unknown user push", "mallory", "a-pass", "POST", "/loki/api/v1/push", []string{"X-Scope-OrgID", "team-a"}, 401, ""},
		{"no credentials", none, "", "GET", "/loki/api/v1/query_range", []string{"X-Scope-OrgID", "team-a"}, 401, ""},
		{"no credentials push", none, "", "POST", "/loki/api/v1/push", nil, 401, ""},
		{"no credentials OTLP push", none, "", "POST", "/otlp/v1/logs", nil, 401, ""},
		{"A tail", "team-a", "", "GET", "/loki/api/v1/tail", append([]string{"X-Scope-OrgID", "team-b"}, websocket...), 101, "team-a"},
		{"B tail", "team-b", "", "GET", "/loki/api/v1/tail", websocket, 101, "team-b"},
		{"user without a tenant", "orgless", "", "GET", "/loki/api/v1/query_range", nil, 403, ""},
		{"user without a tenant push", "orgless", "", "POST", "/loki/api/v1/push", nil, 403, ""},
		{"the refusal location is internal", "team-a", "", "GET", "/.obs-stack/forbidden", nil, 404, ""},
	}
	for _, c := range cases {
		req, err := http.NewRequest(c.method, gw.URL+c.path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		if c.user != none {
			req.SetBasicAuth(c.user, cmp.Or(c.password, passwords[c.user]))
		}
		for i := 0; i+1 < len(c.headers); i += 2 {
			req.Header.Set(c.headers[i], c.headers[i+1])
		}
		ups.mu.Lock()
		seen := len(ups.got)
		ups.mu.Unlock()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		resp.Body.Close()
		ups.mu.Lock()
		reached := ups.got[seen:]
		ups.mu.Unlock()
		if resp.StatusCode != c.status {
			t.Errorf("%s: %s %s: status %d, want %d", c.name, c.method, c.path, resp.StatusCode, c.status)
		}
		switch {
		case c.orgID == "" && len(reached) != 0:
			t.Errorf("%s: %d requests reached the upstream (first as %q), want none", c.name, len(reached), reached[0].orgID)
		case c.orgID != "" && len(reached) != 1:
			t.Errorf("%s: %d requests reached the upstream, want 1", c.name, len(reached))
		case c.orgID != "" && (reached[0].orgID != c.orgID || reached[0].path != c.path):
			t.Errorf("%s: upstream got %s as X-Scope-OrgID %q, want %s as %q", c.name, reached[0].path, reached[0].orgID, c.path, c.orgID)
		}
	}
}
