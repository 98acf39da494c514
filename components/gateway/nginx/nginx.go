// Package nginx renders the gateway's nginx config from plain values: no Pulumi types, so the
// tests run it through real nginx, and verify reads its names, without linking the SDK.
package nginx

import (
	"cmp"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"obs-stack/stacks"
)

// Username of the gateway's basic auth (the one user of its htpasswd file).
const Username = "obs-stack"

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
	// AuthEnabled requires basic auth and pins X-Scope-OrgID to Tenant.
	AuthEnabled bool
	Tenant      string
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
func proxy(in Input, variable, upstream string, websocket bool) []Directive {
	out := []Directive{
		d("set", "$"+variable, upstream),
		d("proxy_pass", "$"+variable),
		d("proxy_http_version", "1.1"),
		d("proxy_set_header", "Host", "$host"),
		d("proxy_set_header", "X-Forwarded-For", "$proxy_add_x_forwarded_for"),
	}
	if in.AuthEnabled {
		// Pinned: a client cannot pick another tenant by sending its own header.
		out = append(out, d("proxy_set_header", "X-Scope-OrgID", quote(in.Tenant)))
	}
	if websocket {
		out = append(out,
			d("proxy_set_header", "Upgrade", "$http_upgrade"),
			d("proxy_set_header", "Connection", "$connection_upgrade"),
			d("proxy_read_timeout", "3600s"))
	}
	return out
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

	ringPaths := make([]string, 0, len(in.RingPages))
	for p := range in.RingPages {
		ringPaths = append(ringPaths, p)
	}
	sort.Strings(ringPaths)
	for _, p := range ringPaths {
		server = append(server, block("location", []string{"=", p}, proxy(in, "ring", in.RingPages[p], false)...))
	}
	for _, r := range routeLocations {
		upstream, ok := in.Routes[r.group]
		if !ok {
			return "", fmt.Errorf("gateway: no upstream for route group %q", r.group)
		}
		server = append(server, block("location", []string{"~", quote(r.pattern)}, proxy(in, r.group, upstream, r.group == stacks.RouteTail)...))
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
		block("server", nil, server...),
	}
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
