#!/usr/bin/env python3
"""Paired differences between the rows of an efficiency (curve) plan, per evaluation step.

usage: scripts/curve-pairs.py RESULTS_DIR [DATASET] [--probe paper]   -> markdown on stdout

Reads RESULTS_DIR/cells/ROW/DATASET/sSEED/points.json (what `metamae bench-suite` writes for a plan of kind
"efficiency") and prints, for every pair of rows and every evaluation step, the mean over seeds of A - B (the
seeds both rows have) with a 95% Student-t interval; '*' marks an interval that excludes 0 and rests on at least 3
seeds (identical differences give no interval). Row names are the cell folder names (the plan's labels, made file-safe).
--probe NAME reads the figures of a second probe stored per point (a plan's "also_probe", issue 34) instead of the
plan's own."""
import glob, itertools, json, os, sys

from pairstats import paired_cell

args = sys.argv[1:]
probe = None
if "--probe" in args:
    i = args.index("--probe")
    probe = args[i + 1]
    del args[i:i + 2]
root = args[0]
dataset = args[1] if len(args) > 1 else "*"


def test_of(p):
    if probe is None:
        return p["test"]
    return p["tests"][probe]["test"]

runs = {}                                                     # (row, dataset) -> {seed: {step: test}}
for path in sorted(glob.glob(os.path.join(root, "cells", "*", dataset, "s*", "points.json"))):
    parts = path.split(os.sep)
    row, ds, seed = parts[-4], parts[-3], int(parts[-2][1:])
    runs.setdefault((row, ds), {})[seed] = {p["step"]: test_of(p) for p in json.load(open(path))
                                            if probe is None or probe in p.get("tests", {})}
print(f"Paired differences (A - B per seed, mean [95% t interval]) from `scripts/curve-pairs.py {' '.join(sys.argv[1:])}`"
      + (f", the {probe} probe's figures" if probe else "") + "\n")
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
