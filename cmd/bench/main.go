// Command bench measures obs-stack (issue #11) and prints markdown tables; with -write it
// updates the generated sections of BENCHMARKS.md (between <!-- bench:PART --> markers).
//
//	go run ./cmd/bench -write BENCHMARKS.md      # every part, 5 runs each (about 15 min on 2 cores)
//	go run ./cmd/bench -short                    # one run each: what CI runs so that it cannot rot
//	go run ./cmd/bench -parts engine -runs 3     # one part
//
// Parts: engine (warm preview, no-op up and a one-key up of floor, dev and prod through the
// Automation API on a local control plane of its own), graph (the Go benchmarks of
// program/bench_test.go with fitted slopes), footprint (requests, limits and storage next to
// the Loki chart's defaults), build (warm compiles and unit tests; -cold adds cold compiles).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

var (
	runs  = flag.Int("runs", 5, "runs per measurement (the figure is their median)")
	short = flag.Bool("short", false, "one run each and short Go benchmarks (CI)")
	// toolchainLogFile is the stderr of a cold `bash toolchain/build.sh`, quoted per piece.
	toolchainLogFile = flag.String("toolchain-log", "", "stderr of a cold toolchain build to quote (optional)")
	write            = flag.String("write", "", "update the generated sections of this file (BENCHMARKS.md)")
	parts            = flag.String("parts", "engine,replay,graph,footprint,build", "comma-separated parts to run")
	cold             = flag.Bool("cold", false, "build part: also compile cold with a fresh GOCACHE (minutes on 2 cores)")
	tenants          = flag.String("tenants", "", "engine part: also time prod with these tenant counts, e.g. 1,50 (off by default and in CI)")
)

func main() {
	flag.Parse()
	if *short {
		*runs = 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer stopBench()
	root, err := repoRoot()
	if err != nil {
		fail(err)
	}
	out := map[string]string{}
	want := strings.Split(*parts, ",")
	steps := []struct {
		name string
		fn   func(context.Context, string) (string, error)
	}{
		{"machine", machine}, {"engine", engine}, {"replay", replayPart}, {"graph", graph}, {"footprint", footprint}, {"build", build},
	}
	for _, s := range steps {
		// The replay section carries its own machine line: a run of it alone keeps the others'.
		if s.name == "machine" && !slices.ContainsFunc(want, func(p string) bool { return p != "replay" }) || s.name != "machine" && !slices.Contains(want, s.name) {
			continue
		}
		logf("== %s", s.name)
		md, err := s.fn(ctx, root)
		if err != nil {
			fail(fmt.Errorf("%s: %w", s.name, err))
		}
		out[s.name] = md
		fmt.Println(md)
	}
	if *write != "" {
		if err := update(*write, out); err != nil {
			fail(err)
		}
		logf("updated %s", *write)
	}
}

func fail(err error) {
	stopBench()
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// repoRoot is the folder with go.mod above the working folder.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working folder")
		}
		dir = parent
	}
}

// command is how this invocation was started, for the tables.
func command() string {
	args := []string{"go run ./cmd/bench"}
	flag.Visit(func(f *flag.Flag) {
		if f.Name != "write" {
			args = append(args, "-"+f.Name+"="+f.Value.String())
		}
	})
	return strings.Join(args, " ")
}

func machine(context.Context, string) (string, error) {
	mem := "unknown"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if m := regexp.MustCompile(`MemTotal:\s+(\d+) kB`).FindSubmatch(b); m != nil {
			var kb int64
			fmt.Sscan(string(m[1]), &kb)
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`model name\s*:\s*(.*)`).FindSubmatch(b); m != nil {
			cpu = strings.TrimSpace(string(m[1]))
		}
	}
	return fmt.Sprintf("Machine: %d cores (nproc), %s memory, %s, %s (GOFLAGS=%q); load average at start %s; %s; runs per figure: %d. Command: `%s`.\n",
		runtime.NumCPU(), mem, cpu, runtime.Version(), os.Getenv("GOFLAGS"), load, time.Now().UTC().Format("2006-01-02 15:04 UTC"), *runs, command()), nil
}

// update replaces, in file, the text between <!-- bench:NAME --> and <!-- /bench:NAME --> of
// every part measured.
func update(file string, parts map[string]string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	text := string(b)
	for name, md := range parts {
		begin, end := "<!-- bench:"+name+" -->", "<!-- /bench:"+name+" -->"
		i, j := strings.Index(text, begin), strings.Index(text, end)
		if i < 0 || j < i {
			return fmt.Errorf("%s has no %s ... %s section", file, begin, end)
		}
		text = text[:i+len(begin)] + "\n" + md + "\n" + text[j:]
	}
	return os.WriteFile(file, []byte(text), 0o644)
}
