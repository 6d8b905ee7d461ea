#!/usr/bin/env python3
"""Paired differences of the first command's rows over seeds (issue 31).

usage: scripts/first-command.py DIR   (reads DIR/sSEED/result.json and wall-seconds.txt; markdown on stdout)
For each label fraction: the encoder's test accuracy minus the raw input's and minus the random-init encoder's, per
seed (the same label subset and test rows at a seed), mean with a 95% Student-t interval."""
import glob, json, os, statistics, sys

from pairstats import paired_cell

root = sys.argv[1]
runs = sorted(glob.glob(os.path.join(root, "s*", "result.json")))
rows = {}                                                  # (encoder, fraction) -> {seed: test}
walls = []
algo = None
for path in runs:
    r = json.load(open(path))
    algo = r["algo"]
    for row in r["rows"]:
        rows.setdefault((row["encoder"], row["label_fraction"]), {})[r["seed"]] = row["test"]
    w = os.path.join(os.path.dirname(path), "wall-seconds.txt")
    if os.path.exists(w):
        walls.append(float(open(w).read()))
fractions = sorted({f for _, f in rows})
print(f"From `scripts/first-command.py {root}` over seeds {sorted({s for v in rows.values() for s in v})}"
      + (f"; wall clock per run {min(walls):.0f}-{max(walls):.0f} s" if walls else "") + ".\n")
print("| features | " + " | ".join(f"test accuracy, {f:.0%} of the labels" for f in fractions) + " |")
print("|---|" + "---|" * len(fractions))
for enc in [algo, "random_init", "raw_input"]:
    cells = []
    for f in fractions:
        v = list(rows.get((enc, f), {}).values())
        cells.append(f"{statistics.fmean(v):.4f} ± {statistics.stdev(v):.4f}" if len(v) > 1 else "-")
    print(f"| {enc} | " + " | ".join(cells) + " |")
print()
print("| A - B (paired by seed) | " + " | ".join(f"{f:.0%} of the labels" for f in fractions) + " |")
print("|---|" + "---|" * len(fractions))
for b in ["raw_input", "random_init"]:
    cells = []
    for f in fractions:
        a, bb = rows.get((algo, f), {}), rows.get((b, f), {})
        d = [a[s] - bb[s] for s in sorted(set(a) & set(bb))]
        cells.append(paired_cell(d) if len(d) > 1 else "-")
    print(f"| {algo} - {b} | " + " | ".join(cells) + " |")
