#!/usr/bin/env bash
# Peak memory of `metamae embed` against the number of samples (issue 16 item 5): a synthetic tabular CSV of N rows
# (32 numeric columns, a label; seed 0) embedded through a tiny encoder pretrained 20 steps on it, token features
# to .npy. Peak RSS from /usr/bin/time, of embed and of the pretraining that loads the same CSV: the features stream
# to the file batch by batch, so embed's peak should follow the loaded table (read whole), not the features written.
#   scripts/rss-embed.sh   -> results/rss-embed.txt      Env: SIZES ("5000 50000"), THREADS (2)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"; ./metamae datasets >/dev/null
out=results/rss-embed.txt; work=$(mktemp -d)
{ echo "# scripts/rss-embed.sh: metamae embed --features tokens --out F.npy on a synthetic tabular CSV of N rows (32 columns), tiny encoder"
  echo "# $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD), $(nproc) cores"; } > "$out"
for n in ${SIZES:-5000 50000}; do
  python3 - "$work/t$n.csv" "$n" <<'PY'
import random, sys
path, n = sys.argv[1], int(sys.argv[2]); rng = random.Random(0)
with open(path, 'w') as f:
    f.write(','.join(f'x{j}' for j in range(32)) + ',label\n')
    for i in range(n):
        xs = [rng.gauss(0, 1) for _ in range(32)]
        f.write(','.join(f'{x:.4f}' for x in xs) + f',{int(xs[0] + xs[1] > 0)}\n')
PY
  /usr/bin/time -v ./metamae pretrain --data "$work/t$n.csv" --modality tabular --preset tiny --steps 20 \
    --threads "${THREADS:-2}" --out "$work/run$n" >/dev/null 2> "$work/ptime$n.txt"
  ppeak=$(grep "Maximum resident" "$work/ptime$n.txt" | awk '{print $NF}')
  /usr/bin/time -v ./metamae embed --checkpoint "$work/run$n/checkpoint.safetensors" --data "$work/t$n.csv" \
    --modality tabular --features tokens --threads "${THREADS:-2}" --out "$work/f$n.npy" 2> "$work/time$n.txt" >/dev/null
  peak=$(grep "Maximum resident" "$work/time$n.txt" | awk '{print $NF}')
  echo "N=$n: csv $(( $(stat -c %s "$work/t$n.csv") / 1048576 )) MB, features $(( $(stat -c %s "$work/f$n.npy") / 1048576 )) MB written, peak RSS $(( peak / 1024 )) MB (the 20-step pretraining on the same CSV: $(( ppeak / 1024 )) MB)" | tee -a "$out"
done
rm -rf "$work"
