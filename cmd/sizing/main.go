// Command sizing prints, per stack, every pod group the stack runs with its requests, limits
// and storage, the totals, and the headroom left on the cluster its config describes:
//
//	go run ./cmd/sizing              # dev and prod, with the overrides in their stack files
//	go run ./cmd/sizing -stack prod
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"k8s.io/apimachinery/pkg/api/resource"

	"obs-stack/stacks"
)

func main() {
	stackList := flag.String("stack", "dev,prod", "comma-separated stack names")
	dir := flag.String("dir", ".", "project folder with the Pulumi.<stack>.yaml files")
	flag.Parse()
	for _, stack := range strings.Split(*stackList, ",") {
		if err := show(*dir, stack); err != nil {
			fmt.Fprintln(os.Stderr, "sizing:", err)
			os.Exit(1)
		}
	}
}

func show(dir, stack string) error {
	config, err := stacks.ReadStackFile(dir, stack)
	if err != nil {
		return err
	}
	spec, err := stacks.Load(stack, config)
	if err != nil {
		return err
	}
	c := spec.Cluster
	fmt.Printf("stack %s: Loki %s on %d node(s) of %s CPU / %s\n", stack, spec.Loki.Mode, c.Nodes, c.NodeCPU, c.NodeMemory)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "COMPONENT\tREPLICAS\tCPU REQ\tMEM REQ\tCPU LIM\tMEM LIM\tSTORAGE\tSPREAD")
	var storage resource.Quantity
	for _, g := range spec.Sizing() {
		r := g.Resources
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Component, g.Replicas,
			dash(r.Requests.CPU), dash(r.Requests.Memory), dash(r.Limits.CPU), dash(r.Limits.Memory), dash(g.Storage), g.AntiAffinity)
		if q, err := resource.ParseQuantity(g.Storage); err == nil {
			for i := 0; i < g.Replicas; i++ {
				storage.Add(q)
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	req := spec.Requested()
	fmt.Printf("total requests: %s CPU, %.1fGi memory, %s of PVCs\n",
		resource.NewMilliQuantity(req.MilliCPU, resource.DecimalSI), float64(req.MemoryBytes)/(1<<30), storage.String())
	if _, total, ok := c.Allocatable(); ok {
		fmt.Printf("cluster: %s CPU, %.1fGi allocatable; headroom %d%% CPU, %d%% memory\n\n",
			resource.NewMilliQuantity(total.MilliCPU, resource.DecimalSI), float64(total.MemoryBytes)/(1<<30),
			100-100*req.MilliCPU/total.MilliCPU, 100-100*req.MemoryBytes/total.MemoryBytes)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
