// Package operatorcrds installs the Prometheus Operator's CRDs into a cluster from the
// Prometheus Operator's Go module (monitoring.OperatorModule, fetched through the Go module
// proxy like any dependency): the local control plane of the tests and benchmarks has no
// Prometheus Operator, and monitoring.enabled creates PodMonitors, a ServiceMonitor and a
// PrometheusRule.
package operatorcrds

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"obs-stack/components/monitoring"
)

// dir is the folder of the module's CRD files (example/prometheus-operator-crd).
func dir(repoRoot string) (string, error) {
	download := exec.Command("go", "mod", "download", "-json", monitoring.OperatorModule)
	download.Dir = repoRoot
	raw, err := download.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", monitoring.OperatorModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(raw, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no folder in %s (%v)", monitoring.OperatorModule, raw, err)
	}
	crds := filepath.Join(mod.Dir, "example", "prometheus-operator-crd")
	if _, err := os.Stat(crds); err != nil {
		return "", fmt.Errorf("%s has no CRD folder: %w", monitoring.OperatorModule, err)
	}
	return crds, nil
}

// Install applies the CRDs with kubectl (server-side: they are too large for the
// last-applied annotation) in the cluster of kubeconfig and waits until they are served.
func Install(repoRoot, kubeconfig string) (string, error) {
	crds, err := dir(repoRoot)
	if err != nil {
		return "", err
	}
	for _, args := range [][]string{
		{"apply", "--server-side", "-f", crds},
		{"wait", "--for=condition=Established", "--timeout=60s",
			"crd/podmonitors.monitoring.coreos.com", "crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com"},
	} {
		cmd := exec.Command("kubectl", append(args, "--kubeconfig", kubeconfig)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("kubectl %s: %w\n%s", args[0], err, out)
		}
	}
	return crds, nil
}
