package verify

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// How kwok marks the nodes it simulates (toolchain/cluster-up.sh creates them this way):
// kwok manages nodes carrying the annotation, and its examples label them type=kwok.
const (
	kwokAnnotation = "kwok.x-k8s.io/node"
	kwokLabel      = "type"
)

// SimulatedNodes reads `kubectl get nodes -o json` and returns the names of the nodes kwok
// simulates (no kubelet, no container runtime) and the number of nodes in all.
func SimulatedNodes(nodeList []byte) (simulated []string, total int, err error) {
	var list corev1.NodeList
	if err := json.Unmarshal(nodeList, &list); err != nil {
		return nil, 0, fmt.Errorf("reading the node list: %w", err)
	}
	for _, n := range list.Items {
		if n.Annotations[kwokAnnotation] == "fake" || n.Labels[kwokLabel] == "kwok" {
			simulated = append(simulated, n.Name)
		}
	}
	return simulated, len(list.Items), nil
}
