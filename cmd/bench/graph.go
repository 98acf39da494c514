package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"obs-stack/internal/benchstats"
)

func graph(ctx context.Context, root string) (string, error) {
	benchtime := "2s"
	if *short {
		benchtime = "3x"
	}
	args := []string{"test", "-run", "^$", "-bench", "Graph", "-benchmem", "-benchtime", benchtime, "-count", strconv.Itoa(*runs), "./program"}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	res := benchstats.ParseBench(string(out), "Graph")
	if len(res) == 0 {
		return "", fmt.Errorf("no BenchmarkGraph results in:\n%s", out)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "`go %s` (medians of the %d run(s); ms/op is wall time of one whole program run against the mocks).\n\n",
		strings.Join(args, " "), *runs)
	b.WriteString("| spec | resources | ms/op | MB/op | allocs/op |\n|---|---|---|---|---|\n")
	names := make([]string, 0, len(res))
	for n := range res {
		names = append(names, n)
	}
	order := func(n string) (int, int) {
		family, size, _ := strings.Cut(n, "=")
		k, _ := strconv.Atoi(size)
		return map[string]int{"dev": 0, "prod": 1, "topics": 2, "replicas": 3, "tenants": 4, "scaled": 5}[family], k
	}
	sort.Slice(names, func(i, j int) bool {
		fi, si := order(names[i])
		fj, sj := order(names[j])
		return fi < fj || fi == fj && si < sj
	})
	for _, n := range names {
		r := res[n]
		fmt.Fprintf(&b, "| %s | %.0f | %.1f | %.2f | %.0f |\n", n, r.Resources, benchstats.MedianFloat(r.NS)/1e6, benchstats.MedianFloat(r.Bytes)/1e6, benchstats.MedianFloat(r.Allocs))
	}
	b.WriteString("\nFitted slopes (least squares over the family's sizes, medians):\n\n")
	b.WriteString("| family (x) | ms/op = a + b·x | R² | allocs/op = a + b·x | R² | resources |\n|---|---|---|---|---|---|\n")
	for _, family := range []string{"topics", "replicas", "tenants"} {
		var x, ns, allocs, resources []float64
		for _, n := range names {
			f, size, ok := strings.Cut(n, "=")
			if !ok || f != family {
				continue
			}
			v, _ := strconv.ParseFloat(size, 64)
			x = append(x, v)
			ns = append(ns, benchstats.MedianFloat(res[n].NS)/1e6)
			allocs = append(allocs, benchstats.MedianFloat(res[n].Allocs))
			resources = append(resources, res[n].Resources)
		}
		if len(x) < 2 {
			continue
		}
		a1, b1, r1 := benchstats.Fit(x, ns)
		a2, b2, r2 := benchstats.Fit(x, allocs)
		fmt.Fprintf(&b, "| %s (%v) | %.1f + %.3f·x | %.2f | %.0f + %.1f·x | %.3f | %v |\n", family, x, a1, b1, r1, a2, b2, r2, resources)
	}
	return b.String(), nil
}
