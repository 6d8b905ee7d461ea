#!/usr/bin/env python3
"""Paired difference of two bench-suite rows pooled over the seeds of several results folders.

usage: scripts/pooled-pairs.py DATASET ROW_A ROW_B RESULTS_DIR...   -> one markdown line on stdout

ROW_A and ROW_B are the plan's row labels as each cell's result.json records them (e.g. "MetaMAE (paper scaling)" and
MAE), or the cell folders those labels name (metamae__paper_scaling, mae). Reads the finished cells of DATASET in
each folder through scripts/cells.py (a seed must not appear in two folders) and prints the
mean of A - B over the seeds both rows have, its 95% Student-t interval and how many seeds had A ahead. Used for the
pooled seeds 0-6 of results/campaign-recipe and results/confirm-speech."""
import os, sys

from cells import load
from pairstats import paired_cell

if len(sys.argv) < 5:
    sys.exit(__doc__)
dataset, row_a, row_b, roots = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]


def tests(root, row):
    """seed -> test of the row named by its label (or its cell folder) in root."""
    return {c.seed: c.result["test"] for c in load([root], dataset)
            if row in (c.row, os.path.basename(os.path.dirname(os.path.dirname(c.dir))))}


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
