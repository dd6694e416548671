#!/usr/bin/env bash
# Turnout's test command (README.md): installs what the tests need on a fresh
# Debian machine that has only Go, then runs every test with the race
# detector, a short run of every fuzz target's seed corpus, and the
# benchmarks once each as a smoke test (never as timed assertions).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive as real processes; add them here as tests
# come to need them. chromium: the dashboard's browser test
# (internal/admin/dashboard_browser_test.go) fails without it; prometheus:
# the analysis-from-Prometheus test (internal/promsource/prometheus_test.go)
# runs a real server and fails without it; etcd-server (binary etcd): the
# fleet's tests (internal/cluster, internal/testutil/etcdtest) run real etcd
# processes of their own on 127.0.0.1 ports they pick, never the package's
# service. Each entry is PACKAGE or PACKAGE:BINARY.
need_apt=(chromium prometheus etcd-server:etcd)
missing=()
for entry in "${need_apt[@]}"; do
  pkg=${entry%%:*}
  bin=${entry##*:}
  # Installed as a Debian package, or at least present on PATH.
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" &&
    ! command -v "$bin" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing ${missing[*]} and cannot install (need root and apt-get): apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

echo "== gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" $unformatted >&2
	exit 1
fi
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
echo "== heap measurements (without the race detector, which changes allocation sizes)"
go test -count=1 -run 'TestSeriesMemory' ./internal/stats
go test -count=1 -run 'TestServiceMemory' ./internal/gateway
echo "== the data plane's raw-syscall sockets (internal/rawconn), which -race builds leave out"
go test -count=1 -timeout 10m ./internal/rawconn ./internal/h1server ./internal/upstream ./internal/proxy \
	./internal/gateway ./internal/e2e ./middleware
echo "== benchmarks (smoke: one iteration each)"
go test -run '^$' -bench . -benchtime 1x -timeout 10m ./... >/dev/null
echo "== done"
