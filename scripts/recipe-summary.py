#!/usr/bin/env python3
"""One line per dataset of the issue-17 campaign at the CPU recipe: what the README's recipe section cites.

usage: scripts/recipe-summary.py RESULTS_DIR...   -> a markdown table on stdout
       (results/campaign-recipe/summary.md: scripts/recipe-summary.py results/campaign-small results/campaign-recipe)

Reads RESULTS_DIR/cells/ROW/DATASET/sSEED/result.json (bench-suite cells; a dataset's cells may sit in any of the
folders, a seed must not appear twice). Per dataset:
- the raw-input probe with all and with 10% of the labels (mean over seeds);
- the best pretrained features: among MAE and MetaMAE (both scalings) x mean / token features, the row with the best
  mean VALIDATION metric (so the choice does not peek at test), its test mean and its paired difference from the raw
  input over seeds, with all and with 10% of the labels;
- MetaMAE - MAE over every paired row (both scalings, both feature choices, both label fractions): how many
  intervals lie above 0 and below 0, and the row where MetaMAE comes closest to (or furthest ahead of) MAE;
- the relative latent change of the authors' and the paper's inner-loss scaling (scripts/latent-change.py).
Intervals: 95% Student t over seeds, starred by the bench-suite rule (scripts/pairstats.py)."""
import datetime, glob, importlib.util, json, os, platform, statistics, sys

from pairstats import paired_cell

ORDER = ["dna-splice", "protein-families", "spambase", "satellite", "digits", "speech-digits", "pamap2-like"]
FEATURES = ["", "__token_features"]
LABELS = {"": "all labels", "__10__labels": "10% labels"}
SCALINGS = {"reference": "authors'", "paper": "paper"}

if len(sys.argv) < 2:
    sys.exit(__doc__)
roots = sys.argv[1:]
spec = importlib.util.spec_from_file_location("latent", os.path.join(os.path.dirname(__file__), "latent-change.py"))
latent = importlib.util.module_from_spec(spec)
spec.loader.exec_module(latent)
changes = latent.collect(roots)


def cells(row, dataset):
    """seed -> result.json of ROW/DATASET across the folders."""
    out = {}
    for root in roots:
        for f in glob.glob(os.path.join(root, "cells", row, dataset, "s*", "result.json")):
            seed = int(os.path.basename(os.path.dirname(f))[1:])
            if seed in out:
                sys.exit(f"seed {seed} of {row}/{dataset} appears twice (second: {f})")
            out[seed] = json.load(open(f))
    return out


def pair(a, b):
    """(mean difference, markdown cell, +1/-1 if starred above/below 0 else 0) of A - B over the seeds both have."""
    seeds = sorted(a.keys() & b.keys())
    if len(seeds) < 2:
        return None
    d = [a[s]["test"] - b[s]["test"] for s in seeds]
    cell = paired_cell(d)
    return statistics.mean(d), cell, (1 if statistics.mean(d) > 0 else -1) if "* (n=" in cell else 0


ARMS = {"mae": "MAE", "metamae__reference_scaling": "MetaMAE authors'", "metamae__paper_scaling": "MetaMAE paper"}


def rows_of(arm, labels):
    """(row folder, display name) of one arm at one label fraction, mean then token features: the plan's file-safe
    labels, e.g. 'MetaMAE (paper scaling), token features, 10% labels' -> metamae__paper_scaling___token_features__10__labels."""
    out = []
    for f in FEATURES:
        suffix = f + labels
        row = arm + ("_" if arm.startswith("metamae") and suffix else "") + suffix
        out.append((row, ARMS[arm] + (", tokens" if f else ", mean")))
    return out


datasets = [d for d in ORDER if any(glob.glob(os.path.join(r, "cells", "*", d)) for r in roots)]
datasets += sorted({os.path.basename(p) for r in roots for p in glob.glob(os.path.join(r, "cells", "*", "*"))}
                   - set(datasets))
print(f"Made by `scripts/recipe-summary.py {' '.join(roots)}` on "
      f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC ({platform.node()}, {os.cpu_count()} cores) "
      "from the cells' result.json and pretrain/metrics.csv (their plans give command, seeds and budget). Pretrained "
      "features: MAE and MetaMAE (authors' and paper inner-loss scaling), mean or token features; the best is the "
      "row with the highest mean validation accuracy. Intervals: paired over seeds, 95% Student t, * excludes 0.\n")
print("| dataset | seeds | raw input: all / 10% labels | best pretrained features (chosen on validation): all / 10% "
      "| best - raw, all labels | best - raw, 10% labels | MetaMAE - MAE cells: above 0 / below 0 / of | "
      "MetaMAE's best cell against MAE | latent change: authors' / paper |")
print("|---|---|---|---|---|---|---|---|---|")
for ds in datasets:
    raw = {k: cells("raw_input" + k, ds) for k in LABELS}
    if not all(raw.values()):
        continue
    best = {}
    for k in LABELS:
        cands = [(r, name) for arm in ARMS for r, name in rows_of(arm, k) if cells(r, ds)]
        row, name = max(cands, key=lambda c: statistics.mean(x["validation"] for x in cells(c[0], ds).values()))
        best[k] = (name, cells(row, ds))
    n_above = n_below = n = 0
    closest = None
    for s in SCALINGS:
        for k in LABELS:
            for (meta, name), (mae, _) in zip(rows_of(f"metamae__{s}_scaling", k), rows_of("mae", k)):
                p = pair(cells(meta, ds), cells(mae, ds))
                if p is None:
                    continue
                n += 1
                n_above += p[2] > 0
                n_below += p[2] < 0
                if closest is None or p[0] > closest[0]:
                    closest = (p[0], f"{name}, {LABELS[k]}: {p[1]}")
    ch = {s: [x[1] for (plan, row, d), v in changes.items() if d == ds and row == f"metamae__{s}_scaling" for x in v]
          for s in SCALINGS}
    mean = lambda c: statistics.mean(x["test"] for x in c.values())
    seeds = sorted(set().union(*(c.keys() for c in raw.values())))
    diffs = [pair(best[k][1], raw[k]) for k in LABELS]
    print(f"| {ds} | {len(seeds)} | {mean(raw['']):.3f} / {mean(raw['__10__labels']):.3f} | "
          f"{best[''][0]} {mean(best[''][1]):.3f} / {best['__10__labels'][0]} "
          f"{mean(best['__10__labels'][1]):.3f} | {diffs[0][1] if diffs[0] else '-'} | "
          f"{diffs[1][1] if diffs[1] else '-'} | {n_above} / {n_below} / {n} | {closest[1] if closest else '-'} | "
          + " / ".join(f"{statistics.mean(ch[s]):.1e}" if ch[s] else "-" for s in SCALINGS) + " |")
