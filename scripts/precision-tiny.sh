#!/usr/bin/env bash
# Does bf16 pay at the sizes CPU users run? Our MetaMAE step, fp32 against bf16, alternated over ROUNDS rounds, on
# PRESET (tiny) at batch 32: continuous tokens (L=64, P=260) and DNA-like tokens (L=60) in `metamae bench`
# (synthetic data, mask ratio 0.85), and a real `metamae pretrain --dataset D` of PSTEPS steps for each D of DATASETS
# (dna-splice; its Table 8 settings: mask ratio, logging, data sampling) timed by the run itself.
# Run it on an otherwise idle machine.   scripts/precision-tiny.sh   -> results/precision-tiny.md (+ .txt)
# Env: THREADS (2), STEPS (20), WARMUP (5), ROUNDS (3), PSTEPS (300), PRESET (tiny), DATASETS (dna-splice),
# OUT (results/precision-PRESET.md). The CPU recipe's model: PRESET=small DATASETS="satellite dna-splice".
# REPORT_ONLY=1 writes OUT again from its raw lines (OUT's .txt) without running anything.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads="${THREADS:-2}" steps="${STEPS:-20}" warmup="${WARMUP:-5}" rounds="${ROUNDS:-3}" psteps="${PSTEPS:-300}"
preset="${PRESET:-tiny}" datasets="${DATASETS:-dna-splice}"
out="${OUT:-$here/results/precision-$preset.md}"; raw="${out%.md}.txt"
cd "$here"
[[ -n ${REPORT_ONLY:-} ]] && rounds=0 || { ./metamae datasets >/dev/null; : > "$raw"; }
for ((r = 1; r <= rounds; r++)); do
  for cfg in "" "--tokens --L 60"; do
    order="fp32 bf16"; (( r % 2 == 0 )) && order="bf16 fp32"
    for p in $order; do
      line=$(./metamae bench --algo metamae --preset "$preset" --batch 32 $cfg --precision "$p" --threads "$threads" \
        --steps "$steps" --warmup "$warmup" --feature-batch 0 --peak-size 0 | grep '^RESULT')
      echo "round=$r $line" | tee -a "$raw"
    done
  done
  for d in $datasets; do
    for p in $order; do
      tmp=$(mktemp -d)
      secs=$(./metamae pretrain --dataset "$d" --preset "$preset" --steps "$psteps" --batch 32 --precision "$p" \
        --threads "$threads" --save-every 0 --out "$tmp/run" --json | tail -1 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
      rm -rf "$tmp"
      echo "round=$r RESULT impl=pretrain precision=$p input=$d L=- ms_median=$(python3 -c "print($secs * 1000 / $psteps)")" |
        tee -a "$raw"
    done
  done
done
python3 - "$raw" "$out" "$threads" "$steps" "$warmup" "$rounds" "$psteps" "$preset" "$datasets" <<'PY'
import re, sys, statistics, datetime, subprocess, os
raw, out, threads, steps, warmup, rounds, psteps, preset, datasets = sys.argv[1:]
cells, rounds_of = {}, {}
for line in open(raw):
    f = dict(re.findall(r'(\w+)=(\S+)', line))
    key = (f['input'], f['L'])
    cells.setdefault(key, {}).setdefault(f['precision'], []).append(float(f['ms_median']))
    rounds_of.setdefault(key, {}).setdefault(f['round'], {})[f['precision']] = float(f['ms_median'])
rounds = str(max(int(r) for d in rounds_of.values() for r in d))
commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
with open(out, 'w') as o:
    bf16 = 'AVX512_BF16' if 'avx512_bf16' in open('/proc/cpuinfo').read() else 'no native bf16'
    o.write(f'# bf16 against fp32 at the {preset} preset (MetaMAE step, batch 32)\n\n')
    o.write(f'- command: PRESET={preset} DATASETS="{datasets}" scripts/precision-tiny.sh (THREADS={threads} '
            f'STEPS={steps} WARMUP={warmup} ROUNDS={rounds} PSTEPS={psteps}), seed 0\n')
    o.write(f'- date: {datetime.datetime.utcnow():%Y-%m-%dT%H:%MZ}; commit {commit}; {os.cpu_count()}-core VM ({bf16}); '
            f'raw lines: {os.path.basename(raw)}\n\n')
    o.write('Per round: the median step time of that run (for `pretrain`: its seconds / steps, data and logging '
            'included); the table gives the median over rounds (min-max of the rounds), and the ratio of the two medians '
            'and, paired within each round (the two runs back to back), the median of the rounds\' ratios.\n\n')
    o.write('| input | fp32 ms | bf16 ms | bf16 / fp32 | bf16 / fp32 by round: median (rounds) |\n|---|---|---|---|---|\n')
    for (inp, L), d in cells.items():
        a, b = d.get('fp32', []), d.get('bf16', [])
        ma, mb = statistics.median(a), statistics.median(b)
        label = f'pretrain {inp} ({psteps} steps)' if L == '-' else f'bench {inp} L={L}'
        paired = [d['bf16'] / d['fp32'] for _, d in sorted(rounds_of[(inp, L)].items()) if len(d) == 2]
        o.write(f'| {label} | {ma:.1f} ({min(a):.1f}-{max(a):.1f}) | {mb:.1f} ({min(b):.1f}-{max(b):.1f}) | {mb / ma:.2f} | '
                f'{statistics.median(paired):.2f} ({", ".join(f"{x:.2f}" for x in paired)}) |\n')
print(open(out).read())
PY
