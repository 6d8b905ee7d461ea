"""Bench-suite cells as the scripts read them (issue 30): each cell's result.json, with the settings it carries
(row label, algorithm, inner-loss scaling, features, label fraction, seed), never parsed from folder names.

    from cells import load
    for c in load(["results/campaign-recipe"], dataset="speech-digits"): c.row, c.arm, c.features, c.fraction, c.seed

A cell without "settings" was written before results carried them: `metamae bench-suite PLAN --out DIR --render`
adds them from the plan (and says where the plan no longer builds the cell's configuration)."""
import glob, json, os, sys
from typing import NamedTuple


class Cell(NamedTuple):
    row: str            # the plan's label, e.g. "MetaMAE (paper scaling), 10% labels"
    dataset: str        # the column (the probed dataset)
    seed: int
    arm: str            # mae, metamae_paper, metamae_reference, random_init, raw_input, ... (algorithm + scaling)
    features: str       # mean, cls, tokens
    fraction: float     # the label fraction the probe saw
    result: dict        # the whole result.json
    dir: str


def arm_of(r):
    """The algorithm, with MetaMAE's inner-loss scaling: the run's configuration says which."""
    algo = r["algo"].replace("-", "_")
    if algo == "metamae":
        return f"metamae_{r['config']['objective'].get('inner_loss', 'reference')}"
    return algo


def load(roots, dataset="*"):
    """Every finished cell under ROOT/cells/*/DATASET/s*/ of each root; a (row, dataset, seed) in two roots is an error."""
    out, seen = [], {}
    for root in roots:
        for path in sorted(glob.glob(os.path.join(root, "cells", "*", dataset, "s*", "result.json"))):
            r = json.load(open(path))
            if "settings" not in r:
                sys.exit(f"{path}: no settings (written before results carried them); run `metamae bench-suite PLAN "
                         f"--out {root} --render` with the plan that made it to add them")
            key = (r["row"], r["column"], int(r["seed"]))
            if key in seen:
                sys.exit(f"seed {key[2]} of '{key[0]}' on {key[1]} appears twice: {seen[key]} and {path}")
            seen[key] = path
            out.append(Cell(r["row"], r["column"], int(r["seed"]), arm_of(r), r["features"], float(r["label_fraction"]),
                            r, os.path.dirname(path)))
    return out


def by_seed(cells, **match):
    """seed -> result.json of the cells whose fields equal match (e.g. arm="mae", features="mean", fraction=0.1)."""
    return {c.seed: c.result for c in cells if all(getattr(c, k) == v for k, v in match.items())}


def metrics_paths(root):
    """Every pretraining's metrics.csv (or metrics.csv.gz, as finished campaigns keep it) under ROOT/cells, each once."""
    paths = glob.glob(os.path.join(root, "cells", "*", "*", "s*", "pretrain", "metrics.csv"))
    paths += [p for p in glob.glob(os.path.join(root, "cells", "*", "*", "s*", "pretrain", "metrics.csv.gz"))
              if p[:-3] not in paths]
    return sorted(paths)


def read_metrics(path):
    """The rows of a metrics.csv or metrics.csv.gz as dicts."""
    import csv, gzip
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        return list(csv.DictReader(f))


def identity(cell_dir):
    """(row label, dataset, seed) of a cell, finished or still running: its result.json, else the first line of its
    log.txt (`cell: row 'LABEL', column 'DATASET', seed N; ...`, written before anything runs)."""
    import re
    result = os.path.join(cell_dir, "result.json")
    if os.path.exists(result):
        r = json.load(open(result))
        return r["row"], r["column"], int(r["seed"])
    with open(os.path.join(cell_dir, "log.txt")) as f:
        m = re.match(r"cell: row '(.*)', column '(.*)', seed (\d+);", f.readline())
    if not m:
        sys.exit(f"{cell_dir}: neither result.json nor a log.txt that names the cell")
    return m.group(1), m.group(2), int(m.group(3))
