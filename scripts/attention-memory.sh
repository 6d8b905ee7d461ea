#!/usr/bin/env bash
# Decoder attention memory against sequence length (issue 14 item 3): step time and peak resident memory of a
# MetaMAE training step on token sequences, with the decoder's attention whole (METAMAE_ATTENTION_MAP_MB=0) and
# chunked (ChunkedAttention: maps over the budget are computed in chunks of query rows and recomputed for the
# derivatives). One process per cell (peak RSS is per process); run it on an otherwise idle machine.
#
#   scripts/attention-memory.sh          # writes results/attention-memory.md (+ .txt, the raw RESULT lines)
#
# Env: THREADS (2), STEPS (3), WARMUP (1), OUT (results/attention-memory.md), QUICK=1 (tiny preset only).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads="${THREADS:-2}" steps="${STEPS:-3}" warmup="${WARMUP:-1}"
out="${OUT:-$here/results/attention-memory.md}"
raw="${out%.md}.txt"
cd "$here"
./metamae datasets >/dev/null                 # build once, outside the timed runs
: > "$raw"
start=$(date +%s)
cell() {   # preset L batch budget_mb (empty: the default)
  local preset=$1 L=$2 B=$3 mb=$4 line
  line=$( (if [[ -n "$mb" ]]; then export METAMAE_ATTENTION_MAP_MB=$mb; fi
           ./metamae bench --algo metamae --preset "$preset" --tokens --L "$L" --batch "$B" --steps "$steps" \
             --warmup "$warmup" --threads "$threads" --feature-batch 0 --peak-size 0) | grep '^RESULT' || true)
  echo "preset=$preset L=$L B=$B map_budget_mb=${mb:-default} $line" | tee -a "$raw"
}
for L in 128 256 512 1024; do
  cell tiny "$L" 32 0
  cell tiny "$L" 32 8
done
cell tiny 256 128 0
cell tiny 256 128 16
if [[ "${QUICK:-0}" != 1 ]]; then
  cell paper 512 32 0
  cell paper 512 32 32
fi
took=$(( $(date +%s) - start ))
python3 - "$raw" "$out" "$took" "$threads" "$steps" "$warmup" <<'PY'
import re, sys, datetime, platform, subprocess
raw, out, took, threads, steps, warmup = sys.argv[1:]
rows = []
for line in open(raw):
    f = dict(re.findall(r'(\w+)=(\S+)', line))
    rows.append(f)
commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], capture_output=True, text=True).stdout.strip()
with open(out, 'w') as o:
    o.write('# Decoder attention: step time and peak memory against sequence length (issue 14 item 3)\n\n')
    o.write(f'- command: scripts/attention-memory.sh (THREADS={threads} STEPS={steps} WARMUP={warmup})\n')
    o.write(f'- date: {datetime.datetime.utcnow():%Y-%m-%dT%H:%MZ}; took {took} s\n')
    o.write(f'- machine: {platform.machine()} nproc={subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()}\n')
    o.write(f'- commit: {commit}{" (uncommitted changes)" if dirty else ""}; raw lines: {raw.split("/")[-1]}\n\n')
    o.write('MetaMAE training step (second order, seed 0, synthetic tokens, vocabulary 26), `metamae bench --tokens`. '
            'Budget: METAMAE_ATTENTION_MAP_MB (0 = the whole (B, H, N, N) map, as before; default 256; a map over the '
            'budget is computed in chunks of query rows). ms: median of the timed steps (min-max); peak RSS: VmHWM of '
            'the process.\n\n')
    o.write('| preset | L | B | map budget MB | decoder map MB (whole) | ms median (min-max) | peak RSS MB |\n')
    o.write('|---|---|---|---|---|---|---|\n')
    heads = {'tiny': 2, 'paper': 4}                 # decoder heads of the presets (ModelConfig)
    for f in rows:
        n = int(f['L']) + 1; mapmb = int(f['B']) * heads.get(f['preset'], 0) * n * n * 4 / 2**20
        if 'ms_median' not in f:
            o.write(f"| {f['preset']} | {f['L']} | {f['B']} | {f['map_budget_mb']} | {mapmb:.0f} | failed | |\n"); continue
        o.write(f"| {f['preset']} | {f['L']} | {f['B']} | {f['map_budget_mb']} | {mapmb:.0f} | "
                f"{float(f['ms_median']):.0f} ({float(f['ms_min']):.0f}-{float(f['ms_max']):.0f}) | "
                f"{float(f['peak_rss_mb']):.0f} |\n")
print(open(out).read())
PY
