#!/usr/bin/env python3
"""When a MetaMAE run's latent adaptation starts to pay, beside what its encoder scored (the first command's seed 4).

For each run folder of `metamae run` (RUN/pretrain/metrics.csv, RUN/result.json): the mean inner gain (how much the
inner step lowers the support reconstruction loss) and latent change over windows of steps, and the pretrained
encoder's test figure at each label fraction. Steps without the measurement (its logging cadence) are skipped.
"warned at" is the step at which the run's AdaptationWatch fires, by its rule read from
src/MetaMae/Training/AdaptationWatch.cs (Threshold, Window, SkipSteps: the one place they are set).
  /usr/bin/python3 scripts/inner-gain.py results/first-command/s0 results/first-command/s4 [...]
  WINDOWS=1-100,201-1000 /usr/bin/python3 scripts/inner-gain.py RUN ...   (1-based steps, both ends included)
"""
import csv
import json
import os
import re
import sys

DEFAULT_WINDOWS = "1-100,201-1000,1001-2000,3901-4000"


def windows():
    out = []
    for part in os.environ.get("WINDOWS", DEFAULT_WINDOWS).split(","):
        try:
            a, b = (int(v) for v in part.split("-"))
        except ValueError:
            sys.exit(f"WINDOWS: '{part}' is not FIRST-LAST (1-based steps), e.g. 201-1000")
        if not 1 <= a <= b:
            sys.exit(f"WINDOWS: '{part}' needs 1 <= FIRST <= LAST")
        out.append((a, b))
    return out


def watch_rule():
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.join(here, "..", "src", "MetaMae", "Training", "AdaptationWatch.cs")
    with open(src) as f:
        text = f.read()
    rule = {}
    for name in ("Threshold", "Window", "SkipSteps"):
        m = re.search(rf"const (?:double|int) {name} = ([0-9.]+);", text)
        if not m:
            sys.exit(f"{src}: no constant {name} (the watch's rule moved?)")
        rule[name] = float(m.group(1))
    return rule


def warned_at(rows, total, rule):
    """The first step at which the mean of the last Window logged inner gains over reconstruction loss reaches
    Threshold, after SkipSteps and within the first quarter of total steps (AdaptationWatch.Observe)."""
    recent = []
    for r in rows:
        step = int(r["step"])
        if r.get("inner_gain") in ("", None) or step <= rule["SkipSteps"] or step > total // 4:
            continue
        recon = float(r["reconstruction"])
        if not recon > 0:
            continue
        recent = (recent + [float(r["inner_gain"]) / recon])[-int(rule["Window"]):]
        if len(recent) == rule["Window"] and sum(recent) / len(recent) >= rule["Threshold"]:
            return f"{step} ({100 * sum(recent) / len(recent):.1f}%)"
    return "-"


def mean(rows, key, a, b):
    vals = [float(r[key]) for r in rows if a <= int(r["step"]) <= b and r.get(key) not in ("", None)]
    return sum(vals) / len(vals) if vals else float("nan")


def main(runs):
    if not runs:
        sys.exit(__doc__)
    ws = windows()
    rule = watch_rule()
    head = ["run", "warned at"] + [f"inner gain {a}-{b}" for a, b in ws]
    head += [f"latent change {a}-{b}" for a, b in ws] + ["test"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for run in runs:
        metrics, result = os.path.join(run, "pretrain", "metrics.csv"), os.path.join(run, "result.json")
        for f in (metrics, result):
            if not os.path.isfile(f):
                sys.exit(f"{run}: no {os.path.relpath(f, run)} (expected a `metamae run` folder)")
        with open(metrics, newline="") as f:
            rows = list(csv.DictReader(f))
        for key in ("step", "inner_gain", "latent_change"):
            if rows and key not in rows[0]:
                sys.exit(f"{metrics}: no '{key}' column (a MetaMAE run's metrics.csv has one)")
        with open(result) as f:
            res = json.load(f)
        algo = res.get("algo")
        tests = [f"{r['label_fraction']:g}: {r['test']:.4f}" for r in res.get("rows", []) if r.get("encoder") == algo]
        cells = [f"{mean(rows, 'inner_gain', a, b):+.4f}" for a, b in ws]
        cells += [f"{mean(rows, 'latent_change', a, b):.3f}" for a, b in ws]
        total = res.get("steps") or int(rows[-1]["step"])
        print(f"| {run} | {warned_at(rows, total, rule)} | " + " | ".join(cells) + f" | {', '.join(tests)} |")


if __name__ == "__main__":
    main(sys.argv[1:])
