#!/usr/bin/env bash
# Does bf16 pay at the tiny preset (the size CPU users run)? Our MetaMAE step, fp32 against bf16, alternated over
# ROUNDS rounds, on the tiny preset at batch 32: continuous tokens (L=64, P=260) and DNA-like tokens (L=60) in
# `metamae bench` (synthetic data, mask ratio 0.85), and a real `metamae pretrain --dataset dna-splice` of PSTEPS
# steps (its Table 8 settings: mask ratio 0.5, logging, data sampling) timed by the run itself.
# Run it on an otherwise idle machine.   scripts/precision-tiny.sh   -> results/precision-tiny.md (+ .txt)
# Env: THREADS (2), STEPS (20), WARMUP (5), ROUNDS (3), PSTEPS (300).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads="${THREADS:-2}" steps="${STEPS:-20}" warmup="${WARMUP:-5}" rounds="${ROUNDS:-3}" psteps="${PSTEPS:-300}"
out="$here/results/precision-tiny.md"; raw="${out%.md}.txt"
cd "$here"; ./metamae datasets >/dev/null; : > "$raw"
for r in $(seq 1 "$rounds"); do
  for cfg in "" "--tokens --L 60"; do
    order="fp32 bf16"; (( r % 2 == 0 )) && order="bf16 fp32"
    for p in $order; do
      line=$(./metamae bench --algo metamae --preset tiny --batch 32 $cfg --precision "$p" --threads "$threads" \
        --steps "$steps" --warmup "$warmup" --feature-batch 0 --peak-size 0 | grep '^RESULT')
      echo "round=$r $line" | tee -a "$raw"
    done
  done
  for p in $order; do
    tmp=$(mktemp -d)
    secs=$(./metamae pretrain --dataset dna-splice --preset tiny --steps "$psteps" --batch 32 --precision "$p" \
      --threads "$threads" --save-every 0 --out "$tmp/run" --json | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
    rm -rf "$tmp"
    echo "round=$r RESULT impl=pretrain precision=$p input=dna-splice L=60 ms_median=$(python3 -c "print($secs * 1000 / $psteps)")" | tee -a "$raw"
  done
done
python3 - "$raw" "$out" "$threads" "$steps" "$warmup" "$rounds" "$psteps" <<'PY'
import re, sys, statistics, datetime, subprocess
raw, out, threads, steps, warmup, rounds, psteps = sys.argv[1:]
cells = {}
for line in open(raw):
    f = dict(re.findall(r'(\w+)=(\S+)', line))
    key = (f['input'], f['L'])
    cells.setdefault(key, {}).setdefault(f['precision'], []).append(float(f['ms_median']))
commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
with open(out, 'w') as o:
    o.write('# bf16 against fp32 at the tiny preset (MetaMAE step, batch 32)\n\n')
    o.write(f'- command: scripts/precision-tiny.sh (THREADS={threads} STEPS={steps} WARMUP={warmup} ROUNDS={rounds}), seed 0\n')
    o.write(f'- date: {datetime.datetime.utcnow():%Y-%m-%dT%H:%MZ}; commit {commit}; 2-core VM (AVX512_BF16); raw lines: precision-tiny.txt\n\n')
    o.write('Per round: the median step time of that run (for `pretrain`: its seconds / steps, data and logging '
            'included); the table gives the median over rounds (min-max of the rounds).\n\n')
    o.write('| input | fp32 ms | bf16 ms | bf16 / fp32 |\n|---|---|---|---|\n')
    for (inp, L), d in cells.items():
        a, b = d.get('fp32', []), d.get('bf16', [])
        ma, mb = statistics.median(a), statistics.median(b)
        label = f'pretrain dna-splice ({psteps} steps)' if inp == 'dna-splice' else f'bench {inp} L={L}'
        o.write(f'| {label} | {ma:.1f} ({min(a):.1f}-{max(a):.1f}) | {mb:.1f} ({min(b):.1f}-{max(b):.1f}) | {mb / ma:.2f} |\n')
print(open(out).read())
PY
