#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) on a copy of the committed seed corpus
# and prints each target's executions, coverage and findings.
#   bash fuzz/run.sh 600        # ten minutes a target
# The stable toolchain unlocks cargo-fuzz's nightly flags with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
export RUSTC_BOOTSTRAP=1
cargo fuzz build
for t in ${TARGETS:-bundle expression calendar bodies webhook_answer script}; do
  mkdir -p "corpus-work/$t"
  log="$(mktemp)"
  if cargo fuzz run "$t" "corpus-work/$t" "corpus/$t" -- \
       -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    status=clean
  else
    status="FOUND (see fuzz/artifacts/$t)"
  fi
  runs="$(grep -o 'Done [0-9]* runs' "$log" | tail -1 || true)"
  cov="$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)"
  echo "$t: $status; $runs in ${secs}s; $cov"
  rm -f "$log"
done
