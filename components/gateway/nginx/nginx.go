// Package nginx renders the gateway's nginx config from plain values: no Pulumi types, so the
// tests run it through real nginx, and verify reads its names, without linking the SDK.
package nginx

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"obs-stack/stacks"
)

// Username of the gateway's basic auth (the one user of its htpasswd file; with tenants, the
// default tenant's user). Its name is stacks', which keeps tenants from taking it.
const Username = stacks.DefaultUser

// Paths inside the gateway container.
const (
	ListenPort   = 8080
	ConfigDir    = "/etc/nginx/config"
	ConfigFile   = "nginx.conf"
	SecretsDir   = "/etc/nginx/secrets"
	HtpasswdFile = ".htpasswd"
)

// Input are the plain values nginx's config is built from.
type Input struct {
	// Resolver is the cluster DNS Service (or an IP) nginx resolves upstream names through.
	Resolver string
	// Routes maps each route group (stacks.RoutePush, ...) to the base URL serving it.
	Routes map[string]string
	// RingPages maps a ring page path to the base URL serving it.
	RingPages map[string]string
	// AuthEnabled requires basic auth and pins X-Scope-OrgID to Tenant (or, with Users, to the
	// tenant(s) of the authenticated user).
	AuthEnabled bool
	Tenant      string
	// Users, with AuthEnabled, maps each basic-auth user to the tenant(s) it acts as; empty: the one
	// user Username acting as Tenant (as before).
	Users []User
	// Listen is nginx's listen address. Default: 8080.
	Listen string
	// RuntimeDir holds the pid and temporary files (the root filesystem is read-only). Default: /tmp.
	RuntimeDir string
	// HtpasswdPath is the basic-auth user file. Default: the Secret's mount.
	HtpasswdPath string
	// StatusListen, when set, adds a server there serving nginx's stub_status at
	// StatusPath for the metrics exporter beside nginx (e.g. 127.0.0.1:8081: the pod only).
	StatusListen string
}

// User is one basic-auth user of the gateway.
type User struct {
	Name  string // the htpasswd user name
	OrgID string // the X-Scope-OrgID nginx sends for it: one tenant, or "a|b|c" to read several (Loki's multi-tenant queries)
	Push  bool   // may push (the push and OTLP paths); a user without it gets 403 there
}

// The variables nginx maps $remote_user to when Input.Users is set, and the internal location
// refused requests are sent to.
const (
	orgIDVar      = "$obs_org_id"
	canPushVar    = "$obs_can_push"
	forbiddenPath = "/.obs-stack/forbidden"
)

// StatusPath serves nginx's stub_status on the StatusListen server.
const StatusPath = "/stub_status"

// routeLocations are the nginx locations of each route group, most specific first: nginx
// takes the first regex location that matches, so the catch-all query group comes last.
var routeLocations = []struct {
	group, pattern string
}{
	{stacks.RoutePush, `^/(loki/api/v1/push|api/prom/push|otlp/v1/logs)$`},
	{stacks.RouteTail, `^/(loki/api/v1/tail|api/prom/tail)$`},
	{stacks.RouteRules, `^/(loki/api/v1/rules|api/prom/rules|prometheus/api/v1/(rules|alerts))`},
	{stacks.RouteDelete, `^/loki/api/v1/delete$`},
	{stacks.RouteQuery, `^/(loki/api/v1|api/prom)/`},
}

// Directive is one nginx directive; a non-nil Block makes it a block directive. Render below
// is the one place that turns this data into text. Libraries were weighed: nginx's own
// nginx-go-crossplane (Apache-2.0) decides quoting itself and drops the final newline, so it
// renders a different file (and rolls the gateway); gonginx (MIT, now with no GPL dependency)
// writes arguments as given, so the quoting would stay ours.
type Directive struct {
	Name  string
	Args  []string
	Block []Directive
}

func d(name string, args ...string) Directive { return Directive{Name: name, Args: args} }

func block(name string, args []string, children ...Directive) Directive {
	if children == nil {
		children = []Directive{}
	}
	return Directive{Name: name, Args: args, Block: children}
}

// quote writes s as one double-quoted nginx argument. nginx (ngx_conf_read_token) reads
// \" and \\ in a quoted string as the character and keeps any other backslash, so only those
// two are escaped; Go's strconv.Quote would write \u00e9 or \x00, which nginx reads literally.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Render writes directives as nginx config, indented by depth.
func Render(directives []Directive, depth int) string {
	var b strings.Builder
	indent := strings.Repeat("    ", depth)
	for _, dir := range directives {
		b.WriteString(indent + strings.Join(append([]string{dir.Name}, dir.Args...), " "))
		if dir.Block == nil {
			b.WriteString(";\n")
			continue
		}
		b.WriteString(" {\n" + Render(dir.Block, depth+1) + indent + "}\n")
	}
	return b.String()
}

// proxy is the body of a location that forwards to upstream. The upstream sits in a
// variable so nginx resolves it at request time (Services may come and go) instead of
// refusing to start when a name does not resolve yet.
func proxy(in Input, variable, upstream string, websocket, push bool) []Directive {
	var out []Directive
	orgID := quote(in.Tenant)
	if multiUser(in) {
		orgID = orgIDVar
		out = append(out, refuseIfEmpty(orgIDVar))
		if push {
			out = append(out, refuseIfEmpty(canPushVar))
		}
	}
	out = append(out,
		d("set", "$"+variable, upstream),
		d("proxy_pass", "$"+variable),
		d("proxy_http_version", "1.1"),
		d("proxy_set_header", "Host", "$host"),
		d("proxy_set_header", "X-Forwarded-For", "$proxy_add_x_forwarded_for"))
	if in.AuthEnabled {
		// Pinned: a client cannot pick another tenant by sending its own header.
		out = append(out, d("proxy_set_header", "X-Scope-OrgID", orgID))
	}
	if websocket {
		out = append(out,
			d("proxy_set_header", "Upgrade", "$http_upgrade"),
			d("proxy_set_header", "Connection", "$connection_upgrade"),
			d("proxy_read_timeout", "3600s"))
	}
	return out
}

func multiUser(in Input) bool { return in.AuthEnabled && len(in.Users) > 0 }

// refuseIfEmpty sends the request to the forbidden location when variable is empty. Not a bare
// "return 403": return runs in nginx's rewrite phase, before auth_basic checks the password
// (access phase), so it would answer 403 to a request without credentials, or with a wrong
// password, instead of 401. "rewrite ... last" is, like return, safe inside if.
func refuseIfEmpty(variable string) Directive {
	return block("if", []string{"(" + variable, "=", `"")`}, d("rewrite", "^", forbiddenPath, "last"))
}

// forbidden answers 403 after auth_basic has accepted the user: try_files runs after the access
// phase, and nothing exists under /dev/null, so it falls through to =403.
func forbidden() Directive {
	return block("location", []string{"=", forbiddenPath},
		d("internal"), d("root", "/dev/null"), d("try_files", "/forbidden", "=403"))
}

// mapKey writes s as a string key of an nginx map: "default" and "include" would be read as
// the map's parameters, and a leading ~ as a regex, unless prefixed with \ (which nginx drops).
func mapKey(s string) string {
	if s == "default" || s == "include" || strings.HasPrefix(s, "~") || strings.HasPrefix(s, `\`) {
		s = `\` + s
	}
	return quote(s)
}

// userMaps are the maps from the authenticated user to its X-Scope-OrgID and its right to push,
// users sorted by name.
func userMaps(users []User) ([]Directive, error) {
	users = slices.Clone(users)
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	orgIDs := []Directive{d("default", `""`)}
	canPush := []Directive{d("default", `""`)}
	seen := map[string]string{}
	for _, u := range users {
		if u.Name == "" || strings.Contains(u.Name, ":") {
			return nil, fmt.Errorf("gateway: user name %q: want a non-empty htpasswd name without ':'", u.Name)
		}
		// nginx matches map strings ignoring case (and refuses keys equal but for case).
		if other, ok := seen[strings.ToLower(u.Name)]; ok {
			return nil, fmt.Errorf("gateway: users %q and %q differ only in case", other, u.Name)
		}
		seen[strings.ToLower(u.Name)] = u.Name
		if strings.Contains(u.OrgID, "$") {
			return nil, fmt.Errorf("gateway: user %q: org id %q: nginx would read $ as a variable", u.Name, u.OrgID)
		}
		orgIDs = append(orgIDs, d(mapKey(u.Name), quote(u.OrgID)))
		if u.Push {
			canPush = append(canPush, d(mapKey(u.Name), `"1"`))
		}
	}
	return []Directive{
		block("map", []string{"$remote_user", orgIDVar}, orgIDs...),
		block("map", []string{"$remote_user", canPushVar}, canPush...),
	}, nil
}

// Build builds nginx's whole config file for the gateway.
func Build(in Input) (string, error) {
	in.Listen = cmp.Or(in.Listen, strconv.Itoa(ListenPort))
	in.RuntimeDir = cmp.Or(in.RuntimeDir, "/tmp")
	in.HtpasswdPath = cmp.Or(in.HtpasswdPath, SecretsDir+"/"+HtpasswdFile)
	server := []Directive{d("listen", in.Listen)}
	if in.AuthEnabled {
		server = append(server,
			d("auth_basic", `"Loki"`),
			d("auth_basic_user_file", in.HtpasswdPath))
	}
	// Health check for the kubelet, open even when auth is on.
	server = append(server, block("location", []string{"=", "/"}, d("auth_basic", "off"), d("return", "200", `"OK\n"`)))
	if multiUser(in) {
		server = append(server, forbidden())
	}

	ringPaths := make([]string, 0, len(in.RingPages))
	for p := range in.RingPages {
		ringPaths = append(ringPaths, p)
	}
	sort.Strings(ringPaths)
	for _, p := range ringPaths {
		server = append(server, block("location", []string{"=", p}, proxy(in, "ring", in.RingPages[p], false, false)...))
	}
	for _, r := range routeLocations {
		upstream, ok := in.Routes[r.group]
		if !ok {
			return "", fmt.Errorf("gateway: no upstream for route group %q", r.group)
		}
		server = append(server, block("location", []string{"~", quote(r.pattern)}, proxy(in, r.group, upstream, r.group == stacks.RouteTail, r.group == stacks.RoutePush)...))
	}
	server = append(server, block("location", []string{"/"}, d("return", "404")))

	http := []Directive{
		// The root filesystem is read-only: every temporary file goes to the /tmp emptyDir.
		d("client_body_temp_path", in.RuntimeDir+"/client_temp"),
		d("proxy_temp_path", in.RuntimeDir+"/proxy_temp"),
		d("fastcgi_temp_path", in.RuntimeDir+"/fastcgi_temp"),
		d("uwsgi_temp_path", in.RuntimeDir+"/uwsgi_temp"),
		d("scgi_temp_path", in.RuntimeDir+"/scgi_temp"),
		d("access_log", "/dev/stdout"),
		d("resolver", in.Resolver, "valid=10s", "ipv6=off"),
		d("client_max_body_size", "100m"),
		d("proxy_read_timeout", "600s"),
		block("map", []string{"$http_upgrade", "$connection_upgrade"}, d("default", "upgrade"), d("''", "close")),
	}
	if multiUser(in) {
		maps, err := userMaps(in.Users)
		if err != nil {
			return "", err
		}
		http = append(http, maps...)
	}
	http = append(http, block("server", nil, server...))
	if in.StatusListen != "" {
		http = append(http, block("server", nil, d("listen", in.StatusListen),
			block("location", []string{"=", StatusPath}, d("stub_status"), d("access_log", "off")),
			block("location", []string{"/"}, d("return", "404"))))
	}
	root := []Directive{
		d("worker_processes", "auto"),
		d("pid", in.RuntimeDir+"/nginx.pid"),
		d("error_log", "/dev/stderr", "warn"),
		block("events", nil, d("worker_connections", "1024")),
		block("http", nil, http...),
	}
	return Render(root, 0), nil
}
