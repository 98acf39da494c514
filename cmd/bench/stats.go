package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// sample is the durations of one measurement's runs.
type sample []time.Duration

func (s sample) sorted() sample { c := slices.Clone(s); slices.Sort(c); return c }

func (s sample) median() time.Duration {
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
func (s sample) String() string {
	if len(s) == 0 {
		return "-"
	}
	c := s.sorted()
	if len(c) == 1 {
		return secs(c[0])
	}
	return fmt.Sprintf("%s (%s–%s)", secs(s.median()), secs(c[0]), secs(c[len(c)-1]))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// ratio of two medians.
func ratio(a, b sample) string {
	if len(a) == 0 || len(b) == 0 || b.median() == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a.median())/float64(b.median()))
}

func medianFloat(v []float64) float64 {
	c := slices.Clone(v)
	slices.Sort(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// fit is the least-squares line y = a + b x and its R².
func fit(x, y []float64) (a, b, r2 float64) {
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
