#!/usr/bin/env python3
"""Issue 34's diagnostics of MetaMAE cells against pretraining steps, one PNG per dataset.

usage: /usr/bin/python3 scripts/diagnostics.py RESULTS_DIR [OUT_DIR]   (Debian's matplotlib)

Reads RESULTS_DIR/cells/*/DATASET/sSEED/pretrain/metrics.csv (or .csv.gz) of every row whose cells log a contrast
term (row, dataset and seed from the cell's result.json, or its log while it runs: scripts/cells.py) and
draws, per logged step: contrast minus its floor for the batch (contrast - contrast_floor), the share of the encoder's
gradient norm from lambda x contrast (contrast_share) and from the inner step's second-order path
(second_order_share), the latent change ||Z* - Z|| / ||Z|| and the inner gain L_Q(Z) - L_Q(Z*). One line per seed.
Writes OUT_DIR/diagnostics-DATASET.png (OUT_DIR defaults to RESULTS_DIR) and prints what it wrote."""
import os, sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cells import identity, metrics_paths, read_metrics

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

root = sys.argv[1]
out = sys.argv[2] if len(sys.argv) > 2 else root
series = defaultdict(list)                         # (dataset) -> [(row, seed, rows of metrics.csv)]
for path in metrics_paths(root):
    row, ds, seed = identity(os.path.dirname(os.path.dirname(path)))
    rows = [r for r in read_metrics(path) if r.get("second_order_share") or r.get("contrast_share")]
    if rows:
        series[ds].append((row, f"s{seed}", rows))
panels = [("contrast above its floor", lambda r: float(r["contrast"]) - float(r["contrast_floor"])
           if r.get("contrast") and r.get("contrast_floor") else None),
          ("contrast share of encoder gradient", lambda r: float(r["contrast_share"]) if r.get("contrast_share") else None),
          ("second-order share of encoder gradient",
           lambda r: float(r["second_order_share"]) if r.get("second_order_share") else None),
          ("latent change |Z*-Z|/|Z|", lambda r: float(r["latent_change"]) if r.get("latent_change") else None),
          ("inner gain L_Q(Z)-L_Q(Z*)", lambda r: float(r["inner_gain"]) if r.get("inner_gain") else None)]
for ds, cells in sorted(series.items()):
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    for ax, (title, get) in zip(axes, panels):
        for row, seed, rows in cells:
            pts = [(int(r["step"]), get(r)) for r in rows]
            pts = [(s, v) for s, v in pts if v is not None]
            if pts:
                ax.plot(*zip(*pts), marker=".", label=f"{row} {seed}")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
        if "share" in title or "change" in title:
            ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{ds}: MetaMAE diagnostics per logged step ({root})", fontsize=10)
    fig.tight_layout()
    path = os.path.join(out, f"diagnostics-{ds}.png")
    fig.savefig(path, dpi=90)
    print(path)
