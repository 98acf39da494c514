package nginx_test

import (
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
