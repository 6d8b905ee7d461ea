#!/usr/bin/env python3
"""Table of the alpha calibration (issue 17): reads cells/DATASET/ARM-sSEED/metrics.csv, prints markdown.
Per cell: latent_change at step 1, and the means over the logged steps 50-100 of latent_change,
inner_gain and the relative gain inner_gain / L_Q(Z) (L_Q(Z) = reconstruction + inner_gain); the
query loss L_Q(Z*) is the mean reconstruction of steps 91-100. Each figure is the mean over seeds."""
import csv, os, re, sys
from collections import defaultdict

here = os.path.dirname(os.path.abspath(__file__))
order = ["dna-splice", "protein-families", "spambase", "satellite", "digits", "speech-digits", "pamap2-like"]

def cell(path):
    rows = list(csv.DictReader(open(path)))
    logged = [r for r in rows if r["latent_change"]]
    late = [r for r in logged if int(r["step"]) >= 50]
    f = lambda r, k: float(r[k])
    return {
        "lc1": f(logged[0], "latent_change"),
        "lc": sum(f(r, "latent_change") for r in late) / len(late),
        "gain": sum(f(r, "inner_gain") for r in late) / len(late),
        "rel": sum(f(r, "inner_gain") / (f(r, "reconstruction") + f(r, "inner_gain")) for r in late) / len(late),
        "q": sum(f(r, "reconstruction") for r in rows[-10:]) / 10,
        "steps": int(rows[-1]["step"]),
    }

cells = defaultdict(list)
for ds in sorted(os.listdir(os.path.join(here, "cells"))):
    for name in os.listdir(os.path.join(here, "cells", ds)):
        m = re.fullmatch(r"(reference|paper-a([0-9.]+))-s(\d+)", name)
        p = os.path.join(here, "cells", ds, name, "metrics.csv")
        if not m or not os.path.exists(p): continue
        alpha = None if m.group(1) == "reference" else float(m.group(2))
        cells[(ds, alpha)].append((int(m.group(3)), cell(p)))

def preset_alpha(ds):
    import json
    d = os.path.join(here, "cells", ds)
    for n in os.listdir(d):
        if n.startswith("reference"):
            return json.load(open(os.path.join(d, n, "config.json")))["objective"]["alpha"]

print("| dataset | arm | alpha | seeds | latent change, step 1 | latent change, steps 50-100 | inner gain, steps 50-100 "
      "| gain / L_Q(Z) | query loss L_Q(Z*), steps 91-100 |")
print("|---|---|---|---|---|---|---|---|---|")
for ds in [d for d in order if any(k[0] == d for k in cells)] + sorted({k[0] for k in cells} - set(order)):
    keys = sorted([k for k in cells if k[0] == ds], key=lambda k: -1 if k[1] is None else k[1])
    for k in keys:
        v = cells[k]
        mean = lambda key: sum(c[key] for _, c in v) / len(v)
        arm = "reference" if k[1] is None else "paper"
        alpha = preset_alpha(ds) if k[1] is None else k[1]
        seeds = ",".join(str(s) for s, _ in sorted(v))
        print(f"| {ds} | {arm} | {alpha:g} | {seeds} | {mean('lc1'):.1e} | {mean('lc'):.1e} | {mean('gain'):+.1e} "
              f"| {mean('rel'):+.1e} | {mean('q'):.4f} |")
