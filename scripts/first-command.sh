#!/usr/bin/env bash
# The README's first command over seeds 0..N-1 (issue 31): each run's table, result.json and wall-clock seconds
# under OUT/sSEED, then the paired differences (scripts/first-command.py). Skips seeds already done (resumable).
#   scripts/first-command.sh [SEEDS]     (default 3; FIRST=K starts at seed K, e.g. one seed per process)
# The same command on another dataset or at another precision (issue 29's bf16 - fp32 parity):
#   DATASET=spambase PRECISION=bf16 OUT=results/precision-parity/spambase/bf16 scripts/first-command.sh 3
# THREADS=1 runs each seed on one thread (default 2, the README's command), e.g. two seeds side by side on 2 cores.
# ALPHA: MetaMAE's inner step size; on dna-splice the default is 0.1 (the README's command, the paper's Table 8 value
# for Genomics), elsewhere the CPU recipe's. ALPHA=1 OUT=results/first-command: the 10 seeds at the CPU recipe's alpha
# 1, on which half the seeds failed (results/first-command/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}
[[ $n =~ ^[0-9]+$ && ${FIRST:-0} =~ ^[0-9]+$ ]] \
  || { echo "error: SEEDS ('$n') and FIRST ('${FIRST:-}') must be whole numbers" >&2; exit 2; }
dataset=${DATASET:-dna-splice}
out_root=${OUT:-results/first-command/alpha-0.1}                   # the default: dna-splice at alpha 0.1
precision=()
alpha=()
if [[ -n ${ALPHA:-} ]]; then alpha=(--alpha "$ALPHA"); elif [[ $dataset == dna-splice ]]; then alpha=(--alpha 0.1); fi
[[ -n ${PRECISION:-} ]] && precision=(--precision "$PRECISION")
mkdir -p "$out_root"
for ((s = ${FIRST:-0}; s < n; s++)); do
  out=$out_root/s$s
  [[ -f $out/result.json ]] && continue
  resume=()
  [[ -d $out/pretrain ]] && resume=(--resume)          # a run killed part way continues from its checkpoint
  start=$(date +%s.%N)
  ./metamae run --dataset "$dataset" --recipe cpu "${alpha[@]}" --label-fraction 0.1,1 "${precision[@]}" --seed "$s" \
    --threads "${THREADS:-2}" --out "$out" "${resume[@]}" >> "$out_root/s$s.log" 2>&1
  echo "$(date +%s.%N) - $start" | bc > "$out/wall-seconds.txt"
done
/usr/bin/python3 scripts/first-command.py "$out_root"
