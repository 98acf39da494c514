package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"obs-stack/preflight"
	"obs-stack/stacks"
	"obs-stack/stacks/load"
)

// Node is the node size the "needs" figures count: 16 CPU / 64Gi allocatable (a general
// purpose machine like AWS m6i.4xlarge, the families Loki's sizing page suggests), big enough
// for the largest pod a source sizes (1x.medium's ruler requests 8 CPU).
var Node = [2]string{"16", "64Gi"}

// volumeSpec is prod sized for gb GB/day (and qps queries a second).
func volumeSpec(gb, qps float64) (stacks.Spec, []stacks.Derived, error) {
	config := map[string]string{"obs-stack:loki.ingestGBPerDay": strconv.FormatFloat(gb, 'f', -1, 64)}
	if qps > 0 {
		config["obs-stack:loki.queriesPerSecond"] = strconv.FormatFloat(qps, 'f', -1, 64)
	}
	return load.Explain("prod", config)
}

// showVolume prints prod sized for one volume: each figure and why, the pod groups on the
// nodes it needs, and the Loki Operator size for the volume.
func showVolume(volume string, qps float64) error {
	gb, err := strconv.ParseFloat(volume, 64)
	if err != nil {
		return fmt.Errorf("-volumes %q: not a number of GB/day", volume)
	}
	spec, derived, err := volumeSpec(gb, qps)
	if err != nil {
		return err
	}
	fmt.Printf("prod sized for %g GB/day, %g queries/s (figures from stacks/volume-table.yaml):\n", gb, qps)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "KEY\tVALUE\tWHY")
	for _, d := range derived {
		fmt.Fprintf(w, "%s\t%s\t%s\n", d.Key, d.Value, d.Why)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	needs, n := nodesNeeded(spec)
	spec.Cluster.Nodes, spec.Cluster.NodeCPU, spec.Cluster.NodeMemory, spec.Cluster.UseLiveNodes = max(n, 1), Node[0], Node[1], false
	if err := print(fmt.Sprintf("prod at %g GB/day", gb), spec); err != nil {
		return err
	}
	fmt.Printf("needs %s; Loki Operator size for %g GB/day: %s\n\n", needs, gb, operatorSize(gb))
	return nil
}

// nodesNeeded is the fewest nodes of Node's size on which preview accepts the stack: every pod
// placed, hard anti-affinity met (the warning for thin headroom aside); 0 when none up to
// MaxReplicas do.
func nodesNeeded(spec stacks.Spec) (string, int) {
	spec.Cluster.NodeCPU, spec.Cluster.NodeMemory, spec.Cluster.UseLiveNodes = Node[0], Node[1], false
	for n := 1; n <= stacks.MaxReplicas; n++ {
		spec.Cluster.Nodes = n
		if _, _, err := spec.Validate(); err == nil {
			return fmt.Sprintf("%d nodes of %s CPU / %s", n, Node[0], Node[1]), n
		}
	}
	return fmt.Sprintf("more than %d nodes of %s CPU / %s", stacks.MaxReplicas, Node[0], Node[1]), 0
}

// operatorSize is the smallest Loki Operator size whose documented volume covers gb.
func operatorSize(gb float64) string {
	largest := ""
	for _, a := range stacks.VolumeTable {
		if a.OperatorSize == "" {
			continue
		}
		largest = fmt.Sprintf("%s (%g GB/day)", a.OperatorSize, a.GBPerDay)
		if gb <= a.GBPerDay {
			return largest
		}
	}
	return "none: beyond " + largest + ", the largest"
}

// Tiers are the volumes the README's Sizing table shows next to dev and prod.
var Tiers = []float64{50, 500, 3000}

// Table is the README's Sizing table: dev and prod as their stack files leave them, and prod
// sized for each tier.
func Table(dir string) (string, error) {
	type row struct {
		name, operator string
		spec           stacks.Spec
	}
	var rows []row
	for _, stack := range []string{"dev", "prod"} {
		config, err := preflight.ReadStackFile(dir, stack)
		if err != nil {
			return "", err
		}
		spec, err := load.Load(stack, config)
		if err != nil {
			return "", err
		}
		rows = append(rows, row{stack + " preset", "-", spec})
	}
	for _, gb := range Tiers {
		spec, _, err := volumeSpec(gb, 0)
		if err != nil {
			return "", err
		}
		rows = append(rows, row{fmt.Sprintf("prod at %g GB/day", gb), operatorSize(gb), spec})
	}
	needs := func(s stacks.Spec) string { text, _ := nodesNeeded(s); return text }
	var b strings.Builder
	b.WriteString("| stack | Loki | ingesters | distributors | queriers | query-frontends | index gateways | requests (CPU / memory) | needs | Loki Operator size |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		l := r.spec.Loki
		count := func(w stacks.Workload, mode string) string {
			if l.Mode != mode {
				return "-"
			}
			return fmt.Sprintf("%d x %s / %s", w.Replicas, w.Resources.Requests.CPU, w.Resources.Requests.Memory)
		}
		req := r.spec.Requested()
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s |\n", r.name, l.Mode,
			count(l.Ingester, stacks.Distributed), count(l.Distributor, stacks.Distributed), count(l.Querier, stacks.Distributed),
			count(l.QueryFrontend, stacks.Distributed), count(l.IndexGateway, stacks.Distributed),
			stacks.FormatCPU(req.MilliCPU), stacks.FormatBytes(req.MemoryBytes), needs(r.spec), r.operator)
	}
	return b.String(), nil
}
