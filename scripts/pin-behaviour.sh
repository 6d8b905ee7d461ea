#!/usr/bin/env bash
# Behaviour pins for refactors (issue 30): --help of every command, and metrics.csv (the seconds column aside) and
# config.json of 50 tiny steps of every algorithm, the CPU recipe and its resume messages.
#   scripts/pin-behaviour.sh REPO OUT; run it before and after a change, then diff -r the two OUT folders
set -e
repo=$1; out=$2; mkdir -p $out; cd $repo
./metamae --help > $out/help-root.txt 2>&1 || true
for c in pretrain probe run datasets embed bench-suite compare bench export import show; do
  ./metamae $c --help > $out/help-$c.txt 2>&1 || true
done
for a in capri emix mae mae-dabs metamae shed; do
  rm -rf /tmp/pin-$a
  ./metamae pretrain --algo $a --preset tiny --steps 50 --log-every 5 --save-every 25 --threads 1 --dataset dna-splice --out /tmp/pin-$a > /dev/null 2>&1
  cut -d, -f1-5,7- /tmp/pin-$a/metrics.csv > $out/metrics-$a.csv
  cp /tmp/pin-$a/config.json $out/config-$a.json
done
# recipe cpu and resume path
rm -rf /tmp/pin-rc; ./metamae pretrain --recipe cpu --preset tiny --steps 30 --warmup-steps 5 --threads 1 --out /tmp/pin-rc > /dev/null 2>&1
cut -d, -f1-5,7- /tmp/pin-rc/metrics.csv > $out/metrics-recipe.csv; cp /tmp/pin-rc/config.json $out/config-recipe.json
./metamae pretrain --recipe cpu --preset tiny --steps 40 --warmup-steps 5 --threads 1 --out /tmp/pin-rc --resume --alpha 3 > $out/resume-conflict.txt 2>&1 || true
./metamae pretrain --recipe cpu --preset tiny --steps 40 --warmup-steps 5 --threads 1 --out /tmp/pin-rc --resume --lr 0.0005 2>&1 | grep -v "steps/s\|[0-9]s\b" > $out/resume-ok.txt || true
cut -d, -f1-5,7- /tmp/pin-rc/metrics.csv > $out/metrics-resumed.csv
