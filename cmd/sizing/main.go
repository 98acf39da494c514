// Command sizing prints, per stack, every pod group the stack runs with its requests, limits
// and storage, the totals, the headroom left on the cluster its config describes, and how
// the scheduler would fill its nodes:
//
//	go run ./cmd/sizing              # dev and prod, with the overrides in their stack files
//	go run ./cmd/sizing -stack prod
//	go run ./cmd/sizing -volumes 50,500,3000 [-qps 20]   # prod sized for each volume (GB/day):
//	                                 # each figure and why, the nodes it needs, the Loki Operator size
//	go run ./cmd/sizing -markdown    # the README's Sizing table
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"obs-stack/preflight"
	"obs-stack/stacks"
	"obs-stack/stacks/load"
)

func main() {
	stackList := flag.String("stack", "dev,prod", "comma-separated stack names")
	dir := flag.String("dir", ".", "project folder with the Pulumi.<stack>.yaml files")
	volumes := flag.String("volumes", "", "comma-separated ingest volumes in GB/day: size prod for each")
	qps := flag.Float64("qps", 0, "queries per second, with -volumes")
	markdown := flag.Bool("markdown", false, "print the README's Sizing table")
	flag.Parse()
	if *markdown {
		text, err := Table(*dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sizing:", err)
			os.Exit(1)
		}
		fmt.Print(text)
		return
	}
	if *volumes != "" {
		for _, v := range strings.Split(*volumes, ",") {
			if err := showVolume(v, *qps); err != nil {
				fmt.Fprintln(os.Stderr, "sizing:", err)
				os.Exit(1)
			}
		}
		return
	}
	for _, stack := range strings.Split(*stackList, ",") {
		if err := show(*dir, stack); err != nil {
			fmt.Fprintln(os.Stderr, "sizing:", err)
			os.Exit(1)
		}
	}
}

func show(dir, stack string) error {
	config, err := preflight.ReadStackFile(dir, stack)
	if err != nil {
		return err
	}
	spec, err := load.Load(stack, config)
	if err != nil {
		return err
	}
	return print(stack, spec)
}

// print writes one stack's pod groups, totals, headroom and placement.
func print(stack string, spec stacks.Spec) error {
	c := spec.Cluster
	fmt.Printf("stack %s: Loki %s on %d node(s) of %s CPU / %s\n", stack, spec.Loki.Mode, c.Nodes, c.NodeCPU, c.NodeMemory)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "COMPONENT\tKIND\tREPLICAS\tCPU REQ\tMEM REQ\tCPU LIM\tMEM LIM\tSTORAGE\tSPREAD")
	for _, g := range spec.Sizing() {
		r := g.Resources
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Component, g.Kind, g.Replicas,
			dash(r.Requests.CPU), dash(r.Requests.Memory), dash(r.Limits.CPU), dash(r.Limits.Memory), dash(g.Storage), g.AntiAffinity)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	req := spec.Requested()
	fmt.Printf("total requests: %s CPU, %s memory, %s of PVCs\n",
		stacks.FormatCPU(req.MilliCPU), stacks.FormatBytes(req.MemoryBytes), stacks.FormatBytes(spec.RequestedStorage()))
	if _, total, ok := c.Allocatable(); ok {
		headroom := "unknown"
		if cpuLeft, memLeft, ok := spec.Headroom(); ok {
			headroom = fmt.Sprintf("%d%% CPU, %d%% memory", cpuLeft, memLeft)
		}
		fmt.Printf("cluster: %s CPU, %s allocatable; headroom %s\n", stacks.FormatCPU(total.MilliCPU), stacks.FormatBytes(total.MemoryBytes), headroom)
	}
	if p, ok := spec.Place(); ok {
		fmt.Println(placementLine(p, c.Nodes))
	}
	fmt.Println()
	return nil
}

// placementLine says how the scheduler would fill the nodes: pods per node, or what stays Pending.
func placementLine(p stacks.Placement, nodes int) string {
	if len(p.Pending) > 0 {
		var pending []string
		for _, g := range p.Pending {
			pending = append(pending, fmt.Sprintf("%d %s", g.Pods, g.Group.Component))
		}
		return "placement: pods stay Pending: " + strings.Join(pending, ", ")
	}
	var perNode []string
	for i, n := range p.Nodes {
		if i == 6 {
			perNode = append(perNode, "...")
			break
		}
		perNode = append(perNode, fmt.Sprintf("%d pods (%s CPU, %s)", n.Pods, stacks.FormatCPU(n.MilliCPU), stacks.FormatBytes(n.MemoryBytes)))
	}
	line := "first-fit packing, largest pods first: " + strings.Join(perNode, " / ")
	if rest := nodes - len(p.Nodes); rest > 0 {
		line += fmt.Sprintf("; %d node(s) run Alloy only", rest)
	}
	return line
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
