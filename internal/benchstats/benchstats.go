// Package benchstats is the arithmetic behind cmd/bench: samples of wall times (median,
// min–max), ratios of medians, least-squares fits, and the parsing of `go test -bench
// -benchmem` output.
package benchstats

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sample is the durations of one measurement's runs.
type Sample []time.Duration

func (s Sample) sorted() Sample { c := slices.Clone(s); slices.Sort(c); return c }

// Median is the middle run (the mean of the two middle ones for an even count), 0 when empty.
func (s Sample) Median() time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := s.sorted()
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// String is "median (min-max)" in seconds.
func (s Sample) String() string {
	if len(s) == 0 {
		return "-"
	}
	c := s.sorted()
	if len(c) == 1 {
		return Secs(c[0])
	}
	return fmt.Sprintf("%s (%s–%s)", Secs(s.Median()), Secs(c[0]), Secs(c[len(c)-1]))
}

// Secs is d in seconds, two decimals: "1.25 s".
func Secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// Ratio of two medians, "-" when either is empty or b's is 0.
func Ratio(a, b Sample) string {
	if len(a) == 0 || len(b) == 0 || b.Median() == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a.Median())/float64(b.Median()))
}

// MedianFloat is the median of v (not empty).
func MedianFloat(v []float64) float64 {
	c := slices.Clone(v)
	slices.Sort(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// Fit is the least-squares line y = a + b x and its R².
func Fit(x, y []float64) (a, b, r2 float64) {
	n := float64(len(x))
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx, sy, sxx, sxy = sx+x[i], sy+y[i], sxx+x[i]*x[i], sxy+x[i]*y[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return sy / n, 0, 0
	}
	b = (n*sxy - sx*sy) / den
	a = (sy - b*sx) / n
	mean := sy / n
	var ssRes, ssTot float64
	for i := range x {
		ssRes += math.Pow(y[i]-(a+b*x[i]), 2)
		ssTot += math.Pow(y[i]-mean, 2)
	}
	if ssTot == 0 {
		return a, b, 1
	}
	return a, b, 1 - ssRes/ssTot
}

// Result is every run of one sub-benchmark.
type Result struct {
	NS, Bytes, Allocs []float64 // ns/op, B/op, allocs/op of each run
	Resources         float64   // the benchmark's own "resources" metric (b.ReportMetric), last run's
}

// ParseBench reads `go test -bench -benchmem` output: every run of every sub-benchmark of
// Benchmark<name>, by sub-benchmark name (the -GOMAXPROCS suffix dropped).
func ParseBench(out, name string) map[string]*Result {
	line := regexp.MustCompile(`^Benchmark` + regexp.QuoteMeta(name) + `/(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)
	got := map[string]*Result{}
	for _, l := range strings.Split(out, "\n") {
		m := line.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		r := got[m[1]]
		if r == nil {
			r = &Result{}
			got[m[1]] = r
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.NS = append(r.NS, v)
			case "B/op":
				r.Bytes = append(r.Bytes, v)
			case "allocs/op":
				r.Allocs = append(r.Allocs, v)
			case "resources":
				r.Resources = v
			}
		}
	}
	return got
}
