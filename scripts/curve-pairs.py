#!/usr/bin/env python3
"""Paired differences between the rows of an efficiency (curve) plan, per evaluation step.

usage: scripts/curve-pairs.py RESULTS_DIR [DATASET]   -> markdown on stdout

Reads RESULTS_DIR/cells/ROW/DATASET/sSEED/points.json (what `metamae bench-suite` writes for a plan of kind
"efficiency") and prints, for every pair of rows and every evaluation step, the mean over seeds of A - B (the
seeds both rows have) with a 95% Student-t interval; '*' marks an interval that excludes 0 and rests on at least 3
seeds (identical differences give no interval). Row names are the cell folder names (the plan's labels, made file-safe)."""
import glob, itertools, json, os, sys

from pairstats import paired_cell

root = sys.argv[1]
dataset = sys.argv[2] if len(sys.argv) > 2 else "*"
runs = {}                                                     # (row, dataset) -> {seed: {step: test}}
for path in sorted(glob.glob(os.path.join(root, "cells", "*", dataset, "s*", "points.json"))):
    parts = path.split(os.sep)
    row, ds, seed = parts[-4], parts[-3], int(parts[-2][1:])
    runs.setdefault((row, ds), {})[seed] = {p["step"]: p["test"] for p in json.load(open(path))}
print(f"Paired differences (A - B per seed, mean [95% t interval]) from `scripts/curve-pairs.py {' '.join(sys.argv[1:])}`\n")
for ds in sorted({d for _, d in runs}):
    rows = sorted(r for r, d in runs if d == ds)
    steps = sorted({s for (r, d), by in runs.items() if d == ds for pts in by.values() for s in pts})
    print(f"**{ds}**\n")
    print("| A - B | " + " | ".join(f"step {s}" for s in steps) + " |")
    print("|---|" + "---|" * len(steps))
    for a, b in itertools.combinations(rows, 2):
        cells = []
        for s in steps:
            seeds = [k for k in runs[(a, ds)] if k in runs[(b, ds)] and s in runs[(a, ds)][k] and s in runs[(b, ds)][k]]
            d = [runs[(a, ds)][k][s] - runs[(b, ds)][k][s] for k in seeds]
            if len(d) < 2:
                cells.append(f"{d[0]:+.4f} (n=1)" if d else "-")
                continue
            cells.append(paired_cell(d))
        print(f"| {a} - {b} | " + " | ".join(cells) + " |")
    print()
