#!/usr/bin/env python3
"""Is MetaMAE's latent adaptation doing anything? (issue 17.2 target: relative latent change >= 1e-3.)

usage: scripts/latent-change.py RESULTS_DIR [RESULTS_DIR...]  -> a markdown table on stdout

For every pretraining under RESULTS_DIR/cells/*/DATASET/sSEED/pretrain/metrics.csv (or .csv.gz) whose latent_change column
is filled (MetaMAE runs log it on logging steps): the mean over the logged steps of the second half of training
of ||Z* - Z|| / ||Z|| and of the inner gain L_Q(Z) - L_Q(Z*) (also relative to the query loss L_Q(Z*), the
'reconstruction' column), then mean and range over seeds per row and dataset. Rows sharing one pretraining
(probe settings only) are listed once, under the row of the cell that holds the pretraining (its result.json names the
row, dataset, seed and inner-loss scaling)."""
import json, os, statistics, sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cells import arm_of, metrics_paths, read_metrics


def collect(roots):
    """(plan, row, dataset, arm) -> [(seed, change, gain, rel_gain)] for every MetaMAE pretraining under roots."""
    cells = defaultdict(list)     # (plan, row, dataset, arm) -> [(seed, change, gain, rel_gain)]
    seen = set()
    for root in roots:
        for path in metrics_paths(root):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            result = os.path.join(os.path.dirname(os.path.dirname(path)), "result.json")
            if not os.path.exists(result):
                continue                                   # a cell still pretraining: no figures yet
            r = json.load(open(result))
            row, dataset, seed = r["row"], r["column"], f"s{r['seed']}"
            rows = [m for m in read_metrics(path) if m.get("latent_change")]
            if not rows:
                continue
            last = int(rows[-1]["step"])
            half = [r for r in rows if int(r["step"]) > last / 2] or rows
            ch = statistics.fmean(float(r["latent_change"]) for r in half)
            g = statistics.fmean(float(r["inner_gain"]) for r in half)
            rel = statistics.fmean(float(r["inner_gain"]) / max(float(r["reconstruction"]), 1e-12) for r in half)
            cells[(os.path.basename(os.path.normpath(root)), row, dataset, arm_of(r))].append((seed, ch, g, rel))
    return cells


def main():
    cells = collect(sys.argv[1:])
    print("| plan | row (pretraining) | dataset | seeds | latent change (mean, min-max) | inner gain | inner gain / query loss | >= 1e-3 |")
    print("|---|---|---|---|---|---|---|---|")
    for (plan, row, dataset, _), v in sorted(cells.items()):
        ch = [x[1] for x in v]
        print(f"| {plan} | {row} | {dataset} | {len(v)} | {statistics.fmean(ch):.2e} ({min(ch):.1e}-{max(ch):.1e}) | "
              f"{statistics.fmean(x[2] for x in v):+.2e} | {statistics.fmean(x[3] for x in v):+.2%} | "
              f"{'yes' if min(ch) >= 1e-3 else 'no'} |")


if __name__ == "__main__":
    main()
