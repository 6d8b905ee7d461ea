#!/usr/bin/env bash
# Issue 29, item 3: does bf16 pretraining learn what fp32 learns? The README's first command (the CPU recipe, 10% and
# 100% of the labels) at --precision bf16 against fp32, seeds 0-2, on dna-splice and spambase. dna-splice's fp32 side
# is results/first-command (the same command; metrics.csv of a rerun at this build matched it bit for bit); spambase's
# runs both sides, fp32 and bf16 alternated per seed. Resumable (seeds done are skipped). Tables:
#   /usr/bin/python3 scripts/first-command.py results/precision-parity/D/bf16 --against D's fp32 folder
# dna-splice at the README's alpha 0.1 (2026-12-07): bf16-alpha-0.1 against results/first-command/alpha-0.1, seeds 0-9.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/precision-parity
ALPHA=1 DATASET=dna-splice PRECISION=bf16 OUT=$out/dna-splice/bf16 scripts/first-command.sh 3
DATASET=dna-splice PRECISION=bf16 OUT=$out/dna-splice/bf16-alpha-0.1 scripts/first-command.sh 10
for s in 1 2 3; do
  for p in fp32 bf16; do DATASET=spambase PRECISION=$p OUT=$out/spambase/$p scripts/first-command.sh "$s"; done
done
