#!/usr/bin/env bash
# Memory over time (issue 16.5): a 10,000-step pretraining run (tiny preset, dna-splice, the fastest
# shipped dataset) through the real CLI loop (metrics.csv, TensorBoard, a checkpoint every 1,000 steps),
# its resident memory (RSS) read from the progress line every 500 steps. Growth after warm-up =
# (largest RSS from step 1,000 on - RSS at step 1,000) / RSS at step 1,000.
# Usage: scripts/rss-10k.sh [STEPS] [OUT]   (THREADS=2 by default)   -> results/rss-10k-steps.txt
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-10000}; out=${2:-results/rss-10k-steps.txt}; threads=${THREADS:-2}
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
cmd=(./metamae pretrain --dataset dna-splice --preset tiny --batch 16 --steps "$steps" --log-every 500 --save-every 1000
     --threads "$threads" --out "$run/out")
log="$run/log"
"${cmd[@]}" 2>"$log" >/dev/null
{
  echo "# ${cmd[*]/$run\/out/TMP}"
  echo "# $(date -u +%F) on $(nproc) cores; RSS as the progress line reports it (Environment.WorkingSet)"
  grep -oE 'step [0-9]+/[0-9]+ .* rss [0-9]+ MB' "$log" | sed -E 's/^step ([0-9]+)\/[0-9]+ loss ([0-9.]+).* ([0-9.]+) steps\/s.* rss ([0-9]+) MB/step \1: loss \2, \3 steps\/s, rss \4 MB/'
  grep -oE 'step [0-9]+/[0-9]+ .* rss [0-9]+ MB' "$log" | awk '
    { split($2, s, "/"); st = s[1] + 0; rss = $(NF-1) + 0
      if (st == 1000) warm = rss
      if (st >= 1000 && rss > peak) peak = rss
      last = rss; first = (first == "" ? rss : first) }
    END { if (warm == "") { print "RESULT: no RSS at step 1000 (run shorter than 1000 steps?)"; exit 1 }
          printf "RESULT: rss at step 1 %d MB, at step 1000 (after warm-up) %d MB, largest after %d MB, last %d MB: growth after warm-up %.1f%%\n", first, warm, peak, last, 100 * (peak - warm) / warm }'
} > "$out"
cat "$out"
