package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// TestWorkflowsLint runs actionlint over .github/workflows, and checks that the PR workflow
// previews every stack with pulumi/actions and comments on the PR.
func TestWorkflowsLint(t *testing.T) {
	files, err := filepath.Glob(".github/workflows/*.yml")
	if err != nil || len(files) < 2 {
		t.Fatalf("want the preview and deploy workflows, found %v (%v)", files, err)
	}
	linter, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := linter.LintFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s:%d:%d: %s [%s]", p.Filepath, p.Line, p.Column, p.Message, p.Kind)
	}
}

func TestPreviewWorkflowCoversEveryStack(t *testing.T) {
	files, _ := filepath.Glob("Pulumi.*.yaml")
	raw, err := readFile(".github/workflows/preview.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		stack := strings.TrimSuffix(strings.TrimPrefix(f, "Pulumi."), ".yaml")
		if !strings.Contains(raw, "stack: [") || !strings.Contains(raw[strings.Index(raw, "stack: ["):], stack) {
			t.Errorf("preview.yml does not preview stack %s", stack)
		}
	}
	for _, want := range []string{"pulumi/actions@", "command: preview", "comment-on-pr: true"} {
		if !strings.Contains(raw, want) {
			t.Errorf("preview.yml lacks %q", want)
		}
	}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
