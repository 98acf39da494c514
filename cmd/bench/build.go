package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"obs-stack/internal/benchstats"
)

// timed runs go args in root runs times (with extra environment) and returns the wall times.
func timed(ctx context.Context, root string, n int, env []string, args ...string) (benchstats.Sample, error) {
	var s benchstats.Sample
	for i := 0; i < n; i++ {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir, cmd.Env = root, append(os.Environ(), env...)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		s = append(s, time.Since(start))
	}
	return s, nil
}

func build(ctx context.Context, root string) (string, error) {
	tmp, err := os.MkdirTemp("", "obs-stack-bench-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "obs-stack")
	type row struct {
		what, command string
		s             benchstats.Sample
	}
	var rows []row
	measure := func(what string, n int, env []string, args ...string) error {
		logf("%s", what)
		s, err := timed(ctx, root, n, env, args...)
		if err != nil {
			return err
		}
		cmd := "go " + strings.Join(args, " ")
		if len(env) > 0 {
			cmd = strings.Join(env, " ") + " " + cmd
		}
		rows = append(rows, row{what, strings.ReplaceAll(cmd, tmp, "$TMP"), s})
		return nil
	}
	if *cold {
		// Fresh build caches; the module cache stays (the sources are on disk either way).
		if err := measure("cold compile + link of the program (empty GOCACHE)", 1, []string{"GOCACHE=" + filepath.Join(tmp, "cacheA")}, "build", "-o", bin, "."); err != nil {
			return "", err
		}
		if err := measure("cold compile of the unit tests (empty GOCACHE, no test run)", 1, []string{"GOCACHE=" + filepath.Join(tmp, "cacheB")}, "test", "-count=1", "-run", "^$", "./..."); err != nil {
			return "", err
		}
	}
	// Warm: one unmeasured run first.
	if _, err := timed(ctx, root, 1, nil, "build", "-o", bin, "."); err != nil {
		return "", err
	}
	if err := measure("warm build of the program (compile cached, link)", *runs, nil, "build", "-o", bin, "."); err != nil {
		return "", err
	}
	// -short (CI) skips the unit tests: the test command has just compiled and run them.
	if !*short {
		if err := measure("warm compile of the unit tests (no test run)", *runs, nil, "test", "-count=1", "-run", "^$", "./..."); err != nil {
			return "", err
		}
		if err := measure("warm unit tests (the test command's unit step)", *runs, nil, "test", "-count=1", "./..."); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	b.WriteString("| what | command | wall: median (min–max) | target |\n|---|---|---|---|\n")
	for _, r := range rows {
		target := ""
		if strings.HasPrefix(r.what, "warm unit tests") {
			target = "< 15 s"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", r.what, r.command, r.s, target)
	}
	b.WriteString("\n")
	b.WriteString(toolchainLog())
	return b.String(), nil
}

// toolchainLog quotes the per-piece times of a cold toolchain build's log (the stderr of
// `bash toolchain/build.sh`), named by -toolchain-log.
func toolchainLog() string {
	file := *toolchainLogFile
	if file == "" {
		return "Toolchain cold build: not quoted (pass -toolchain-log with the stderr of a cold `bash toolchain/build.sh`).\n"
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return "Toolchain cold build: cannot read " + file + ".\n"
	}
	var pieces []string
	for _, m := range regexp.MustCompile(`toolchain: (\S+): built in (\d+) s`).FindAllStringSubmatch(string(raw), -1) {
		pieces = append(pieces, fmt.Sprintf("| %s | %s s |", m[1], m[2]))
	}
	total := "?"
	if m := regexp.MustCompile(`toolchain: all built in (\d+) s`).FindStringSubmatch(string(raw)); m != nil {
		total = m[1]
	}
	return fmt.Sprintf("Toolchain cold build per piece (`bash toolchain/build.sh`, quoted from its log %s, one run, "+
		"built while sharing 2 cores with other compiles; the pieces overlap, so they do not add up to the total):\n\n| piece | built in |\n|---|---|\n%s\n| all | %s s |\n",
		file, strings.Join(pieces, "\n"), total)
}
