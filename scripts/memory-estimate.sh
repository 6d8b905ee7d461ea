#!/usr/bin/env bash
# Issue 33, item 3: the memory estimate a pretraining prints before its first step ("memory: ~X GB at peak", measured by
# Training/MemoryEstimate.cs) against the peak resident memory the run then reaches (/usr/bin/time's maximum RSS), on
# configurations that span the shipped datasets' presets, long token sequences, a 784-column table, paper / small / tiny
# models, both algorithms and both precisions. Each run: 3 steps, 2 threads, seed 0.
#   scripts/memory-estimate.sh [OUT.md]        (default results/memory-estimate.md; raw lines beside it as .txt)
# The 784-column table is generated (784 columns of 0-255 pixels, 7,000 rows, 10 labels; the shape of a pixel CSV of
# Fashion-MNIST) by the script itself into a temporary folder.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/results/memory-estimate.md}"
raw="${out%.md}.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp/pixels.csv" <<'PY'
import sys, random
random.seed(0)
with open(sys.argv[1], 'w') as f:
    f.write(','.join(f'pixel{i}' for i in range(784)) + ',label,split\n')
    for i in range(7000):
        f.write(','.join(str(random.randrange(256)) for _ in range(784)) + f',{random.randrange(10)},{"test" if i % 7 == 0 else "train"}\n')
PY
"$here/metamae" --help >/dev/null
configs=(
  "--dataset dna-splice --preset tiny"
  "--dataset dna-splice --preset paper --algo mae"
  "--dataset spambase --preset small"
  "--dataset satellite --preset paper"
  "--dataset protein-families --preset tiny"
  "--dataset protein-families --preset small --precision bf16"
  "--dataset speech-digits --preset small --algo mae"
  "--data $tmp/pixels.csv --modality tabular --preset tiny --batch 32"
  "--data $tmp/pixels.csv --modality tabular --preset tiny --batch 64 --algo mae"
)
{
  echo "# command: scripts/memory-estimate.sh $*"
  echo "# date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "# machine: $(uname -n) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) nproc=$(nproc) $(free -g | awk '/Mem:/ {print $2 " GiB"}')"
  echo "# commit: $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet || echo ' (uncommitted changes)')"
  for c in "${configs[@]}"; do
    rm -rf "$tmp/run"
    # shellcheck disable=SC2086
    log=$( { /usr/bin/time -f "TIME maxrss_kb=%M" "$here/metamae" pretrain $c --steps 3 --seed 0 --threads 2 --log-every 1 \
             --out "$tmp/run" 2>&1; } || true)
    est=$(grep -o 'memory: ~[0-9.]* [GM]B at peak[^,]*' <<<"$log" | head -1 || true)
    rss=$(grep -o 'maxrss_kb=[0-9]*' <<<"$log" | tail -1 | cut -d= -f2 || true)
    echo "CONFIG ${c//$tmp\//} | $est | measured_peak_mb=$(( ${rss:-0} / 1024 ))"
  done
} | tee "$raw"
/usr/bin/python3 - "$raw" > "$out" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
print('# Memory estimate before step 1 against the measured peak (issue 33)\n')
print('Made by `scripts/memory-estimate.sh`; raw lines in memory-estimate.txt.\n')
for l in lines:
    if l.startswith('#'): print('- ' + l[2:])
print('\n| configuration (3 steps, seed 0, 2 threads) | estimate | measured peak RSS | estimate / measured |')
print('|---|---|---|---|')
ratios = []
for l in lines:
    if not l.startswith('CONFIG'): continue
    cfg, est, meas = [p.strip() for p in l[7:].split('|')]
    m = re.search(r'~([0-9.]+) ([GM])B', est)
    mb = int(re.search(r'=(\d+)', meas).group(1))
    if m:
        e = float(m.group(1)) * (1000 if m.group(2) == 'G' else 1) * 1e6 / 2**20
        ratios.append(e / mb)
        print(f'| `{cfg}` | {est[8:]} | {mb / 1024 * 1.073741824:.2f} GB | {e / mb:.2f} |')
    else:
        print(f'| `{cfg}` | (none printed) | {mb / 1024 * 1.073741824:.2f} GB | - |')
if ratios:
    within = sum(0.75 <= r <= 1.25 for r in ratios)
    print(f'\n{within} of {len(ratios)} estimates within +-25% of the measured peak; ratios {min(ratios):.2f} to {max(ratios):.2f}.')
PY
echo "wrote $out" >&2
