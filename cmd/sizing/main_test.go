package main

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeSizingTable: README's Sizing table is what cmd/sizing -markdown prints, so that a
// change to the sizing table, the presets or the stack files shows in the README.
func TestReadmeSizingTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- sizing-table -->\n")
	table, _, ok2 := strings.Cut(rest, "<!-- /sizing-table -->")
	if !ok || !ok2 {
		t.Fatal("README.md lacks the <!-- sizing-table --> markers")
	}
	want, err := Table("../..")
	if err != nil {
		t.Fatal(err)
	}
	if table != want {
		t.Errorf("README's Sizing table is stale; fix: paste go run ./cmd/sizing -markdown between its markers. Want:\n%s", want)
	}
}
