#!/usr/bin/env python3
"""How collapsed an encoder's features are, and whether our probe's figure is the features' (issue 29's seed-4 look).

For each CSV written by `metamae embed` (columns id, split, label, f0..fN-1): the effective rank of the centred
features (exp of the entropy of the singular values' energy shares), the top three shares, and scikit-learn's
LogisticRegression (C = 10, standardised on the training split) test accuracy, an independent check of the probe.
  metamae embed --checkpoint RUN/pretrain/checkpoint.safetensors --dataset dna-splice --out /tmp/f.csv
  /usr/bin/python3 scripts/feature-rank.py /tmp/f.csv [more.csv ...]
"""
import csv
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def main(paths):
    if not paths:
        sys.exit("usage: feature-rank.py EMBED.csv [...]")
    for path in paths:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        head = rows[0]
        for col in ("split", "label"):
            if col not in head:
                sys.exit(f"{path}: no '{col}' column (expected a CSV from `metamae embed`)")
        fi = [i for i, c in enumerate(head) if c.startswith("f") and c[1:].isdigit()]
        if not fi:
            sys.exit(f"{path}: no feature columns f0, f1, ... (expected a CSV from `metamae embed`)")
        x = np.array([[float(r[i]) for i in fi] for r in rows[1:]])
        split = np.array([r[head.index("split")] for r in rows[1:]])
        y = np.array([r[head.index("label")] for r in rows[1:]])
        sv = np.linalg.svd(x - x.mean(0), compute_uv=False)
        share = sv ** 2 / np.sum(sv ** 2)
        rank = float(np.exp(-(share * np.log(share + 1e-12)).sum()))
        tr, te = split == "train", split == "test"
        sc = StandardScaler().fit(x[tr])
        clf = LogisticRegression(max_iter=5000, C=10).fit(sc.transform(x[tr]), y[tr])
        acc = clf.score(sc.transform(x[te]), y[te])
        print(f"{path}: {len(fi)} features, effective rank {rank:.1f}, top 3 variance shares "
              f"{', '.join(f'{s:.3f}' for s in share[:3])}, scikit-learn test accuracy {acc:.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
