#!/usr/bin/env python3
"""Paired differences of the first command's rows over seeds (issue 31).

usage: scripts/first-command.py DIR [--against DIR2]
(reads DIR/sSEED/result.json and wall-seconds.txt; markdown on stdout; SEEDS=0,1,5 keeps those seeds only;
DIR and DIR2 may each be several folders joined by commas, whose seeds are pooled: a seed in two of them is an error;
with --against, PLOT=FILE.png draws the first row's per-seed differences, their mean and 95% interval per label
fraction, and MARGIN=0.01 shades the equivalence band +-MARGIN;
RUNS='s*-alpha0' reads the run folders of that name under DIR instead of s*, AGAINST_RUNS the same under DIR2, e.g.
under results/first-command/ablation)
For each label fraction: the encoder's test accuracy minus the raw input's and minus the random-init encoder's, per
seed (the same label subset and test rows at a seed), mean with a 95% Student-t interval. With --against: every row
of DIR minus the same row of DIR2 at the same seed (issue 29: bf16 runs against fp32 runs of the same command)."""
import glob, json, os, statistics, sys

from pairstats import paired_cell, paired_interval


def only_seeds():
    """The seeds SEEDS names (comma-separated whole numbers), or None for all."""
    text = os.environ.get("SEEDS", "").strip()
    if not text:
        return None
    try:
        return {int(v) for v in text.split(",")}
    except ValueError:
        sys.exit(f"SEEDS='{text}': expected whole numbers separated by commas, e.g. SEEDS=0,1,5")


def plot(path, title, diffs, margin):
    """One panel per label fraction: the per-seed differences (dots), their mean and 95% interval, the +-margin band."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 1.2 + 0.9 * len(diffs)))
    if margin:
        ax.axvspan(-margin, margin, color="tab:green", alpha=0.12, label=f"+-{margin:g} (equivalence margin)")
    ax.axvline(0, color="grey", lw=0.8)
    for i, (label, d) in enumerate(diffs):
        m, h, _ = paired_interval(d)
        ax.scatter(d, [i + 0.18] * len(d), s=12, color="tab:blue", alpha=0.6, label="one seed" if i == 0 else None)
        ax.errorbar([m], [i], xerr=[[h or 0], [h or 0]], fmt="o", color="black", capsize=4,
                    label="mean, 95% interval" if i == 0 else None)
        ax.annotate(f"{m:+.4f} [{m - (h or 0):+.4f}, {m + (h or 0):+.4f}], n={len(d)}", (m, i - 0.32),
                    ha="center", fontsize=8)
    ax.set_yticks(range(len(diffs)), [label for label, _ in diffs])
    ax.set_ylim(-0.7, len(diffs) - 0.3)
    ax.set_xlabel("test accuracy difference, paired by seed")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3)
    fig.savefig(path, dpi=120, bbox_inches="tight")


def load(roots, variable="RUNS"):
    """(algo, {(encoder, fraction): {seed: test}}, [wall seconds]) of the runs under the comma-separated folders roots
    (SEEDS: those seeds)."""
    rows, walls, algo, keep, where = {}, [], None, only_seeds(), {}
    pattern = os.environ.get(variable, "").strip() or "s*"
    paths = []
    for root in roots.split(","):
        found = sorted(glob.glob(os.path.join(root, pattern, "result.json")))
        if not found:
            sys.exit(f"{root}: no {pattern}/result.json (expected the run folders of a `metamae run` per seed)")
        paths += found
    for path in paths:
        r = json.load(open(path))
        if keep is not None and r["seed"] not in keep:
            continue
        if r["seed"] in where:
            sys.exit(f"seed {r['seed']} is in both {where[r['seed']]} and {path}: pool folders of different seeds")
        where[r["seed"]] = path
        algo = r["algo"]
        for row in r["rows"]:
            rows.setdefault((row["encoder"], row["label_fraction"]), {})[r["seed"]] = row["test"]
        w = os.path.join(os.path.dirname(path), "wall-seconds.txt")
        if os.path.exists(w):
            walls.append(float(open(w).read()))
    return algo, rows, walls


root = sys.argv[1]
algo, rows, walls = load(root)
if len(sys.argv) == 4 and sys.argv[2] == "--against":
    other = sys.argv[3]
    _, base, base_walls = load(other, "AGAINST_RUNS")
    fractions = sorted({f for _, f in rows})
    seeds = (f"SEEDS={os.environ['SEEDS']} " if only_seeds() else "") + \
        "".join(f"{v}='{os.environ[v]}' " for v in ("RUNS", "AGAINST_RUNS") if os.environ.get(v, "").strip())
    print(f"From `{seeds}scripts/first-command.py {root} --against {other}`: {root} minus {other}, paired by seed"
          + (f"; wall clock per run {min(walls):.0f}-{max(walls):.0f} s against "
             f"{min(base_walls):.0f}-{max(base_walls):.0f} s" if walls and base_walls else "") + ".\n")
    print("| features | " + " | ".join(f"{f:.0%} of the labels" for f in fractions) + " |")
    print("|---|" + "---|" * len(fractions))
    drawn = []                                      # the first row's differences per fraction, for PLOT
    for enc in [algo, "random_init", "raw_input"]:
        cells = []
        for f in fractions:
            a, b = rows.get((enc, f), {}), base.get((enc, f), {})
            d = [a[s] - b[s] for s in sorted(set(a) & set(b))]
            cells.append(paired_cell(d) if len(d) > 1 else (f"{d[0]:+.4f} (one seed)" if d else "-"))
            if enc == algo and len(d) > 1:
                drawn.append((f"{f:.0%} of the labels", d))
        print(f"| {enc} | " + " | ".join(cells) + " |")
    if os.environ.get("PLOT", "").strip():
        margin = float(os.environ.get("MARGIN", "0") or 0)
        plot(os.environ["PLOT"], f"{algo}: {root} minus {other}", drawn, margin)
        print(f"\n{os.environ['PLOT']}: the {algo} row's differences, drawn")
    sys.exit(0)
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
