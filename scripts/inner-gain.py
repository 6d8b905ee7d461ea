#!/usr/bin/env python3
"""When a MetaMAE run's latent adaptation starts to pay, beside what its encoder scored (the first command's seed 4).

For each run folder of `metamae run` (RUN/pretrain/metrics.csv, RUN/result.json): the mean inner gain (how much the
inner step lowers the support reconstruction loss) and latent change over windows of steps, and the pretrained
encoder's test figure at each label fraction. Steps without the measurement (its logging cadence) are skipped.
  /usr/bin/python3 scripts/inner-gain.py results/first-command/s0 results/first-command/s4 [...]
  WINDOWS=1-100,201-1000 /usr/bin/python3 scripts/inner-gain.py RUN ...   (1-based steps, both ends included)
"""
import csv
import json
import os
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


def mean(rows, key, a, b):
    vals = [float(r[key]) for r in rows if a <= int(r["step"]) <= b and r.get(key) not in ("", None)]
    return sum(vals) / len(vals) if vals else float("nan")


def main(runs):
    if not runs:
        sys.exit(__doc__)
    ws = windows()
    head = ["run"] + [f"inner gain {a}-{b}" for a, b in ws] + [f"latent change {a}-{b}" for a, b in ws] + ["test"]
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
        print(f"| {run} | " + " | ".join(cells) + f" | {', '.join(tests)} |")


if __name__ == "__main__":
    main(sys.argv[1:])
