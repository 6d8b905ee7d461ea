#!/usr/bin/env bash
# The one quiet-machine benchmark of issue 14 (mixed precision, fused encoder attention, OpenMP wait policy).
# Run it on an otherwise idle machine; it takes about 10-12 minutes with the defaults (2 rounds x 5 steps).
#
#   scripts/bench-precision.sh [REFERENCE_SCRIPT]      # writes results/performance-bf16.md (+ .txt, the raw lines)
#
# Part 1, alternated rounds: per configuration (paper preset: MAE / MetaMAE at B=64 and B=256, tokens L=128
# B=128), one run each of ours fp32, ours bf16, PyTorch fp32, PyTorch bf16 (torch.autocast), the order rotated
# every round so that drift of the machine hits every cell alike. Each run prints its median step time over
# STEPS timed steps after WARMUP; the table gives the median over rounds and the spread (min-max) of the runs,
# peak RSS, and the machine's fp32 and bf16 matmul peaks (a 2048^3 matmul measured by `metamae bench`).
# Part 2, threads on a shared machine (issue 14 item 4): MetaMAE B=64 with 2 threads, solo and as two
# concurrent runs, under the OpenMP wait policy our CLI chooses by default (METAMAE_OMP_WAIT=auto: 1,000 spins when
# the cores are free at start, see CpuMath), always sleeping (passive), and libgomp's own default (300,000 spins).
#
# Needs Debian's python3-torch and libopenblas0-openmp for the reference (apt-get install -y python3-torch
# libopenblas0-openmp); bench-vs-torch.sh has the same needs.
# Env: THREADS (2), STEPS (5), WARMUP (2), ROUNDS (2), OUT (results/performance-bf16.md), PYTHON (/usr/bin/python3),
# OURS_EXTRA (more `metamae bench` options), REF_CORETYPE (OPENBLAS_CORETYPE of the reference only; default unset).
# SMOKE=1: a check that the script runs end to end (tiny preset, 1 round, 2 steps), not a measurement.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ref="${1:-${METAMAE_TORCH_REFERENCE:-$here/../shared/tools/torch_reference/metamae_step.py}}"
py="${PYTHON:-/usr/bin/python3}"
threads="${THREADS:-2}" steps="${STEPS:-5}" warmup="${WARMUP:-2}" rounds="${ROUNDS:-2}"
out="${OUT:-$here/results/performance-bf16.md}"
extra="${OURS_EXTRA:-}"
if [[ "${SMOKE:-0}" == 1 ]]; then
  steps="${STEPS:-2}" warmup="${WARMUP:-1}" rounds="${ROUNDS:-1}" extra="--preset tiny --peak-size 256 $extra"
fi
[[ -f "$ref" ]] || { echo "error: reference script not found: $ref (pass its path as the first argument)" >&2; exit 2; }
"$py" -c "import torch" 2>/dev/null || [[ "${SMOKE:-0}" == 1 ]] ||
  { echo "error: $py has no torch (apt-get install -y python3-torch libopenblas0-openmp)" >&2; exit 2; }
grep -qw -e avx512_bf16 -e amx_bf16 /proc/cpuinfo ||
  { echo "error: this CPU has no native bf16 (no avx512_bf16 / amx_bf16 in /proc/cpuinfo): nothing to compare" >&2; exit 2; }
"$here/metamae" --help >/dev/null    # build once, outside the timings
raw="${out%.md}.txt"
mkdir -p "$(dirname "$out")"
start=$(date +%s)

# /usr/bin/time -v is not everywhere; peak RSS comes from the RESULT lines (VmHWM / ru_maxrss) instead
ours() {   # ours PRECISION CONFIG...
  local p="$1"; shift
  # shellcheck disable=SC2086
  "$here/metamae" bench "$@" $extra --precision "$p" --threads "$threads" --steps "$steps" --warmup "$warmup" --feature-batch 0 |
    grep '^RESULT'
}
torchref() {   # torchref PRECISION CONFIG...
  local p="$1"; shift
  local flag=(); [[ "$p" == bf16 ]] && flag=(--bf16)
  local envs=(env -u OPENBLAS_CORETYPE); [[ -n "${REF_CORETYPE:-}" ]] && envs=(env OPENBLAS_CORETYPE="$REF_CORETYPE")
  "${envs[@]}" "$py" "$ref" "$@" "${flag[@]}" --threads "$threads" --steps "$steps" --warmup "$warmup" |
    grep '^RESULT' | sed "s/^RESULT /RESULT impl=pytorch precision=$p /"
}

{
  echo "# command: scripts/bench-precision.sh $* (THREADS=$threads STEPS=$steps WARMUP=$warmup ROUNDS=$rounds SMOKE=${SMOKE:-0} OURS_EXTRA='$extra')"
  echo "# date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "# machine: $(uname -n) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) nproc=$(nproc) bf16_flags=$(grep -m1 -ow -e avx512_bf16 -e amx_bf16 /proc/cpuinfo | sort -u | xargs)"
  echo "# commit: $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$here" diff --quiet 2>/dev/null || echo ' (uncommitted changes)')"
  echo "# reference: $ref ($("$py" -c 'import torch; print("torch", torch.__version__)' 2>/dev/null || echo 'no torch'))"
  configs=(
    "--algo mae --batch 64"
    "--algo metamae --batch 64"
    "--algo mae --batch 256"
    "--algo metamae --batch 256"
    "--algo mae --tokens --batch 128"
    "--algo metamae --tokens --batch 128"
  )
  cells=("ours fp32" "ours bf16" "torchref fp32" "torchref bf16")
  for ((r = 0; r < rounds; r++)); do
    for cfg in "${configs[@]}"; do
      echo "## $cfg round $((r + 1))"
      for ((i = 0; i < 4; i++)); do
        cell="${cells[$(((i + r) % 4))]}"
        # shellcheck disable=SC2086
        ${cell% *} "${cell#* }" $cfg
      done
    done
  done
  # part 2: two concurrent 2-thread runs against one alone, per wait policy
  for policy in auto passive gomp-default; do
    case "$policy" in
      auto) penv=(env METAMAE_OMP_WAIT=auto) ;;            # our default: spin when the cores are free at start
      passive) penv=(env METAMAE_OMP_WAIT=passive) ;;      # workers always sleep (the default before session 9)
      gomp-default) penv=(env GOMP_SPINCOUNT=300000) ;;    # libgomp's own default
    esac
    echo "## concurrency policy=$policy solo"
    # shellcheck disable=SC2086
    "${penv[@]}" "$here/metamae" bench --algo metamae --batch 64 $extra --threads 2 --steps "$steps" --warmup "$warmup" --feature-batch 0 | grep '^RESULT'
    echo "## concurrency policy=$policy pair"
    tmp1=$(mktemp) tmp2=$(mktemp)
    # shellcheck disable=SC2086
    "${penv[@]}" "$here/metamae" bench --algo metamae --batch 64 $extra --threads 2 --steps "$steps" --warmup "$warmup" --feature-batch 0 >"$tmp1" & p1=$!
    # shellcheck disable=SC2086
    "${penv[@]}" "$here/metamae" bench --algo metamae --batch 64 $extra --threads 2 --steps "$steps" --warmup "$warmup" --feature-batch 0 >"$tmp2" & p2=$!
    wait "$p1" "$p2"
    grep -h '^RESULT' "$tmp1" "$tmp2"
    rm -f "$tmp1" "$tmp2"
  done
  echo "# took $(( $(date +%s) - start )) s"
} | tee "$raw"

"$py" "$here/scripts/precision-table.py" "$raw" > "$out"
echo "wrote $out (raw lines: $raw)" >&2
