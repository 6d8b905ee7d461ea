#!/usr/bin/env python3
"""Summarises scripts/precision-accuracy.sh: usage precision-accuracy.py OUT DATASET STEPS "SEEDS".

Loss curves: each run's per-step loss (metrics.csv), smoothed by a 50-step trailing mean; the gap is
|bf16 - fp32| / fp32 of the smoothed curves at every step from 50 on, per seed (same seed = same data order and
masks, so the curves differ by precision alone). Probe: the converged probe's test accuracy per run, the paired
difference bf16 - fp32 over seeds with a Student-t 95% interval, beside the spread between seeds in fp32.
Writes OUT/README.md."""
import csv, json, os, statistics, subprocess, sys, datetime, platform

from pairstats import t975

out, dataset, steps, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split()


def losses(run):
    with open(os.path.join(run, "metrics.csv")) as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


def smooth(xs, w=50):
    return [statistics.fmean(xs[max(0, i - w + 1):i + 1]) for i in range(len(xs))]


def run_dir(p, s):
    return os.path.join(out, "runs", f"{dataset}-{p}-s{s}")


rows, gaps, acc = [], [], {"fp32": [], "bf16": []}
for s in seeds:
    a, b = smooth(losses(run_dir("fp32", s))), smooth(losses(run_dir("bf16", s)))
    g = [abs(y - x) / x for x, y in zip(a[49:], b[49:])]
    gaps.append(max(g))
    pa = {p: json.load(open(os.path.join(run_dir(p, s), "probe.json"))) for p in ("fp32", "bf16")}
    for p in acc: acc[p].append(pa[p]["test"])
    sec = {p: json.load(open(os.path.join(run_dir(p, s), "pretrain.json"))).get("seconds") for p in ("fp32", "bf16")}
    rows.append((s, a[-1], b[-1], max(g), statistics.fmean(g), pa["fp32"]["test"], pa["bf16"]["test"], sec))

d = [y - x for x, y in zip(acc["fp32"], acc["bf16"])]
n = len(d)
mean = statistics.fmean(d)
half = t975(n - 1) * statistics.stdev(d) / n ** 0.5 if n > 1 else float("nan")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
lines = [
    f"# bf16 against fp32: loss curve and probe accuracy ({dataset}, MetaMAE, tiny preset, {steps} steps)",
    "",
    f"Made by `scripts/precision-accuracy.sh` (seeds {' '.join(seeds)}), {datetime.date.today()}, commit {commit}, "
    f"{os.cpu_count()}-core {platform.machine()} VM (AVX512_BF16). Per-step losses: runs/*/metrics.csv.",
    "",
    "| seed | final loss fp32 | final loss bf16 | max gap | mean gap | probe fp32 | probe bf16 | pretrain s fp32 / bf16 |",
    "|---|---|---|---|---|---|---|---|",
]
for s, lf, lb, gmax, gmean, af, ab, sec in rows:
    lines.append(f"| {s} | {lf:.4f} | {lb:.4f} | {gmax:.2%} | {gmean:.2%} | {af:.4f} | {ab:.4f} | "
                 f"{sec['fp32']} / {sec['bf16']} |")
sd = statistics.stdev(acc["fp32"]) if n > 1 else float("nan")
lines += [
    "",
    "Gap: |bf16 - fp32| / fp32 of the 50-step trailing mean of the loss, over steps 50 to the end.",
    "",
    f"Probe accuracy, bf16 - fp32 paired over {n} seeds: {mean:+.4f}, 95% interval "
    f"[{mean - half:+.4f}, {mean + half:+.4f}]; fp32's spread between seeds (sd) {sd:.4f}.",
    f"Mean fp32 {statistics.fmean(acc['fp32']):.4f}, mean bf16 {statistics.fmean(acc['bf16']):.4f}. "
    "The pretraining seconds are not a benchmark (other work may have run beside them).",
]
open(os.path.join(out, "README.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
