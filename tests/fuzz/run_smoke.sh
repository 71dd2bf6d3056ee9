#!/usr/bin/env bash
# Runs one fuzz target for a short time from the golden-case inputs, in a
# scratch corpus (nothing is written into the source tree).
#   run_smoke.sh <fuzzer binary> <seconds> <source dir> <input glob under tests/cases/>
set -euo pipefail
fuzzer=$1 seconds=$2 source=$3 glob=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/seeds"
shopt -s nullglob
for f in "$source"/tests/cases/$glob; do
  cp "$f" "$work/seeds/$(basename "$(dirname "$f")")-$(basename "$f")"
done
cd "$work"
exec "$fuzzer" -max_total_time="$seconds" -seed=1 -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 corpus seeds
