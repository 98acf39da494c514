// Command install puts the Prometheus Operator's CRDs (from its Go module) into the cluster of
// $KUBECONFIG: scripts/up.sh runs it on the local control plane it starts, so that prod's
// monitoring objects apply there as they do on a cluster with kube-prometheus-stack.
package main

import (
	"fmt"
	"os"

	"obs-stack/internal/operatorcrds"
)

func main() {
	dir, err := operatorcrds.Install(".", os.Getenv("KUBECONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "installing the Prometheus Operator CRDs:", err)
		os.Exit(1)
	}
	fmt.Println("up: installed the Prometheus Operator CRDs from", dir)
}
