#!/usr/bin/env bash
# Makes the README's pictures in docs/img/ (seed 0; made on 2026-11-23 on a 2-core AMD EPYC VM,
# no GPU): a 300-step tiny MetaMAE run on dna-splice, its loss curve, and `metamae show` of it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
./metamae pretrain --dataset dna-splice --preset tiny --steps 300 --seed 0 --threads 1 --save-every 0 --log-every 100 --out "$out/run"
./metamae show --checkpoint "$out/run/checkpoint.safetensors" --samples 3 --seed 0 --out "$out/show"
mkdir -p docs/img
cp "$out/run/loss.png" docs/img/loss.png
cp "$out/show/reconstruction.png" docs/img/reconstruction.png
cp "$out/show/support-sets.png" docs/img/support-sets.png
rm -rf "$out"
ls -l docs/img
