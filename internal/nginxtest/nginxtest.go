// Package nginxtest runs Debian's nginx with the gateway's real config (components/gateway)
// in front of upstreams a test starts, on 127.0.0.1. The gateway's own tests and verify's use it.
package nginxtest

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"obs-stack/components/gateway/nginx"
	"obs-stack/stacks"
)

// Binary finds Debian's nginx; the test fails (never skips) without it.
func Binary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("nginx is not installed: apt-get install -y nginx-light (scripts/test.sh does this)")
	return ""
}

// FreePort is a TCP port free on 127.0.0.1 at the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// AllRoutes sends every route group of the gateway to one upstream, as in SingleBinary mode.
func AllRoutes(upstream string) map[string]string {
	return map[string]string{
		stacks.RoutePush: upstream, stacks.RouteQuery: upstream, stacks.RouteTail: upstream,
		stacks.RouteRules: upstream, stacks.RouteDelete: upstream,
	}
}

// Gateway is a running nginx.
type Gateway struct {
	// URL is nginx's base URL, http://127.0.0.1:<port>.
	URL string
	// Config is the config nginx runs with.
	Config string
}

// Start renders the gateway's config from in (Routes, RingPages, AuthEnabled and Tenant as
// the test sets them; listen address, runtime folder and resolver are filled in here), writes
// an htpasswd file for nginx.Username with password when auth is on, checks the config with
// nginx -t, starts nginx and waits until it answers. nginx is stopped when the test ends.
func Start(t testing.TB, in nginx.Input, password string) *Gateway {
	t.Helper()
	return StartUsers(t, in, map[string]string{nginx.Username: password})
}

// StartUsers is Start with an htpasswd file holding several users: passwords maps each user
// name to its password (in.Users says what each may do; a user without a password here
// cannot log in).
func StartUsers(t testing.TB, in nginx.Input, passwords map[string]string) *Gateway {
	t.Helper()
	bin := Binary(t)
	// nginx workers run as nobody: t.TempDir's parent is private, so use a world-readable one.
	dir, err := os.MkdirTemp("", "obs-stack-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if in.AuthEnabled {
		var htpasswd strings.Builder
		for _, name := range slices.Sorted(maps.Keys(passwords)) {
			hash, err := bcrypt.GenerateFromPassword([]byte(passwords[name]), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			htpasswd.WriteString(name + ":" + string(hash) + "\n")
		}
		in.HtpasswdPath = filepath.Join(dir, nginx.HtpasswdFile)
		if err := os.WriteFile(in.HtpasswdPath, []byte(htpasswd.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if in.Resolver == "" {
		in.Resolver = "127.0.0.1" // upstreams are IP addresses: nothing is resolved
	}
	port := FreePort(t)
	in.Listen, in.RuntimeDir = fmt.Sprintf("127.0.0.1:%d", port), dir
	text, err := nginx.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, nginx.ConfigFile)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", dir, "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejected the config: %v\n%s\n%s", err, out, text)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-g", "daemon off;")
	// A file, not a pipe: nginx's workers inherit it and would keep a pipe open.
	logs, err := os.Create(filepath.Join(dir, "nginx.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // the master stops its workers
		_ = cmd.Wait()
		logs.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			t.Logf("nginx log:\n%s", b)
		}
	})
	g := &Gateway{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Config: text}
	waitFor(t, g.URL+"/")
	return g
}

func waitFor(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nginx did not answer on %s", url)
}
