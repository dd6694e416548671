#!/usr/bin/env bash
# Fuzzing campaign: every Fuzz* target of the module (found with
# `go test -list`) runs with -fuzz for DURATION each (default 60s), one
# after the other. Go writes a failing input to the package's
# testdata/fuzz/FuzzX/; the script lists those new files (commit them: they
# become seeds that scripts/test.sh replays) and prints a summary table.
# Exits 1 when any target found a crasher or failed to run.
#
#   scripts/fuzz.sh          # 60s per target
#   scripts/fuzz.sh 20s      # shorter; FUZZ_PARALLEL=N sets -parallel (default: GOMAXPROCS)
#   FUZZ_ONLY=FuzzParse scripts/fuzz.sh 5m   # targets whose name matches the regexp
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-60s}"
only="${FUZZ_ONLY:-.}"
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then parallel=(-parallel "$FUZZ_PARALLEL"); fi
logs="$(mktemp -d "${TMPDIR:-/tmp}/turnout-fuzz.XXXXXX")"
trap 'rm -rf "$logs"' EXIT

# Packages whose tests declare a fuzz target, then the targets themselves.
targets=()
while read -r pkg dir; do
  grep -qs '^func Fuzz' "$dir"/*_test.go || continue
  for t in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' | grep -E "$only" || true); do
    targets+=("$pkg $dir $t")
  done
done < <(go list -f '{{.ImportPath}} {{.Dir}}' ./...)
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets match $only" >&2
  exit 1
fi
echo "fuzzing ${#targets[@]} targets for $duration each"

rows=()
new_files=()
failed=0
for entry in "${targets[@]}"; do
  read -r pkg dir t <<<"$entry"
  corpus="$dir/testdata/fuzz/$t"
  before="$logs/$t.before"
  ls "$corpus" 2>/dev/null | sort >"$before" || true
  log="$logs/$t.log"
  echo "== $pkg $t"
  start=$(date +%s)
  status=ok
  if ! go test -run '^$' -fuzz "^$t\$" -fuzztime "$duration" "${parallel[@]}" "$pkg" >"$log" 2>&1; then
    status=FAIL
    failed=1
  fi
  took=$(($(date +%s) - start))
  # The last progress line: "fuzz: elapsed: 20s, execs: 123 (6/sec), new interesting: 4 (total: 30)"
  last=$(grep 'fuzz: elapsed:' "$log" | tail -n 1 || true)
  fuzzed=$(sed -n 's/.*elapsed: \([0-9hms.]*\),.*/\1/p' <<<"$last")
  execs=$(sed -n 's/.*execs: \([0-9]*\).*/\1/p' <<<"$last")
  interesting=$(sed -n 's/.*new interesting: \([0-9]*\).*/\1/p' <<<"$last")
  crashers=0
  while read -r f; do
    [ -n "$f" ] || continue
    crashers=$((crashers + 1))
    new_files+=("${corpus#"$PWD/"}/$f")
  done < <(comm -13 "$before" <(ls "$corpus" 2>/dev/null | sort))
  if [ "$status" = FAIL ]; then
    grep -E -- '--- FAIL|Failing input|panic:|fuzzing process|deadline|exit status|\.go:[0-9]+:' "$log" | head -n 15 || tail -n 20 "$log"
  fi
  rows+=("$(printf '%-22s %-24s %7s %6ss %12s %8s %9s %6s' "$t" "${pkg#github.com/turnout-gw/turnout/}" "${fuzzed:--}" "$took" "${execs:-0}" "${interesting:-0}" "$crashers" "$status")")
done

echo
# fuzzed: the last progress line's elapsed time; wall: with building and the seed run.
printf '%-22s %-24s %7s %7s %12s %8s %9s %6s\n' target package fuzzed wall execs "new corp" crashers result
printf '%s\n' "${rows[@]}"
if [ ${#new_files[@]} -gt 0 ]; then
  echo
  echo "new crashers (kept as seeds; fix the bug, then commit them):"
  printf '  %s\n' "${new_files[@]}"
fi
exit "$failed"
