package main

import (
	"math"
	"testing"
	"time"
)

func TestFit(t *testing.T) {
	a, b, r2 := fit([]float64{1, 2, 3, 4}, []float64{3, 5, 7, 9})
	if math.Abs(a-1) > 1e-9 || math.Abs(b-2) > 1e-9 || math.Abs(r2-1) > 1e-9 {
		t.Fatalf("fit = %v %v %v, want 1 2 1", a, b, r2)
	}
}

func TestSample(t *testing.T) {
	s := sample{3 * time.Second, time.Second, 2 * time.Second}
	if s.median() != 2*time.Second || s.String() != "2.00 s (1.00 s–3.00 s)" {
		t.Fatalf("median %v, %s", s.median(), s)
	}
	if r := ratio(s, sample{time.Second}); r != "2.00x" {
		t.Fatalf("ratio %s", r)
	}
}

func TestParseBench(t *testing.T) {
	out := "BenchmarkGraph/topics=25-2   \t       3\t  84496880 ns/op\t       211.0 resources\t11775298 B/op\t  192830 allocs/op\n"
	got := parseBench(out)
	r := got["topics=25"]
	if len(r.ns) != 1 || r.ns[0] != 84496880 || r.allocs[0] != 192830 || r.bytes[0] != 11775298 || r.resources != 211 {
		t.Fatalf("parsed %+v", got)
	}
}
