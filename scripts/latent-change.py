#!/usr/bin/env python3
"""Is MetaMAE's latent adaptation doing anything? (issue 17.2 target: relative latent change >= 1e-3.)

usage: scripts/latent-change.py RESULTS_DIR [RESULTS_DIR...]  -> a markdown table on stdout

For every pretraining under RESULTS_DIR/cells/ROW/DATASET/sSEED/pretrain/metrics.csv whose latent_change column
is filled (MetaMAE runs log it on logging steps): the mean over the logged steps of the second half of training
of ||Z* - Z|| / ||Z|| and of the inner gain L_Q(Z) - L_Q(Z*) (also relative to the query loss L_Q(Z*), the
'reconstruction' column), then mean and range over seeds per row and dataset. Rows sharing one pretraining
(probe settings only) are listed once."""
import csv, glob, os, statistics, sys
from collections import defaultdict


def collect(roots):
    """(plan, row, dataset) -> [(seed, change, gain, rel_gain)] for every MetaMAE pretraining under roots."""
    cells = defaultdict(list)     # (plan, row, dataset) -> [(seed, change, gain, rel_gain)]
    seen = set()
    for root in roots:
        for path in sorted(glob.glob(os.path.join(root, "cells", "*", "*", "s*", "pretrain", "metrics.csv"))):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            parts = path.split(os.sep)
            row, dataset, seed = parts[-5], parts[-4], parts[-3]
            with open(path) as f:
                rows = [r for r in csv.DictReader(f) if r.get("latent_change")]
            if not rows:
                continue
            last = int(rows[-1]["step"])
            half = [r for r in rows if int(r["step"]) > last / 2] or rows
            ch = statistics.fmean(float(r["latent_change"]) for r in half)
            g = statistics.fmean(float(r["inner_gain"]) for r in half)
            rel = statistics.fmean(float(r["inner_gain"]) / max(float(r["reconstruction"]), 1e-12) for r in half)
            cells[(os.path.basename(os.path.normpath(root)), row, dataset)].append((seed, ch, g, rel))
    return cells


def main():
    cells = collect(sys.argv[1:])
    print("| plan | row (pretraining) | dataset | seeds | latent change (mean, min-max) | inner gain | inner gain / query loss | >= 1e-3 |")
    print("|---|---|---|---|---|---|---|---|")
    for (plan, row, dataset), v in sorted(cells.items()):
        ch = [x[1] for x in v]
        print(f"| {plan} | {row} | {dataset} | {len(v)} | {statistics.fmean(ch):.2e} ({min(ch):.1e}-{max(ch):.1e}) | "
              f"{statistics.fmean(x[2] for x in v):+.2e} | {statistics.fmean(x[3] for x in v):+.2%} | "
              f"{'yes' if min(ch) >= 1e-3 else 'no'} |")


if __name__ == "__main__":
    main()
