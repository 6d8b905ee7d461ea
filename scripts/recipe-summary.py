#!/usr/bin/env python3
"""One line per dataset of the issue-17 campaign at the CPU recipe: what the README's recipe section cites.

usage: scripts/recipe-summary.py [--svg FILE] RESULTS_DIR...   -> a markdown table on stdout (and a plot in FILE)
       (results/campaign-recipe/summary.md and summary.svg: scripts/recipe-summary.py --svg results/campaign-recipe/summary.svg
       results/campaign-small results/campaign-recipe)

Reads RESULTS_DIR/cells/*/DATASET/sSEED/result.json (bench-suite cells, through scripts/cells.py: the algorithm,
scaling, features and label fraction each cell's result.json records; a dataset's cells may sit in any of the folders,
a seed must not appear twice). Per dataset:
- the raw-input probe with all and with 10% of the labels (mean over seeds);
- the best pretrained features: among MAE and MetaMAE (both scalings) x mean / token features, the row with the best
  mean VALIDATION metric (so the choice does not peek at test), its test mean and its paired difference from the raw
  input over seeds, with all and with 10% of the labels;
- MetaMAE - MAE over every paired row (both scalings, both feature choices, both label fractions): how many
  intervals lie above 0 and below 0, and the row where MetaMAE comes closest to (or furthest ahead of) MAE;
- the relative latent change of the authors' and the paper's inner-loss scaling (scripts/latent-change.py).
Intervals: 95% Student t over seeds, starred by the bench-suite rule (scripts/pairstats.py).
--svg FILE also draws the intervals: MetaMAE - MAE on mean features (the paper's protocol; both scalings, all and 10%
of the labels) and best pretrained - raw input, one block per dataset (filled marker: the interval excludes 0)."""
import datetime, math, importlib.util, os, platform, statistics, sys

from cells import by_seed, load
from pairstats import paired_cell, paired_interval

ORDER = ["dna-splice", "protein-families", "spambase", "satellite", "digits", "speech-digits", "pamap2-like"]
FEATURES = {"mean": ", mean", "tokens": ", tokens"}
LABELS = {1.0: "all labels", 0.1: "10% labels"}
SCALINGS = {"reference": "authors'", "paper": "paper"}

args = sys.argv[1:]
svg_path = None
if args[:1] == ["--svg"]:
    if len(args) < 2:
        sys.exit("--svg needs a file name\n" + __doc__)
    svg_path, args = args[1], args[2:]
if not args or any(a.startswith("-") for a in args):
    sys.exit(__doc__)
roots = args
spec = importlib.util.spec_from_file_location("latent", os.path.join(os.path.dirname(__file__), "latent-change.py"))
latent = importlib.util.module_from_spec(spec)
spec.loader.exec_module(latent)
changes = latent.collect(roots)
every = load(roots)


def cells(key, dataset):
    """seed -> result.json of the cells of key = (arm, features, label fraction) on dataset across the folders."""
    arm, features, fraction = key
    return by_seed(every, dataset=dataset, arm=arm, fraction=fraction, **({"features": features} if features else {}))


def pair(a, b):
    """(mean difference, markdown cell, +1/-1 if starred above/below 0 else 0, half-width or None, starred) of A - B
    over the seeds both have; None under 2 seeds."""
    seeds = sorted(a.keys() & b.keys())
    if len(seeds) < 2:
        return None
    d = [a[s]["test"] - b[s]["test"] for s in seeds]
    m, h, starred = paired_interval(d)
    return m, paired_cell(d), ((1 if m > 0 else -1) if starred else 0), h, starred


def svg(blocks, path):
    """Forest plot: blocks = [(dataset, left [(label, colour, pair)], right [(label, colour, pair)])]."""
    rh, top, name_w, pw, gap = 14, 58, 130, 420, 50
    n = max([len(l) for _, l, _ in blocks] + [len(r) for _, _, r in blocks] + [1])
    bh = n * rh + 14
    height = top + bh * len(blocks) + 40
    width = name_w + 2 * pw + gap + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="11"><rect width="100%" height="100%" fill="white"/>']
    for panel, (title, x0) in enumerate([("MetaMAE - MAE, mean features (test accuracy)", name_w),
                                         ("best pretrained (chosen on validation) - raw input", name_w + pw + gap)]):
        pts = [p for b in blocks for _, _, p in b[1 + panel] if p]
        lim = min(max([abs(p[0]) + (p[3] or 0) for p in pts] + [0.01]), 0.2)   # wider intervals are cut, with an arrow
        step = next(st for st in (0.01, 0.02, 0.05, 0.1, 0.2) if lim / st <= 6)
        lim = math.ceil(lim / step) * step
        X = lambda v: x0 + (v + lim) / (2 * lim) * pw
        out.append(f'<text x="{x0 + pw / 2}" y="16" text-anchor="middle" font-weight="bold">{title}</text>')
        out.append(f'<rect x="{x0}" y="{top - 6}" width="{pw}" height="{bh * len(blocks)}" fill="none" stroke="#888"/>')
        for i in range(-round(lim / step), round(lim / step) + 1):
            v = i * step
            style = 'stroke="#555" stroke-dasharray="4 3"' if i == 0 else 'stroke="#e4e4e4"'
            out.append(f'<line x1="{X(v):.1f}" x2="{X(v):.1f}" y1="{top - 6}" y2="{top - 6 + bh * len(blocks)}" {style}/>')
            out.append(f'<text x="{X(v):.1f}" y="{top + bh * len(blocks) + 8}" text-anchor="middle">{v:+.2f}</text>')
        legend = [(lab, col) for b in blocks for lab, col, _ in b[1 + panel]]
        for j, (lab, col) in enumerate(dict.fromkeys(legend)):
            out.append(f'<circle cx="{x0 + 8 + (j % 2) * pw / 2}" cy="{30 + (j // 2) * 13}" r="4" fill="{col}"/>'
                       f'<text x="{x0 + 16 + (j % 2) * pw / 2}" y="{34 + (j // 2) * 13}">{lab}</text>')
        for bi, (ds, *panels) in enumerate(blocks):
            y0 = top + bi * bh
            if panel == 0:
                out.append(f'<text x="{name_w - 8}" y="{y0 + bh / 2 - 2}" text-anchor="end">{ds}</text>')
            if bi:
                out.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{y0 - 6}" y2="{y0 - 6}" stroke="#bbb"/>')
            for ri, (lab, col, p) in enumerate(panels[panel]):
                if not p:
                    continue
                y = y0 + ri * rh + 2
                if p[3] is not None:
                    lo, hi = max(p[0] - p[3], -lim), min(p[0] + p[3], lim)
                    out.append(f'<line x1="{X(lo):.1f}" x2="{X(hi):.1f}" y1="{y}" y2="{y}" '
                               f'stroke="{col}" stroke-width="1.5"/>')
                    for end, cut, d in ((lo, p[0] - p[3] < -lim, -1), (hi, p[0] + p[3] > lim, 1)):
                        if cut:
                            out.append(f'<path d="M{X(end):.1f},{y} l{-6 * d},-4 v8 z" fill="{col}"/>')
                out.append(f'<circle cx="{X(p[0]):.1f}" cy="{y}" r="4" stroke="{col}" stroke-width="1.5" '
                           f'fill="{col if p[4] else "white"}"/>')
    out.append(f'<text x="{width / 2}" y="{height - 6}" text-anchor="middle" fill="#444">mean over seeds with its 95% '
               f'interval (an arrow: cut at the axis); filled: the interval excludes 0 (>= 3 seeds)</text></svg>')
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


ARMS = {"mae": "MAE", "metamae_reference": "MetaMAE authors'", "metamae_paper": "MetaMAE paper"}


def rows_of(arm, fraction):
    """(cell key, display name) of one arm at one label fraction, mean then token features."""
    return [((arm, f, fraction), ARMS[arm] + name) for f, name in FEATURES.items()]


datasets = [d for d in ORDER if any(c.dataset == d for c in every)]
datasets += sorted({c.dataset for c in every} - set(datasets))
print(f"Made by `scripts/recipe-summary.py {' '.join(sys.argv[1:])}` on "
      f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC ({platform.node()}, {os.cpu_count()} cores) "
      "from the cells' result.json and pretrain/metrics.csv (their plans give command, seeds and budget). Pretrained "
      "features: MAE and MetaMAE (authors' and paper inner-loss scaling), mean or token features; the best is the "
      "row with the highest mean validation accuracy. Intervals: paired over seeds, 95% Student t, * excludes 0.\n")
print("| dataset | seeds | raw input: all / 10% labels | best pretrained features (chosen on validation): all / 10% "
      "| best - raw, all labels | best - raw, 10% labels | MetaMAE - MAE cells: above 0 / below 0 / of | "
      "MetaMAE's best cell against MAE | latent change: authors' / paper |")
print("|---|---|---|---|---|---|---|---|---|")
COLOURS = {("paper", 1.0): "#1f77b4", ("paper", 0.1): "#7fb6e0", ("reference", 1.0): "#d62728",
           ("reference", 0.1): "#f08a8a"}
blocks = []
for ds in datasets:
    raw = {k: cells(("raw_input", None, k), ds) for k in LABELS}
    if not all(raw.values()):
        continue
    best = {}
    for k in LABELS:
        cands = [(r, name) for arm in ARMS for r, name in rows_of(arm, k) if cells(r, ds)]
        row, name = max(cands, key=lambda c: statistics.mean(x["validation"] for x in cells(c[0], ds).values()))
        best[k] = (name, cells(row, ds))
    n_above = n_below = n = 0
    closest = None
    left = []
    for s in SCALINGS:
        for k in LABELS:
            for (meta, name), (mae, _) in zip(rows_of(f"metamae_{s}", k), rows_of("mae", k)):
                p = pair(cells(meta, ds), cells(mae, ds))
                if p is None:
                    continue
                n += 1
                n_above += p[2] > 0
                n_below += p[2] < 0
                if closest is None or p[0] > closest[0]:
                    closest = (p[0], f"{name}, {LABELS[k]}: {p[1]}")
                if name.endswith(", mean"):
                    left.append((f"{SCALINGS[s]} scaling, {LABELS[k]}", COLOURS[(s, k)], p))
    ch = {s: [x[1] for (plan, row, d, arm), v in changes.items() if d == ds and arm == f"metamae_{s}" for x in v]
          for s in SCALINGS}
    mean = lambda c: statistics.mean(x["test"] for x in c.values())
    seeds = sorted(set().union(*(c.keys() for c in raw.values())))
    diffs = [pair(best[k][1], raw[k]) for k in LABELS]
    blocks.append((ds, left, [(f"best - raw, {LABELS[k]}", col, p)
                              for k, col, p in zip(LABELS, ["#2ca02c", "#98df8a"], diffs)]))
    print(f"| {ds} | {len(seeds)} | {mean(raw[1.0]):.3f} / {mean(raw[0.1]):.3f} | "
          f"{best[1.0][0]} {mean(best[1.0][1]):.3f} / {best[0.1][0]} "
          f"{mean(best[0.1][1]):.3f} | {diffs[0][1] if diffs[0] else '-'} | "
          f"{diffs[1][1] if diffs[1] else '-'} | {n_above} / {n_below} / {n} | {closest[1] if closest else '-'} | "
          + " / ".join(f"{statistics.mean(ch[s]):.1e}" if ch[s] else "-" for s in SCALINGS) + " |")
if svg_path:
    svg(blocks, svg_path)
