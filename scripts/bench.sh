#!/usr/bin/env bash
# Turnout's measurements that are too long for the test suite. Each prints
# what it measured; none is a timed assertion.
#
#   judge: the statistical judge's simulation with 1,000 rollouts per
#          scenario against the fixed-threshold analysis (README.md,
#          "Statistical judge"); the test suite runs 40 per scenario.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-judge}
case "$what" in
judge)
  go test -count=1 -run '^TestJudgeSimulation$' -v ./internal/rollout/ -judge.sim
  ;;
*)
  echo "usage: $0 [judge]" >&2
  exit 2
  ;;
esac
