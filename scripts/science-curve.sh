#!/usr/bin/env bash
# Issue 34's budget curves, seed by seed (MAE and MetaMAE of a seed land together, then the next seed), dataset by
# dataset in the order of the plan (speech-digits first: the paper's largest predicted gain). Resumable: run it again
# after a kill and the cells continue from their checkpoints. Pause with kill -STOP / -CONT while CI or a benchmark runs.
#   scripts/science-curve.sh [DATASET...]     (default: speech-digits dna-splice pamap2-like)
set -euo pipefail
cd "$(dirname "$0")/.."
datasets=("${@:-speech-digits dna-splice pamap2-like}")
for d in ${datasets[@]}; do
  for seed in 0 1 2; do
    plan=configs/science-curve.json; [[ $d == pamap2-like ]] && plan=configs/science-curve-pamap2.json
    ./metamae bench-suite "$plan" --out results/science-curve --datasets "$d" --seeds "$seed" \
      --threads 2
  done
done
