#!/usr/bin/env bash
# Turnout's test command (README.md): installs what the tests need on a fresh
# Debian machine that has only Go, then runs every test with the race
# detector, a short run of every fuzz target's seed corpus, and the
# benchmarks once each as a smoke test (never as timed assertions).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive as real processes; add them here as tests
# come to need them (for example chromium for the dashboard's browser tests).
need_apt=()
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${need_apt[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing ${need_apt[*]} and cannot install (need root and apt-get)" >&2
    exit 1
  fi
fi

echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
echo "== benchmarks (smoke: one iteration each)"
go test -run '^$' -bench . -benchtime 1x -timeout 10m ./... >/dev/null
echo "== done"
