// Package workflows holds only tests: they check the GitHub Actions workflows in
// .github/workflows (actionlint, and what each workflow must do) against the stack files.
// They read repository files and need no program, so they live apart from package main.
package workflows
