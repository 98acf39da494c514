#!/usr/bin/env bash
# The README's test command: build, vet and run every test of the project.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

echo "== go build + go vet"
go build ./...
go vet ./...
echo "== unit tests (pulumi.WithMocks, golden files, validation catalogue)"
go test -count=1 ./...
