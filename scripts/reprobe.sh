#!/usr/bin/env bash
# Probes the checkpoints of a folder of `metamae run` seeds (scripts/first-command.sh's layout: DIR/sSEED/) again, at
# another precision, with the run's own dataset, preset, seed and label fractions (0.1 and 1), and writes
# OUT/sSEED/result.json in the same layout, the encoder named as the run's algorithm, so scripts/first-command.py pairs
# it with other folders. What it separates (issue 29): the precision of the pretraining from that of the probe's
# feature extraction, e.g. bf16-pretrained encoders probed in fp32 against fp32 runs:
#   PRECISION=fp32 scripts/reprobe.sh results/precision-parity/satellite/bf16 results/precision-parity/satellite/bf16-fp32-probe
# Needs the runs' checkpoints (not committed: run the seeds first). Skips seeds already done.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 2 ]] || { echo "usage: PRECISION=fp32|bf16 scripts/reprobe.sh RUNS_DIR OUT" >&2; exit 2; }
src=$1 out=$2
precision=${PRECISION:?set PRECISION=fp32 or bf16}
shopt -s nullglob
runs=("$src"/s*/result.json)
(( ${#runs[@]} )) || { echo "error: $src holds no sSEED/result.json (a folder of scripts/first-command.sh runs)" >&2; exit 2; }
for r in "${runs[@]}"; do
  d=$(dirname "$r") s=$(basename "$(dirname "$r")")
  [[ -f $out/$s/result.json ]] && continue
  ckpt=$d/pretrain/checkpoint.safetensors
  [[ -f $ckpt ]] || { echo "error: $ckpt is missing (checkpoints are not committed: rerun the seed)" >&2; exit 2; }
  read -r dataset preset seed algo < <(/usr/bin/python3 -c \
    'import json,sys; r=json.load(open(sys.argv[1])); print(r["dataset"], r["preset"], r["seed"], r["algo"])' "$r")
  mkdir -p "$out/$s"
  ./metamae probe --dataset "$dataset" --preset "$preset" --seed "$seed" --checkpoint "$ckpt" --precision "$precision" \
    --label-fraction 0.1,1 --threads "${THREADS:-2}" --json 2> "$out/$s.log" > "$out/$s/probe.out"
  tail -n 1 "$out/$s/probe.out" | /usr/bin/python3 -c '
import json, sys
p = json.load(sys.stdin)
algo, seed, src, precision = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
for row in p["rows"]:
    row["encoder"] = algo
json.dump({"algo": algo, "seed": seed, "dataset": p["dataset"], "checkpoint": src, "probe_precision": precision,
           "rows": p["rows"]}, open(sys.argv[5], "w"), indent=2)' "$algo" "$seed" "$ckpt" "$precision" "$out/$s/result.json"
  rm "$out/$s/probe.out"
done
/usr/bin/python3 scripts/first-command.py "$out"
