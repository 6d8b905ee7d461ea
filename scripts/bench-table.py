#!/usr/bin/env python3
"""Turns the output of scripts/bench-vs-torch.sh into the markdown tables of results/performance.md.

usage: scripts/bench-table.py results/bench-vs-torch.txt

Per configuration (the '## CONFIG round R' headers), each side's figure is the median over rounds of
its per-run ms_median (each run already a median over its timed steps). Prints the side-by-side
table, the MetaMAE/MAE time ratios against their FLOP ratios, and the feature-extraction rates.
"""
import re
import statistics
import sys


def parse(path):
    cells = {}          # config -> impl -> list of dicts
    order = []
    config = None
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        m = re.match(r"## (.*) round \d+$", line)
        if m:
            config = m.group(1)
            if config not in cells:
                cells[config] = {}
                order.append(config)
            continue
        if line.startswith("RESULT") and config is not None:
            kv = dict(re.findall(r"(\w+)=(\S+)", line))
            bf16 = kv.get("precision") == "bf16" or kv.get("algo", "").endswith("-bf16")
            # fp32 runs under the plain names; bf16 runs (bench-vs-torch.sh now has both) apart: precision-table.py shows them
            cells[config].setdefault(kv["impl"] + ("-bf16" if bf16 else ""), []).append(kv)
    return order, cells


def med(runs, key):
    vals = [float(r[key]) for r in runs if key in r and r[key] != "NaN"]
    return statistics.median(vals) if vals else float("nan")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    order, cells = parse(sys.argv[1])
    print("| configuration | GFLOP/step | C# ms (runs) | PyTorch ms (runs) | C# / PyTorch | C# % of its peak | PyTorch % of its peak | C# RSS MB | PyTorch RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    ms = {}
    for c in order:
        cs, py = cells[c].get("metamae-cs", []), cells[c].get("pytorch", [])
        a, b = med(cs, "ms_median"), med(py, "ms_median")
        ms[c] = (a, b, med(cs, "gflop_step"))
        runs_a = ", ".join(r["ms_median"] for r in cs)
        runs_b = ", ".join(r["ms_median"] for r in py)
        print(f"| `{c}` | {med(cs, 'gflop_step'):.2f} | {a:.0f} ({runs_a}) | {b:.0f} ({runs_b}) | **{a / b:.2f}** | "
              f"{med(cs, 'pct_peak'):.1f} | {med(py, 'pct_peak'):.1f} | {med(cs, 'peak_rss_mb'):.0f} | {med(py, 'rss_mb'):.0f} |")
    print()
    print("| pair | FLOP ratio | C# time ratio | PyTorch time ratio |")
    print("|---|---|---|---|")
    for mae, meta in [("--algo mae --batch 64", "--algo metamae --batch 64"),
                      ("--algo mae --batch 64", "--algo metamae-fo --batch 64"),
                      ("--algo mae --batch 256", "--algo metamae --batch 256"),
                      ("--algo mae --tokens --batch 128", "--algo metamae --tokens --batch 128")]:
        if mae in ms and meta in ms:
            (a0, b0, f0), (a1, b1, f1) = ms[mae], ms[meta]
            print(f"| `{meta}` / `{mae}` | {f1 / f0:.2f} | {a1 / a0:.2f} | {b1 / b0:.2f} |")
    print()
    print("| configuration | features/s (C#, batch 256) | feature GFLOP/s | matmul peak GFLOP/s (C#) |")
    print("|---|---|---|---|")
    for c in order:
        cs = cells[c].get("metamae-cs", [])
        print(f"| `{c}` | {med(cs, 'features_per_s'):.0f} | {med(cs, 'feature_gflops'):.0f} | {med(cs, 'mm_peak_gflops'):.0f} |")


if __name__ == "__main__":
    main()
