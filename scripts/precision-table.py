#!/usr/bin/env python3
"""Turns the raw lines of scripts/bench-precision.sh (or bench-vs-torch.sh) into markdown tables.

usage: scripts/precision-table.py RAW.txt > results/performance-bf16.md

Cells are (implementation, precision): ours (impl=metamae-cs, precision=fp32|bf16) and the reference
(impl=pytorch, precision= set by the script, or algo=NAME-bf16 as metamae_step.py prints it). Per
configuration (the '## CONFIG round R' headers) a cell's figure is the median over rounds of its runs'
ms_median (each already a median over its timed steps); the spread is the min-max of those runs.
The '## concurrency policy=P solo|pair' sections give the slowdown of two concurrent runs against one alone.
"""
import re
import statistics
import sys


def precision_of(kv):
    if "precision" in kv:
        return kv["precision"]
    return "bf16" if kv.get("algo", "").endswith("-bf16") else "fp32"


def parse(path):
    header, cells, order, conc = [], {}, [], {}
    section = None
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line.startswith("# "):
            header.append(line[2:])
            continue
        m = re.match(r"## concurrency policy=(\S+) (solo|pair)$", line)
        if m:
            section = ("conc", m.group(1), m.group(2))
            continue
        m = re.match(r"## (.*) round \d+$", line)
        if m:
            section = ("cfg", m.group(1))
            if section[1] not in cells:
                cells[section[1]] = {}
                order.append(section[1])
            continue
        if not line.startswith("RESULT") or section is None:
            continue
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        if section[0] == "conc":
            conc.setdefault(section[1], {}).setdefault(section[2], []).append(kv)
        else:
            key = (kv.get("impl", "?"), precision_of(kv))
            cells[section[1]].setdefault(key, []).append(kv)
    return header, order, cells, conc


def num(kv, key):
    try:
        v = float(kv[key])
        return v if v == v else None
    except (KeyError, ValueError):
        return None


def med(runs, key):
    vals = [v for v in (num(r, key) for r in runs) if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec=".0f"):
    return "n/a" if v is None else format(v, spec)


CELLS = [("metamae-cs", "fp32"), ("metamae-cs", "bf16"), ("pytorch", "fp32"), ("pytorch", "bf16")]
NAMES = {("metamae-cs", "fp32"): "ours fp32", ("metamae-cs", "bf16"): "ours bf16",
         ("pytorch", "fp32"): "PyTorch fp32", ("pytorch", "bf16"): "PyTorch bf16"}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    header, order, cells, conc = parse(sys.argv[1])
    print("# Mixed precision side by side (issue 14)\n")
    for h in header:
        print(f"- {h}")
    ours = [r for c in order for k, runs in cells[c].items() if k[0] == "metamae-cs" for r in runs]
    print(f"- matmul peak (n^3 of --peak-size, 2048 unless set; ours, median of runs): fp32 {fmt(med(ours, 'mm_peak_gflops'))} GFLOP/s, "
          f"bf16 {fmt(med(ours, 'mm_peak_bf16_gflops'))} GFLOP/s\n")
    print("Step time, ms: median over rounds (min-max of the runs). Ratio: ours at its better precision / PyTorch bf16 "
          "(target <= 0.8). % of peak: of the peak of the run's own precision.\n")
    print("| configuration | GFLOP/step | " + " | ".join(NAMES[c] for c in CELLS) +
          " | best ours / PyTorch bf16 | ours bf16 % peak | peak RSS MB (ours fp32 / bf16 / PyTorch fp32 / bf16) |")
    print("|---|---|" + "---|" * len(CELLS) + "---|---|---|")
    for c in order:
        row, ms = [], {}
        for cell in CELLS:
            runs = cells[c].get(cell, [])
            m = med(runs, "ms_median")
            ms[cell] = m
            vals = [num(r, "ms_median") for r in runs if num(r, "ms_median") is not None]
            row.append(f"{fmt(m)} ({fmt(min(vals)) if vals else 'n/a'}-{fmt(max(vals)) if vals else 'n/a'})")
        best = min((v for v in (ms[CELLS[0]], ms[CELLS[1]]) if v is not None), default=None)
        ratio = best / ms[CELLS[3]] if best is not None and ms[CELLS[3]] else None
        gflop = med(cells[c].get(CELLS[0], []) + cells[c].get(CELLS[1], []), "gflop_step")   # ours: the reference's FLOP model
        rss = [med(cells[c].get(cell, []), "peak_rss_mb") if cell[0] == "metamae-cs" else med(cells[c].get(cell, []), "rss_mb")
               for cell in CELLS]
        print(f"| `{c}` | {fmt(gflop, '.2f')} | " + " | ".join(row) + f" | **{fmt(ratio, '.2f')}** | "
              f"{fmt(med(cells[c].get(CELLS[1], []), 'pct_peak'), '.1f')} | {' / '.join(fmt(v) for v in rss)} |")
    pairs = [("--algo mae --batch 64", "--algo metamae --batch 64"), ("--algo mae --batch 256", "--algo metamae --batch 256"),
             ("--algo mae --tokens --batch 128", "--algo metamae --tokens --batch 128")]
    print("\n| pair | FLOP ratio | ours fp32 time ratio | ours bf16 time ratio | PyTorch bf16 time ratio |")
    print("|---|---|---|---|---|")
    for mae, meta in pairs:
        if mae not in cells or meta not in cells:
            continue
        f0 = med(cells[mae].get(CELLS[0], []) + cells[mae].get(CELLS[1], []), "gflop_step")
        f1 = med(cells[meta].get(CELLS[0], []) + cells[meta].get(CELLS[1], []), "gflop_step")

        def ratio(cell):
            a, b = med(cells[meta].get(cell, []), "ms_median"), med(cells[mae].get(cell, []), "ms_median")
            return a / b if a is not None and b else None
        print(f"| `{meta}` / `{mae}` | {fmt(f1 / f0 if f0 else None, '.2f')} | {fmt(ratio(CELLS[0]), '.2f')} | "
              f"{fmt(ratio(CELLS[1]), '.2f')} | {fmt(ratio(CELLS[3]), '.2f')} |")
    if conc:
        print("\nTwo concurrent runs (MetaMAE B=64, 2 threads each) against one alone; target: each <= 2.3x its solo time.\n")
        print("| OpenMP wait policy | solo ms | concurrent ms (each run) | concurrent / solo (worst) |")
        print("|---|---|---|---|")
        for policy, parts in conc.items():
            solo = med(parts.get("solo", []), "ms_median")
            each = [num(r, "ms_median") for r in parts.get("pair", [])]
            worst = max((v for v in each if v is not None), default=None)
            print(f"| {policy} | {fmt(solo)} | {', '.join(fmt(v) for v in each)} | "
                  f"**{fmt(worst / solo if worst is not None and solo else None, '.2f')}** |")


if __name__ == "__main__":
    main()
