#!/usr/bin/env bash
# How OpenMP workers wait (issue 14 item 4): METAMAE_OMP_WAIT=auto (the default: 1,000 spins when the cores are free at
# start, else sleep) against passive (always sleep, the default before 2026-12-03). MetaMAE, small preset, batch 32,
# 2 threads, synthetic data of `metamae bench`; per round: each policy alone, two runs started together, and a second
# run started 5 s after the first. Run it on an otherwise idle machine (~3.5 minutes with the defaults).
#
#   scripts/omp-wait.sh          # writes results/omp-wait.txt (OUT=...), raw `omp=... ms_median=...` lines per case
# Env: ROUNDS (2), OUT (results/omp-wait.txt).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${ROUNDS:-2}" out="${OUT:-$here/results/omp-wait.txt}"
"$here/metamae" --help >/dev/null    # build once, outside the timings
b() { env METAMAE_OMP_WAIT="$1" "$here/metamae" bench --algo metamae --preset small --batch 32 --steps "$2" --warmup 3 \
  --feature-batch 0 --peak-size 0 --threads 2 --seed 0 | grep -o "omp=[a-z]* ms_median=[0-9.]*"; }
{
  echo "# scripts/omp-wait.sh (ROUNDS=$rounds), $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$here" rev-parse --short HEAD)" \
       "$(git -C "$here" diff --quiet HEAD || echo '(uncommitted changes)')"
  echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), nproc=$(nproc); ms_median = median step, ms"
  t1=$(mktemp) t2=$(mktemp)
  for r in $(seq 1 "$rounds"); do
    echo "r$r solo passive: $(b passive 30)"
    echo "r$r solo auto: $(b auto 30)"
    b passive 60 >"$t1" & b passive 60 >"$t2" & wait; echo "r$r together passive: $(cat "$t1") | $(cat "$t2")"
    b auto 60 >"$t1" & b auto 60 >"$t2" & wait; echo "r$r together auto: $(cat "$t1") | $(cat "$t2")"
    b auto 80 >"$t1" & sleep 5; b auto 40 >"$t2"; wait; echo "r$r staggered auto: first $(cat "$t1") | second $(cat "$t2")"
  done
  rm -f "$t1" "$t2"
} | tee "$out"
