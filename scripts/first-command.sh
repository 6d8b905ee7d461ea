#!/usr/bin/env bash
# The README's first command over seeds 0..N-1 (issue 31): each run's table, result.json and wall-clock seconds
# under results/first-command/sSEED, then the paired differences (scripts/first-command.py).
#   scripts/first-command.sh [SEEDS]     (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}
for ((s = 0; s < n; s++)); do
  out=results/first-command/s$s
  [[ -f $out/result.json ]] && continue
  start=$(date +%s.%N)
  ./metamae run --dataset dna-splice --recipe cpu --label-fraction 0.1,1 --seed "$s" --threads 2 --out "$out" \
    > "results/first-command/s$s.log" 2>&1
  echo "$(date +%s.%N) - $start" | bc > "$out/wall-seconds.txt"
done
/usr/bin/python3 scripts/first-command.py results/first-command
