// obs-stack declares a whole log-observability stack (Loki, its gateway, Grafana
// datasources, Alloy and Kafka) on Kubernetes, sized per environment by the presets in stacks/.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/program"
)

func main() { pulumi.Run(program.Run) }
