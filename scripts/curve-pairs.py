#!/usr/bin/env python3
"""Paired differences between the rows of an efficiency (curve) plan, per evaluation step.

usage: scripts/curve-pairs.py RESULTS_DIR [DATASET] [--probe paper] [--extrapolate STEPS]   -> markdown on stdout

Reads RESULTS_DIR/cells/ROW/DATASET/sSEED/points.json (what `metamae bench-suite` writes for a plan of kind
"efficiency") and prints, for every pair of rows and every evaluation step, the mean over seeds of A - B (the
seeds both rows have) with a 95% Student-t interval; '*' marks an interval that excludes 0 and rests on at least 3
seeds (identical differences give no interval). Rows are the plan's labels, read with the seed and dataset from each
cell's result.json (scripts/cells.py; a cell still running names them in its log).
--probe NAME reads the figures of a second probe stored per point (a plan's "also_probe", issue 34) instead of the
plan's own. Pairs are A - B with A after B in reverse alphabetical order (MetaMAE - MAE).
--extrapolate STEPS adds, per pair, a straight line in log10(steps) fitted to each seed's differences (least
squares over that seed's evaluation steps): the mean slope per tenfold more steps and the line's value at STEPS,
each with a 95% t interval over seeds. Beyond the last evaluated step that value is an extrapolation of a straight
line, not a measurement."""
import glob, itertools, json, math, os, statistics, sys

from cells import identity
from pairstats import paired_cell

args = sys.argv[1:]
probe = None
if "--probe" in args:
    i = args.index("--probe")
    probe = args[i + 1]
    del args[i:i + 2]
target = None
if "--extrapolate" in args:
    i = args.index("--extrapolate")
    target = int(args[i + 1])
    del args[i:i + 2]
root = args[0]
dataset = args[1] if len(args) > 1 else "*"


def line(points):
    """(slope per decade, value at target) of the least-squares line of d against log10(step)."""
    xs = [math.log10(x) for x, _ in points]
    ys = [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return slope, my + slope * (math.log10(target) - mx)


def test_of(p):
    if probe is None:
        return p["test"]
    return p["tests"][probe]["test"]

runs = {}                                                     # (row, dataset) -> {seed: {step: test}}
for path in sorted(glob.glob(os.path.join(root, "cells", "*", dataset, "s*", "points.json"))):
    row, ds, seed = identity(os.path.dirname(path))
    runs.setdefault((row, ds), {})[seed] = {p["step"]: test_of(p) for p in json.load(open(path))
                                            if probe is None or probe in p.get("tests", {})}
print(f"Paired differences (A - B per seed, mean [95% t interval]) from `scripts/curve-pairs.py {' '.join(sys.argv[1:])}`"
      + (f", the {probe} probe's figures" if probe else "") + "\n")
for ds in sorted({d for _, d in runs}):
    rows = sorted((r for r, d in runs if d == ds), reverse=True)
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
    if target is None:
        continue
    print(f"Straight line in log10(steps) per seed, {min(steps)}-{max(steps)} steps"
          + (f"; its value at {target} steps is an extrapolation" if target > max(steps) else "") + ":\n")
    print(f"| A - B | slope per tenfold steps | value at {target} steps |")
    print("|---|---|---|")
    for a, b in itertools.combinations(rows, 2):
        fits = []
        for k in sorted(set(runs[(a, ds)]) & set(runs[(b, ds)])):
            pts = [(st, runs[(a, ds)][k][st] - runs[(b, ds)][k][st]) for st in steps
                   if st in runs[(a, ds)][k] and st in runs[(b, ds)][k]]
            if len({x for x, _ in pts}) >= 2:
                fits.append(line(pts))
        if len(fits) < 2:
            print(f"| {a} - {b} | - | - |")
            continue
        print(f"| {a} - {b} | {paired_cell([f[0] for f in fits])} | {paired_cell([f[1] for f in fits])} |")
    print()
