#!/usr/bin/env python3
"""Paired difference of two bench-suite rows pooled over the seeds of several results folders.

usage: scripts/pooled-pairs.py DATASET ROW_A ROW_B RESULTS_DIR...   -> one markdown line on stdout

ROW_A and ROW_B are cell folder names (the plan's labels, made file-safe, e.g. metamae__paper_scaling and mae). Reads
RESULTS_DIR/cells/ROW/DATASET/sSEED/result.json from each folder (a seed must not appear in two folders) and prints the
mean of A - B over the seeds both rows have, its 95% Student-t interval and how many seeds had A ahead. Used for the
pooled seeds 0-6 of results/campaign-recipe and results/confirm-speech."""
import glob, json, os, sys

from pairstats import paired_cell

if len(sys.argv) < 5:
    sys.exit(__doc__)
dataset, row_a, row_b, roots = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]


def tests(root, row):
    out = {}
    for f in glob.glob(os.path.join(root, "cells", row, dataset, "s*", "result.json")):
        out[int(os.path.basename(os.path.dirname(f))[1:])] = json.load(open(f))["test"]
    return out


diffs = {}
for root in roots:
    a, b = tests(root, row_a), tests(root, row_b)
    for seed in sorted(a.keys() & b.keys()):
        if seed in diffs:
            sys.exit(f"seed {seed} of {row_a}/{dataset} appears in two results folders (second: {root})")
        diffs[seed] = a[seed] - b[seed]
if len(diffs) < 2:
    sys.exit(f"need at least 2 seeds with both {row_a} and {row_b} on {dataset}; found {len(diffs)}")
d = list(diffs.values())
print(f"| {row_a} - {row_b} | {dataset} | seeds {','.join(map(str, sorted(diffs)))} | {paired_cell(d)} | "
      f"A ahead on {sum(x > 0 for x in d)} of {len(d)} |")
