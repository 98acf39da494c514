package verify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Cluster is what verify asks of the cluster; Kubectl is the real one, tests use stand-ins.
type Cluster interface {
	// Nodes returns `kubectl get nodes -o json`.
	Nodes(ctx context.Context) ([]byte, error)
	// PortForward forwards a free local port to a Service port through the API server and
	// returns the local base URL and a function that stops the forward.
	PortForward(ctx context.Context, namespace, service string, port int) (baseURL string, stop func(), err error)
	// Exec runs argv in a container with stdin and returns its output.
	Exec(ctx context.Context, namespace, pod, container, stdin string, argv ...string) (string, error)
	// SecretData returns a Secret's decoded data.
	SecretData(ctx context.Context, namespace, name string) (map[string][]byte, error)
}

// Kubectl runs kubectl (the one on PATH unless Path is set) with the current kube context.
type Kubectl struct {
	Path string
}

func (k Kubectl) bin() string {
	if k.Path != "" {
		return k.Path
	}
	return "kubectl"
}

func (k Kubectl) run(ctx context.Context, stdin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, k.bin(), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Nodes implements Cluster.
func (k Kubectl) Nodes(ctx context.Context) ([]byte, error) {
	return k.run(ctx, "", "get", "nodes", "-o", "json", "--request-timeout=10s")
}

// Exec implements Cluster.
func (k Kubectl) Exec(ctx context.Context, namespace, pod, container, stdin string, argv ...string) (string, error) {
	out, err := k.run(ctx, stdin, append([]string{"exec", "-i", "-n", namespace, pod, "-c", container, "--"}, argv...)...)
	return string(out), err
}

// SecretData implements Cluster.
func (k Kubectl) SecretData(ctx context.Context, namespace, name string) (map[string][]byte, error) {
	out, err := k.run(ctx, "", "get", "secret", "-n", namespace, name, "-o", "json")
	if err != nil {
		return nil, err
	}
	var s struct {
		Data map[string][]byte `json:"data"` // base64 in JSON, decoded by encoding/json
	}
	if err := json.Unmarshal(out, &s); err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", namespace, name, err)
	}
	return s.Data, nil
}

// forwardingLine is kubectl port-forward's announcement of the local port it chose.
var forwardingLine = regexp.MustCompile(`^Forwarding from 127\.0\.0\.1:(\d+) -> \d+`)

// ForwardedPort reads the local port from one line kubectl port-forward prints.
func ForwardedPort(line string) (int, bool) {
	m := forwardingLine.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return 0, false
	}
	port, err := strconv.Atoi(m[1])
	return port, err == nil
}

// PortForward implements Cluster with `kubectl port-forward svc/<service> :<port>`, reading the
// chosen local port from its output. The forward ends when stop is called or ctx ends.
func (k Kubectl) PortForward(ctx context.Context, namespace, service string, port int) (string, func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	args := []string{"port-forward", "-n", namespace, "svc/" + service, ":" + strconv.Itoa(port), "--address", "127.0.0.1"}
	cmd := exec.CommandContext(ctx, k.bin(), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return "", nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		return "", nil, fmt.Errorf("starting kubectl %s: %w", strings.Join(args, " "), err)
	}
	stop := func() {
		cancel() // kills this kubectl (by its own process handle) and nothing else
		_ = cmd.Wait()
	}
	found := make(chan int, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if p, ok := ForwardedPort(lines.Text()); ok {
				found <- p
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // "Handling connection for ..." lines
		close(found)
	}()
	select {
	case p, ok := <-found:
		if ok {
			return fmt.Sprintf("http://127.0.0.1:%d", p), stop, nil
		}
		stop()
		return "", nil, fmt.Errorf("kubectl %s ended without forwarding: %s", strings.Join(args, " "), strings.TrimSpace(stderr.String()))
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, fmt.Errorf("kubectl %s: no local port after 30 s: %s", strings.Join(args, " "), strings.TrimSpace(stderr.String()))
	}
}
