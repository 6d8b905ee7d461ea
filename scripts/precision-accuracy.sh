#!/usr/bin/env bash
# bf16 against fp32 for accuracy (issue 14.1): MetaMAE, tiny preset, DATASET (dna-splice), STEPS (1000) steps,
# seeds SEEDS (0 1 2), once with --precision fp32 and once with bf16; every step's loss is in each run's
# metrics.csv. Then the converged probe on each checkpoint. scripts/precision-accuracy.py writes the table
# (loss-curve gap, probe accuracies, paired bf16 - fp32 difference with a 95% interval) and the plot.
#   scripts/precision-accuracy.sh [OUT]   -> OUT (results/precision-accuracy)/{README.md,loss.png,runs/}
# Timings here are not a benchmark (scripts/bench-precision.sh is): other work may run beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/precision-accuracy}
dataset=${DATASET:-dna-splice} steps=${STEPS:-1000} seeds=${SEEDS:-0 1 2}
mkdir -p "$out/runs"
for s in $seeds; do
  for p in fp32 bf16; do
    run="$out/runs/$dataset-$p-s$s"
    if [[ ! -f "$run/probe.json" ]]; then
      ./metamae pretrain --dataset "$dataset" --preset tiny --steps "$steps" --seed "$s" --precision "$p" \
        --threads 2 --save-every 0 --log-every 100 --out "$run" --json | tail -1 > "$run.pretrain.json"
      mv "$run.pretrain.json" "$run/pretrain.json"
      ./metamae probe --checkpoint "$run/checkpoint.safetensors" --seed "$s" --threads 2 --json | tail -1 > "$run/probe.json.tmp"
      mv "$run/probe.json.tmp" "$run/probe.json"
    fi
    echo "$dataset $p seed $s: $(cat "$run/probe.json" | head -c 200)"
  done
done
rm -f "$out"/runs/*/checkpoint.safetensors
/usr/bin/python3 scripts/precision-accuracy.py "$out" "$dataset" "$steps" "$seeds"
