package benchstats

import (
	"math"
	"testing"
	"time"
)

func TestFit(t *testing.T) {
	a, b, r2 := Fit([]float64{1, 2, 3, 4}, []float64{3, 5, 7, 9})
	if math.Abs(a-1) > 1e-9 || math.Abs(b-2) > 1e-9 || math.Abs(r2-1) > 1e-9 {
		t.Fatalf("fit = %v %v %v, want 1 2 1", a, b, r2)
	}
}

func TestSample(t *testing.T) {
	s := Sample{3 * time.Second, time.Second, 2 * time.Second}
	if s.Median() != 2*time.Second || s.String() != "2.00 s (1.00 s–3.00 s)" {
		t.Fatalf("median %v, %s", s.Median(), s)
	}
	if r := Ratio(s, Sample{time.Second}); r != "2.00x" {
		t.Fatalf("ratio %s", r)
	}
}

func TestParseBench(t *testing.T) {
	out := "BenchmarkGraph/topics=25-2   \t       3\t  84496880 ns/op\t       211.0 resources\t11775298 B/op\t  192830 allocs/op\n" +
		"BenchmarkOther/topics=25-2   \t       3\t  1 ns/op\n"
	got := ParseBench(out, "Graph")
	r := got["topics=25"]
	if len(got) != 1 || len(r.NS) != 1 || r.NS[0] != 84496880 || r.Allocs[0] != 192830 || r.Bytes[0] != 11775298 || r.Resources != 211 {
		t.Fatalf("parsed %+v", got)
	}
}
