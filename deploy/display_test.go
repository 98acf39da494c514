package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

func urn(typ, name string) string { return "urn:pulumi:dev::obs-stack::" + typ + "::" + name }

// A first up of 50 resources, as the engine reports it: per resource a pre event, five transient
// status messages and an outputs event; one warning of three lines; one failure with its error.
func firstUp(d *Display) {
	send := func(e apitype.EngineEvent) { d.events <- events.EngineEvent{EngineEvent: e} }
	for i := range 50 {
		m := apitype.StepEventMetadata{Op: apitype.OpCreate, Type: "kubernetes:core/v1:ConfigMap", URN: urn("kubernetes:core/v1:ConfigMap", fmt.Sprintf("cm-%d", i))}
		send(apitype.EngineEvent{ResourcePreEvent: &apitype.ResourcePreEvent{Metadata: m}})
		for j := range 5 {
			send(apitype.EngineEvent{DiagnosticEvent: &apitype.DiagnosticEvent{URN: m.URN, Severity: "info", Ephemeral: true, Message: fmt.Sprintf("[%d/5] Waiting for <{%%fg 3%%}>something<{%%reset%%}>\n", j)}})
		}
		send(apitype.EngineEvent{ResOutputsEvent: &apitype.ResOutputsEvent{Metadata: m}})
	}
	send(apitype.EngineEvent{DiagnosticEvent: &apitype.DiagnosticEvent{URN: urn("kubernetes:apps/v1:StatefulSet", "loki"), Severity: "warning",
		Message: "<{%fg 3%}>line one\nline two\nline three<{%reset%}>\n"}})
	bad := apitype.StepEventMetadata{Op: apitype.OpCreate, Type: "kubernetes:apps/v1:Deployment", URN: urn("kubernetes:apps/v1:Deployment", "gateway")}
	send(apitype.EngineEvent{ResourcePreEvent: &apitype.ResourcePreEvent{Metadata: bad}})
	send(apitype.EngineEvent{DiagnosticEvent: &apitype.DiagnosticEvent{URN: bad.URN, Severity: "error", Message: "timed out waiting for the condition: 0/1 replicas ready\n"}})
	send(apitype.EngineEvent{ResOpFailedEvent: &apitype.ResOpFailedEvent{Metadata: bad}})
	send(apitype.EngineEvent{SummaryEvent: &apitype.SummaryEvent{ResourceChanges: map[apitype.OpType]int{apitype.OpCreate: 50, apitype.OpSame: 2}, DurationSeconds: 3}})
	close(d.events)
}

func TestCompactViewForCI(t *testing.T) {
	var out bytes.Buffer
	d := NewDisplay(&out, false, "up dev")
	firstUp(d)
	d.Finish(errors.New("failed"))
	text := out.String()
	lines := strings.Split(strings.TrimSpace(text), "\n")
	// 50 created + 3 warning lines + error + failed line + summary + failed list + FAILED: 58.
	if len(lines) != 58 {
		t.Errorf("%d lines for 50 resources, want 58:\n%s", len(lines), text)
	}
	if strings.ContainsAny(text, "\r\033") {
		t.Error("control characters in the non-terminal view")
	}
	for _, want := range []string{
		"  + create   kubernetes:core/v1:ConfigMap cm-49\n",
		"warning (loki): line one\nline two\nline three\n",
		"error (gateway): timed out waiting for the condition: 0/1 replicas ready\n",
		"x create   kubernetes:apps/v1:Deployment gateway FAILED",
		"up dev: 50 created, 2 unchanged in ",
		"up dev: failed: kubernetes:apps/v1:Deployment gateway\n",
		"up dev: FAILED after",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Waiting for") || strings.Contains(text, "<{%") {
		t.Errorf("transient status messages or colour markup in the CI view:\n%s", text)
	}
	if n := strings.Count(text, "cm-7\n"); n != 1 {
		t.Errorf("cm-7 shown %d times, want once", n)
	}
}

// screen is what a terminal shows for text: "\r\033[K" returns to the start of the line and
// erases it.
func screen(text string) string {
	var b strings.Builder
	for len(text) > 0 {
		if rest, ok := strings.CutPrefix(text, "\r\033[K"); ok {
			shown := b.String()
			b.Reset()
			b.WriteString(shown[:strings.LastIndex(shown, "\n")+1])
			text = rest
			continue
		}
		b.WriteByte(text[0])
		text = text[1:]
	}
	return b.String()
}

func TestLiveViewRewritesOneStatusLine(t *testing.T) {
	var live, ci bytes.Buffer
	d := NewDisplay(&live, true, "up dev")
	firstUp(d)
	d.Finish(errors.New("failed"))
	d = NewDisplay(&ci, false, "up dev")
	firstUp(d)
	d.Finish(errors.New("failed"))

	text := live.String()
	if n := strings.Count(text, "\r\033[K"); n < 2 {
		t.Errorf("a terminal gets %d status-line rewrites, want one per change", n)
	}
	// Every permanent line stands on its own: once the terminal has erased the status line,
	// the same lines as for CI remain.
	if got := screen(text); got != ci.String() {
		t.Errorf("a terminal shows\n%s\nwant the CI view\n%s", got, ci.String())
	}
}

func TestCompactErrorDropsTheCapturedLog(t *testing.T) {
	err := fmt.Errorf("up dev: %w", errors.New("failed to run update: exit status 255\ncode: 255\nstdout: Updating (dev):\n + a created\n + b created\n\nstderr: error: update failed\n"))
	got := Compact(err).Error()
	if strings.Contains(got, "b created") || !strings.Contains(got, "stderr: error: update failed") || !strings.HasPrefix(got, "up dev: failed to run update") {
		t.Errorf("Compact(err) = %q", got)
	}
	if plain := errors.New("no stack named dev"); Compact(plain) != plain {
		t.Error("an error without captured output must stay as it is")
	}
}
