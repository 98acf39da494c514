package verify

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVerifyRefusesKwokBeforeOpeningTheStack runs RunStack (cmd/deploy -action verify) with a
// stand-in kubectl that answers like the local plane of toolchain/: verify must refuse with the
// message, fail, and never open the stack (the project folder here has no stack at all).
func TestVerifyRefusesKwokBeforeOpeningTheStack(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	kubectl := filepath.Join(dir, "kubectl")
	script := `#!/bin/sh
echo "$*" >> ` + calls + `
cat <<'JSON'
{"apiVersion":"v1","kind":"List","items":[{"metadata":{"name":"kwok-simulated-node-0","annotations":{"kwok.x-k8s.io/node":"fake"},"labels":{"type":"kwok"}}}]}
JSON
`
	if err := os.WriteFile(kubectl, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opened := false
	outputs := func(context.Context) (map[string]any, error) { opened = true; return nil, errors.New("no stack here") }
	err := RunStack(&out, Kubectl{Path: kubectl}, "dev", outputs, time.Second)
	if opened {
		t.Error("the stack's outputs were read before the nodes were checked")
	}
	if !errors.Is(err, ErrSimulated) {
		t.Fatalf("err = %v, want the simulated-plane refusal\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "simulated by kwok (kwok-simulated-node-0)") || !strings.Contains(out.String(), "verify needs a real cluster") {
		t.Errorf("output:\n%s", out.String())
	}
	got, _ := os.ReadFile(calls)
	if strings.TrimSpace(string(got)) != "get nodes -o json --request-timeout=10s" {
		t.Errorf("kubectl was called with %q, want only the node list", got)
	}
	if s := Summary(err); !strings.Contains(s, "simulated by kwok") {
		t.Errorf("summary %q does not say why", s)
	}
}
