package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/debug"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
)

// providerCall matches the engine's log of one provider call (pulumi -v=7):
// Provider[0x...].Check(urn:...) executing | success.
var providerCall = regexp.MustCompile(`^Provider\[[^\]]+\]\.(Check|Diff)\((urn:[^,)]+)[,)].*?(executing|success)`)

// callTimes is where a preview spends its time in the provider: the engine's own log of every
// Check and Diff call, with its timestamps, summed per resource type.
type callTimes struct {
	perType        map[string]time.Duration // "Check kind" / "Diff kind" -> total
	count          map[string]int
	sum, inFlight  time.Duration // all calls added up; wall time with at least one call running
	first, last    time.Time
	previewElapsed time.Duration // of the traced preview (logging slows it)
}

// traceCalls previews s once with the engine's log at level 7 and reads the provider calls
// from it.
func traceCalls(ctx context.Context, s auto.Stack) (callTimes, error) {
	var log bytes.Buffer
	level := uint(7)
	start := time.Now()
	if _, err := s.Preview(ctx, optpreview.DebugLogging(debug.LoggingOptions{LogLevel: &level, LogToStdErr: true}), optpreview.ErrorProgressStreams(&log)); err != nil {
		return callTimes{}, err
	}
	c := callTimes{perType: map[string]time.Duration{}, count: map[string]int{}, previewElapsed: time.Since(start)}
	started := map[string]time.Time{}
	type span struct{ from, to time.Time }
	var spans []span
	for _, line := range strings.Split(log.String(), "\n") {
		var entry struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		m := providerCall.FindStringSubmatch(entry.Msg)
		if m == nil {
			continue
		}
		op, urn, state := m[1], m[2], m[3]
		key := op + " " + urn
		if state == "executing" {
			started[key] = entry.Time
			continue
		}
		from, ok := started[key]
		if !ok {
			continue
		}
		parts := strings.Split(urn, "::")
		kind := parts[len(parts)-2]
		kind = kind[strings.LastIndex(kind, "$")+1:]
		d := entry.Time.Sub(from)
		c.perType[op+" "+kind] += d
		c.count[op+" "+kind]++
		c.sum += d
		spans = append(spans, span{from, entry.Time})
	}
	if len(spans) == 0 {
		return c, fmt.Errorf("no provider call found in the engine's log (%d bytes)", log.Len())
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	cur := spans[0]
	c.first = cur.from
	for _, s := range spans[1:] {
		if s.from.After(cur.to) {
			c.inFlight += cur.to.Sub(cur.from)
			cur = s
		} else if s.to.After(cur.to) {
			cur.to = s.to
		}
	}
	c.inFlight += cur.to.Sub(cur.from)
	c.last = cur.to
	return c, nil
}

// traceTable renders the provider calls of each traced stack, costliest kinds first.
func traceTable(names []string, traces []callTimes) string {
	var b strings.Builder
	b.WriteString("\nWhere a preview's time goes, from the engine's own log (one preview each with `pulumi -v=7` logging, which slows it; " +
		"Check and Diff calls to the providers, timed between their \"executing\" and \"success\" lines):\n\n")
	b.WriteString("| stack | traced preview | provider calls, added up | wall time with a call running | calls overlapping |\n|---|---|---|---|---|\n")
	for i, t := range traces {
		overlap := "none: one call at a time"
		if t.sum > t.inFlight+time.Millisecond {
			overlap = fmt.Sprintf("%s of overlap", (t.sum - t.inFlight).Round(time.Millisecond))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", names[i], t.previewElapsed.Round(time.Millisecond), t.sum.Round(time.Millisecond), t.inFlight.Round(time.Millisecond), overlap)
	}
	for i, t := range traces {
		fmt.Fprintf(&b, "\n%s, per call and kind (total, count, mean):\n\n| call | total | count | mean |\n|---|---|---|---|\n", names[i])
		keys := make([]string, 0, len(t.perType))
		for k := range t.perType {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(a, b int) bool { return t.perType[keys[a]] > t.perType[keys[b]] })
		for _, k := range keys {
			fmt.Fprintf(&b, "| %s | %.1f ms | %d | %.1f ms |\n", k, float64(t.perType[k].Microseconds())/1000, t.count[k], float64(t.perType[k].Microseconds())/1000/float64(t.count[k]))
		}
	}
	return b.String()
}
