package deploy

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
)

// Display is the compact view of one operation, built from the engine's event stream
// (optup.EventStreams and friends) instead of Pulumi's line-per-update progress text:
//   - one permanent line per resource that changes (unchanged ones are only counted), and every
//     diagnostic that is not a transient status message (warnings and errors in full);
//   - on a terminal, one status line rewritten in place: the resources in flight, how long each
//     has taken, and the provider's latest status message (e.g. what an await waits for);
//   - elsewhere (CI), no control characters, and a line every 30 s naming what is in flight;
//   - a summary at the end (Pulumi's change counts and duration).
//
// cmd/deploy's -verbose (VERBOSE=1 in scripts/up.sh) shows Pulumi's own full progress instead.
type Display struct {
	w        io.Writer
	live     bool // a terminal: a status line rewritten in place
	label    string
	events   chan events.EngineEvent
	done     chan struct{}
	start    time.Time
	inflight map[string]*step // by URN
	finished int
	failed   []string
	summary  *apitype.SummaryEvent
	status   string // the status line on screen, if any
	beat     time.Time
}

type step struct {
	op, typ, name, note string
	start               time.Time
}

// heartbeat is how often a non-terminal view names what is still in flight.
const heartbeat = 30 * time.Second

// NewDisplay starts the view of one operation on w (live: w is a terminal, see IsTerminal),
// each summary line starting with label ("up dev"). Pass Events to the operation's
// EventStreams option, then call Finish with its result.
func NewDisplay(w io.Writer, live bool, label string) *Display {
	d := &Display{
		w: w, live: live, label: label, start: time.Now(), beat: time.Now(),
		events: make(chan events.EngineEvent, 256), done: make(chan struct{}), inflight: map[string]*step{},
	}
	go d.run()
	return d
}

// Events is the channel the operation's engine events go to (optup.EventStreams and
// friends); closing it ends the view.
func (d *Display) Events() chan<- events.EngineEvent { return d.events }

// IsTerminal says whether f is a character device (a terminal), without a dependency.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

func (d *Display) run() {
	defer close(d.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-d.events:
			if !ok {
				d.clearStatus()
				return
			}
			d.handle(ev)
		case <-tick.C:
		}
		d.refresh()
	}
}

func (d *Display) handle(ev events.EngineEvent) {
	switch {
	case ev.Error != nil:
		d.println("engine event stream: " + ev.Error.Error())
	case ev.ResourcePreEvent != nil:
		m := ev.ResourcePreEvent.Metadata
		if m.Type != "pulumi:pulumi:Stack" { // in flight from start to end: it says nothing
			d.inflight[m.URN] = &step{op: string(m.Op), typ: m.Type, name: name(m.URN), start: time.Now()}
		}
	case ev.ResOutputsEvent != nil:
		m := ev.ResOutputsEvent.Metadata
		s := d.inflight[m.URN]
		delete(d.inflight, m.URN)
		d.finished++
		if !changesSomething(m.Op) || m.Type == "pulumi:pulumi:Stack" {
			return
		}
		took := ""
		if s != nil && time.Since(s.start) >= time.Second {
			took = fmt.Sprintf(" (%s)", time.Since(s.start).Round(time.Second))
		}
		d.println(fmt.Sprintf("  %s %-8s %s %s%s", symbol(m.Op), m.Op, m.Type, name(m.URN), took))
	case ev.ResOpFailedEvent != nil:
		m := ev.ResOpFailedEvent.Metadata
		delete(d.inflight, m.URN)
		d.failed = append(d.failed, m.Type+" "+name(m.URN))
		d.println(fmt.Sprintf("  x %-8s %s %s FAILED", m.Op, m.Type, name(m.URN)))
	case ev.DiagnosticEvent != nil:
		e := ev.DiagnosticEvent
		msg := strings.TrimRight(colors.Never.Colorize(e.Message), "\n")
		if e.Severity == "debug" || strings.TrimSpace(msg) == "" {
			return
		}
		if e.Ephemeral && e.Severity == "info" { // a provider's transient status ("Waiting for ...")
			if s := d.inflight[e.URN]; s != nil {
				s.note = strings.Join(strings.Fields(msg), " ")
			}
			return
		}
		who := "stack"
		if e.URN != "" && !strings.Contains(e.URN, "pulumi:pulumi:Stack") {
			who = name(e.URN)
		}
		d.println(fmt.Sprintf("  %s (%s): %s", e.Severity, who, msg))
	case ev.StdoutEvent != nil:
		if msg := strings.TrimRight(colors.Never.Colorize(ev.StdoutEvent.Message), "\n"); strings.TrimSpace(msg) != "" {
			d.println(msg)
		}
	case ev.PolicyEvent != nil:
		e := ev.PolicyEvent
		d.println(fmt.Sprintf("  policy %s/%s (%s): %s", e.PolicyPackName, e.PolicyName, e.EnforcementLevel, colors.Never.Colorize(e.Message)))
	case ev.SummaryEvent != nil:
		d.summary = ev.SummaryEvent
	}
}

// refresh redraws the status line on a terminal, or prints a heartbeat elsewhere.
func (d *Display) refresh() {
	if len(d.inflight) == 0 {
		d.clearStatus()
		return
	}
	steps := make([]*step, 0, len(d.inflight))
	for _, s := range d.inflight {
		steps = append(steps, s)
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].start.Before(steps[j].start) })
	var parts []string
	for _, s := range steps {
		p := fmt.Sprintf("%s %s (%s)", s.name, short(s.typ), time.Since(s.start).Round(time.Second))
		if s.note != "" {
			p += ": " + s.note
		}
		parts = append(parts, p)
	}
	line := fmt.Sprintf("%s: %d done, %d in progress: %s", d.label, d.finished, len(steps), strings.Join(parts, "; "))
	if d.live {
		if max := width() - 1; len(line) > max {
			line = line[:max-3] + "..."
		}
		if line != d.status {
			fmt.Fprint(d.w, "\r\033[K"+line)
			d.status = line
		}
		return
	}
	if time.Since(d.beat) >= heartbeat {
		d.beat = time.Now()
		fmt.Fprintln(d.w, "  ... "+line)
	}
}

func (d *Display) clearStatus() {
	if d.status != "" {
		fmt.Fprint(d.w, "\r\033[K")
		d.status = ""
	}
}

func (d *Display) println(s string) {
	d.clearStatus()
	fmt.Fprintln(d.w, s)
}

// Finish waits for the stream to end (auto closes it when the engine is done) and prints
// the summary. err is the operation's result.
func (d *Display) Finish(err error) {
	select {
	case <-d.done:
	case <-time.After(5 * time.Second): // the engine died before its stream closed
	}
	took := time.Since(d.start).Round(time.Second)
	if d.summary != nil {
		var counts []string
		for _, op := range []apitype.OpType{apitype.OpCreate, apitype.OpUpdate, apitype.OpReplace, apitype.OpDelete, apitype.OpSame} {
			if n := d.summary.ResourceChanges[op]; n > 0 {
				word := map[apitype.OpType]string{apitype.OpCreate: "created", apitype.OpUpdate: "updated",
					apitype.OpReplace: "replaced", apitype.OpDelete: "deleted", apitype.OpSame: "unchanged"}[op]
				if d.summary.IsPreview && op != apitype.OpSame {
					word = "to be " + word
				}
				counts = append(counts, fmt.Sprintf("%d %s", n, word))
			}
		}
		if len(counts) == 0 {
			counts = []string{"no resources"}
		}
		fmt.Fprintf(d.w, "%s: %s in %s\n", d.label, strings.Join(counts, ", "), took)
	}
	if len(d.failed) > 0 {
		fmt.Fprintf(d.w, "%s: failed: %s\n", d.label, strings.Join(d.failed, ", "))
	}
	if err != nil {
		fmt.Fprintf(d.w, "%s: FAILED after %s (the errors are above; -verbose or VERBOSE=1 shows Pulumi's full log)\n", d.label, took)
	}
}

// name is the last part of a URN: the resource's name.
func name(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}

// short is a type's last part: kubernetes:apps/v1:StatefulSet -> StatefulSet.
func short(typ string) string {
	return typ[strings.LastIndex(typ, ":")+1:]
}

func symbol(op apitype.OpType) string {
	switch op {
	case apitype.OpCreate, apitype.OpCreateReplacement:
		return "+"
	case apitype.OpDelete, apitype.OpDeleteReplaced:
		return "-"
	case apitype.OpReplace:
		return "+-"
	case apitype.OpUpdate:
		return "~"
	}
	return " "
}

func width() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("COLUMNS"), &n); err == nil && n > 20 {
		return n
	}
	return 120
}

// Compact drops the captured stdout that the Automation API puts into its errors: it is the
// full progress log (shown already with -verbose; summarised by the display otherwise).
// What Pulumi wrote to stderr stays.
func Compact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	i, j := strings.Index(msg, "\nstdout: "), strings.LastIndex(msg, "\nstderr: ")
	if i < 0 || j < i {
		return err
	}
	return fmt.Errorf("%s%s", msg[:i], strings.TrimRight(msg[j:], "\n"))
}
