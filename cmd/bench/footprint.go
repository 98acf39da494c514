package main

import (
	"context"
	"fmt"
	"strings"

	"obs-stack/preflight"
	"obs-stack/stacks"
	"obs-stack/stacks/load"
)

// chartSimpleScalable is the original incident as the program's own spec: the Loki Helm
// chart's defaults in SimpleScalable with read 2, write 3, backend 1 on one node. The chart
// sets no resources on Loki's pods or the gateway (BestEffort), runs memcached with
// allocatedMemory 8192 (chunks) and 1024 (results) MB and requests 1.2x that (500m CPU),
// and gives write and backend a 10Gi PVC each. Kafka and Alloy are not part of that chart.
func chartSimpleScalable(node stacks.Cluster) stacks.Spec {
	s := stacks.Dev()
	s.Cluster = node
	l := &s.Loki
	l.Mode = stacks.SimpleScalable
	bestEffort := func(replicas int, storage string) stacks.Workload {
		return stacks.Workload{Replicas: replicas, Storage: storage}
	}
	l.Read, l.Write, l.Backend = bestEffort(2, ""), bestEffort(3, "10Gi"), bestEffort(1, "10Gi")
	l.Caches.ChunksCache.Enabled, l.Caches.ChunksCache.SizeMB, l.Caches.ChunksCache.Replicas = true, 8192, 1
	l.Caches.ResultsCache.Enabled, l.Caches.ResultsCache.SizeMB, l.Caches.ResultsCache.Replicas = true, 1024, 1
	s.Gateway.Workload = bestEffort(1, "")
	s.Kafka.Enabled = false
	return s
}

// chartLike is spec with the chart's defaults for the same mode and replicas: Loki's pods and
// the gateway BestEffort, the caches (same replicas) at the chart's memcached sizes.
func chartLike(s stacks.Spec) stacks.Spec {
	l := &s.Loki
	for _, w := range []*stacks.Workload{&l.SingleBinary, &l.Read, &l.Write, &l.Backend, &l.Distributor, &l.Ingester, &l.Querier,
		&l.QueryFrontend, &l.QueryScheduler, &l.IndexGateway, &l.Compactor, &l.Ruler} {
		w.Resources = stacks.Resources{}
	}
	if l.Caches.ChunksCache.Enabled {
		l.Caches.ChunksCache.SizeMB = 8192
	}
	if l.Caches.ResultsCache.Enabled {
		l.Caches.ResultsCache.SizeMB = 1024
	}
	s.Gateway.Resources = stacks.Resources{}
	return s
}

// chartSame names the chart-defaults row; its storage is not compared (the chart's persistence
// defaults per mode were not checked for this table).
const chartSame = "chart defaults, same mode and replicas"

func loadStack(root, stack string) (stacks.Spec, error) {
	config, err := preflight.ReadStackFile(root, stack)
	if err != nil {
		return stacks.Spec{}, err
	}
	return load.Load(stack, config)
}

func footprint(_ context.Context, root string) (string, error) {
	var b strings.Builder
	b.WriteString("Computed from the program's own sizing (`stacks.Spec.Sizing`, `Requested`, `RequestedStorage`, `Place`) of the stack files " +
		"in the checkout; requests count a missing request as its limit, as the API server does; limits sums count an unset limit (BestEffort: unbounded) as 0. The chart columns are the Loki Helm " +
		"chart's defaults expressed in the same spec (Loki pods and gateway without resources, i.e. BestEffort; memcached at " +
		"allocatedMemory 8192/1024 MB, requesting 1.2x = 9830Mi/1229Mi and 500m each).\n\n")
	for _, stack := range []string{"dev", "prod"} {
		s, err := loadStack(root, stack)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "**%s** (Loki %s, %d node(s) of %s CPU / %s):\n\n", stack, s.Loki.Mode, s.Cluster.Nodes, s.Cluster.NodeCPU, s.Cluster.NodeMemory)
		groups(&b, s)
		b.WriteString("\n")
		totals(&b, []string{stack, chartSame}, []stacks.Spec{s, chartLike(s)})
		b.WriteString("\n")
	}
	dev, err := loadStack(root, "dev")
	if err != nil {
		return "", err
	}
	before := chartSimpleScalable(dev.Cluster)
	fmt.Fprintf(&b, "**The original incident, before and after** — before: the chart's SimpleScalable (read 2, write 3, backend 1, chart defaults) "+
		"on one node of %s CPU / %s (dev's cluster section); after: our dev on the same node.\n\n", dev.Cluster.NodeCPU, dev.Cluster.NodeMemory)
	b.WriteString("Before (chart; the Alloy row is ours, kept for a like-for-like total: the incident ran Alloy from its own chart). " +
		"The program rounds 1.2 x 8192 up to 9831Mi where the chart rounds to 9830Mi.\n\n")
	groups(&b, before)
	b.WriteString("\n")
	totals(&b, []string{"before: chart SimpleScalable", "after: obs-stack dev"}, []stacks.Spec{before, dev})
	return b.String(), nil
}

func groups(b *strings.Builder, s stacks.Spec) {
	b.WriteString("| component | kind | replicas | CPU req | mem req | CPU lim | mem lim | PVC each |\n|---|---|---|---|---|---|---|---|\n")
	for _, g := range s.Sizing() {
		r := g.Resources
		fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s | %s | %s |\n", g.Component, g.Kind, g.Replicas,
			dash(r.Requests.CPU), dash(r.Requests.Memory), dash(r.Limits.CPU), dash(r.Limits.Memory), dash(g.Storage))
	}
}

func totals(b *strings.Builder, names []string, specs []stacks.Spec) {
	b.WriteString("| | pods | CPU requested | memory requested | CPU limits | memory limits | BestEffort pods | PVC storage | fits its nodes? |\n|---|---|---|---|---|---|---|---|---|\n")
	for i, s := range specs {
		var pods, bestEffort int
		var limCPU, limMem int64
		for _, g := range s.Sizing() {
			pods += g.Replicas
			r := g.Resources
			if r.Requests.CPU == "" && r.Requests.Memory == "" && r.Limits.CPU == "" && r.Limits.Memory == "" {
				bestEffort += g.Replicas
			}
			lim := stacks.PodGroup{Resources: stacks.Resources{Requests: r.Limits}}.Requests()
			limCPU += lim.MilliCPU * int64(g.Replicas)
			limMem += lim.MemoryBytes * int64(g.Replicas)
		}
		req := s.Requested()
		fits := "unknown"
		if p, ok := s.Place(); ok {
			var pending []string
			// Place leaves out pods bigger than an empty node (validation reports them): they never schedule.
			perNode, _, _ := s.Cluster.Allocatable()
			for _, g := range s.Sizing() {
				if r := g.Requests(); g.Kind != stacks.KindDaemonSet && (r.MilliCPU > perNode.MilliCPU || r.MemoryBytes > perNode.MemoryBytes) {
					pending = append(pending, fmt.Sprintf("%d %s Pending (one pod asks more than a node has)", g.Replicas, g.Component))
				}
			}
			for _, g := range p.Pending {
				pending = append(pending, fmt.Sprintf("%d %s Pending", g.Pods, g.Group.Component))
			}
			fits = "yes"
			if len(pending) > 0 {
				fits = "no: " + strings.Join(pending, ", ")
			}
		}
		storage := stacks.FormatBytes(s.RequestedStorage())
		if names[i] == chartSame {
			storage = "not compared"
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %d | %s | %s |\n", names[i], pods, stacks.FormatCPU(req.MilliCPU), stacks.FormatBytes(req.MemoryBytes),
			stacks.FormatCPU(limCPU), stacks.FormatBytes(limMem), bestEffort, storage, fits)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
