#!/usr/bin/env bash
# Alpha calibration for --inner-loss paper (issue 17): tiny preset, 100 steps, per dataset the
# reference scaling at the preset alpha and the paper scaling on a log grid of alphas, seeds 0 and 1.
# Usage (from the repository root): heavy results/alpha-calibration/run.sh DATASET [SEEDS] [ALPHAS]
# A cell whose metrics.csv is already here is skipped. Checkpoints go to a scratch folder.
set -euo pipefail
ds="$1"; seeds="${2:-0 1}"; alphas="${3:-0.01 0.1 1 10}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="${SCRATCH:-/tmp/metamae-alpha-calibration}"
cell() {   # name, then extra flags
  local name="$1"; shift
  local dst="$here/cells/$ds/$name"
  [[ -f "$dst/metrics.csv" ]] && return 0
  rm -rf "$scratch/$ds/$name"; mkdir -p "$scratch/$ds"
  "$root/metamae" pretrain --dataset "$ds" --preset tiny --steps 100 --log-every 10 --save-every 0 --threads 2 \
    --out "$scratch/$ds/$name" "$@" 2> "$scratch/$ds.$name.log" >/dev/null
  mkdir -p "$dst"
  cp "$scratch/$ds/$name/metrics.csv" "$scratch/$ds/$name/config.json" "$dst/"
  echo "$ds $name done"
}
for s in $seeds; do
  cell "reference-s$s" --seed "$s"
  for a in $alphas; do cell "paper-a$a-s$s" --seed "$s" --inner-loss paper --alpha "$a"; done
done
