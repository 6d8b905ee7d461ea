#!/usr/bin/env python3
"""Seeds needed to detect the paper's MetaMAE - MAE gain (issue 34), from a campaign's measured seed-to-seed spread.

For each dataset: the paired differences MetaMAE - MAE (same seed, same features, same label fraction) of every
MetaMAE row against the MAE row with the same probe settings, at all labels; their pooled standard deviation
(each row pair's deviations from its own mean, df = sum of (n - 1)); then the smallest number of seeds n at which a
two-sided paired t-test at 95% has >= 80% power for the paper's predicted gain (noncentral t, df n - 1). The
test-sampling part of that spread is sqrt(p (1 - p) x 2 x disagreement / n_test) at most; a larger test split cannot
shrink the part that comes from pretraining itself.

Usage: scripts/power.py CAMPAIGN_DIR... [--out FILE.md]   (reads each DIR/cells/ROW/DATASET/sSEED/result.json)
Needs scipy (Debian's python3-scipy, a dependency of python3-sklearn): run with /usr/bin/python3.
"""
import argparse, math, os, sys, datetime, platform, warnings
from collections import defaultdict
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cells import load

# paper Table 4, row 4 - row 2 (MetaMAE - MAE with the same Transformer decoder), in accuracy points / 100,
# for the paper dataset each shipped set stands in for
PREDICTED = {"speech-digits": ("LibriSpeech", 0.157), "dna-splice": ("Genomics", 0.042),
             "pamap2-like": ("PAMAP2", 0.028), "satellite": ("EuroSAT", 0.011), "protein-families": ("Pfam", 0.010),
             "spambase": ("HIGGS", 0.010)}
TEST_ROWS = {"speech-digits": 120, "dna-splice": 1186, "pamap2-like": 240}


def power(n, delta, sd, alpha=0.05):
    df = n - 1
    t = stats.t.ppf(1 - alpha / 2, df)
    nc = delta / sd * math.sqrt(n)
    return (1 - stats.nct.cdf(t, df, nc)) + stats.nct.cdf(-t, df, nc)


def detectable(n, sd):
    """The smallest gain a paired t-test at 95% detects with 80% power at n seeds (bisection)."""
    lo, hi = 0.0, 10 * sd + 1
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if power(n, mid, sd) >= 0.8 else (mid, hi)
    return hi


def seeds_needed(delta, sd, cap=200):
    for n in range(2, cap + 1):
        if power(n, delta, sd) >= 0.8:
            return n
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("campaign", nargs="+")
    ap.add_argument("--out")
    ap.add_argument("--seeds", type=int, default=3, help="planned seeds: the smallest gain detectable with them")
    a = ap.parse_args()
    cells = defaultdict(dict)          # (dataset, row) -> seed -> test
    kind = {}                          # row -> (arm, features, label fraction), from the cells' result.json
    for c in load(a.campaign):
        cells[(c.dataset, c.row)][c.seed] = c.result["test"]
        kind[c.row] = (c.arm, c.features, c.fraction)
    out = []
    w = out.append
    w(f"Made by `/usr/bin/python3 scripts/power.py {' '.join(a.campaign)}"
      + (f" --out {a.out}" if a.out else "") + (f" --seeds {a.seeds}" if a.seeds != 3 else "") + f"` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
      f"({platform.node()}, {os.cpu_count()} cores) from the campaign's cells (result.json).")
    w("")
    w("Paired differences MetaMAE - MAE at all labels (each MetaMAE row against the MAE row with the same "
      "features), pooled standard deviation over the row pairs; seeds for 80% power, two-sided paired t at 95%, "
      "for the paper's predicted gain (Table 4, row 4 - row 2) and for half of it.")
    w("")
    w("| dataset (paper's) | row pairs x seeds | mean MetaMAE - MAE | pooled sd of a paired difference (df) | "
      f"predicted gain | seeds for 80% power | seeds for half the gain | gain detectable at {a.seeds} seeds | test rows |")
    w("|---|---|---|---|---|---|---|---|---|")
    datasets = sorted({d for d, _ in cells})
    for d in datasets:
        if d not in PREDICTED:
            continue
        rows = {r for dd, r in cells if dd == d}
        maes = sorted(r for r in rows if kind[r][0] == "mae" and kind[r][2] == 1.0)
        ss, df, diffs, pairs = 0.0, 0, [], 0
        for r in sorted(rows):
            if not kind[r][0].startswith("metamae") or kind[r][2] != 1.0:
                continue
            mae = next((m for m in maes if kind[m][1] == kind[r][1]), None)       # the same features
            if mae is None:
                continue
            seeds = sorted(set(cells[(d, r)]) & set(cells[(d, mae)]))
            if len(seeds) < 2:
                continue
            x = [cells[(d, r)][s] - cells[(d, mae)][s] for s in seeds]
            m = sum(x) / len(x)
            ss += sum((v - m) ** 2 for v in x)
            df += len(x) - 1
            diffs += x
            pairs += 1
        if df == 0:
            continue
        sd = math.sqrt(ss / df)
        name, delta = PREDICTED[d]
        n1, n2 = seeds_needed(delta, sd), seeds_needed(delta / 2, sd)
        f = lambda n: str(n) if n else "> 200"
        w(f"| {d} ({name}) | {pairs} x {len(diffs) // max(pairs, 1)} | {sum(diffs) / len(diffs):+.4f} | "
          f"{sd:.4f} ({df}) | {delta:+.3f} | {f(n1)} | {f(n2)} | {detectable(a.seeds, sd):+.3f} | "
          f"{TEST_ROWS.get(d, '')} |")
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if a.out:
        open(a.out, "w").write(text)


if __name__ == "__main__":
    warnings.simplefilter("ignore", RuntimeWarning)        # scipy's nct at huge noncentrality: power is 1 there
    main()
