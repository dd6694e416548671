#!/usr/bin/env bash
# Soak campaign: a bounded mixed load against a real turnout process
# (bench/soak: HTTP/1.1, h2c, gRPC streaming, WebSocket; a configuration
# reload every 10 s; a rollout that steps to 100 % and, every second minute,
# rolls back from a broken v2), reporting the process's memory, goroutines
# and open files at rest after a warm-up and after the load. Exits non-zero
# when they are not flat (goroutines and fds +20, RSS ×1.5), when
# operations fail in transport, or when turnout does not exit 0 on SIGTERM.
#
#   scripts/soak.sh            # 10 minutes of load (plus a 60 s warm-up)
#   scripts/soak.sh 20s        # smoke run
#   scripts/soak.sh 30m -keep  # extra flags go to bench/soak (-reload, -cycle, -warmup, -keep)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10m}"
shift || true
bin="$(mktemp -d "${TMPDIR:-/tmp}/turnout-soak-bin.XXXXXX")"
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/turnout" ./cmd/turnout
go build -o "$bin/soak" ./bench/soak
"$bin/soak" -turnout "$bin/turnout" -duration "$duration" "$@"
