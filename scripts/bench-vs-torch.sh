#!/usr/bin/env bash
# Side-by-side speed of one training step: `metamae bench` (C#, TorchSharp) against the PyTorch
# reference (metamae_step.py), alternating the two on each shape so both see the same machine load.
# Prints the RESULT lines per configuration: ours in fp32 and bf16 (--precision), the reference in fp32 and with
# --bf16 (torch.autocast); bf16 only where the CPU has it natively (avx512_bf16 / amx_bf16). Tables:
# scripts/precision-table.py (all four cells) or scripts/bench-table.py (fp32 only). Needs Debian's python3-torch and libopenblas0-openmp
# (apt-get install -y python3-torch libopenblas0-openmp) for the reference.
#
#   scripts/bench-vs-torch.sh [REFERENCE_SCRIPT] > results/bench-vs-torch.txt
#
# Env: THREADS (2), STEPS (20), WARMUP (5), ROUNDS (alternations per configuration, 2),
# REF_CORETYPE: OPENBLAS_CORETYPE for the reference only (default: unset, so OpenBLAS picks its
# kernels from the CPU, the math library's default; this machine's environment presets Haswell,
# which halves OpenBLAS's peak). The C# side reports which MKL kernels it ran (mkl=..., see CpuMath).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ref="${1:-${METAMAE_TORCH_REFERENCE:-$here/../shared/tools/torch_reference/metamae_step.py}}"
threads="${THREADS:-2}" steps="${STEPS:-20}" warmup="${WARMUP:-5}" rounds="${ROUNDS:-2}"
[[ -f "$ref" ]] || { echo "error: reference script not found: $ref (pass its path as the first argument)" >&2; exit 2; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "error: /usr/bin/python3 has no torch (apt-get install -y python3-torch libopenblas0-openmp)" >&2; exit 2; }
"$here/metamae" --help >/dev/null    # build once, outside the timings
precisions=(fp32); grep -qw -e avx512_bf16 -e amx_bf16 /proc/cpuinfo && precisions=(fp32 bf16)

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -n) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) nproc=$(nproc)"
echo "# threads=$threads steps=$steps warmup=$warmup rounds=$rounds LD_PRELOAD=${LD_PRELOAD:-} MALLOC_CONF=${MALLOC_CONF:-} reference OPENBLAS_CORETYPE=${REF_CORETYPE:-<auto>} METAMAE_MKL_VENDOR_CHECK=${METAMAE_MKL_VENDOR_CHECK:-}"
configs=(
  "--algo mae --batch 64"
  "--algo metamae-fo --batch 64"
  "--algo metamae --batch 64"
  "--algo mae --batch 256"
  "--algo metamae --batch 256"
  "--algo mae --tokens --batch 128"
  "--algo metamae --tokens --batch 128"
)
for cfg in "${configs[@]}"; do
  for ((r = 1; r <= rounds; r++)); do
    echo "## $cfg round $r"
    for p in "${precisions[@]}"; do
      # shellcheck disable=SC2086
      "$here/metamae" bench $cfg --precision "$p" --threads "$threads" --steps "$steps" --warmup "$warmup" --feature-batch 256 | grep RESULT
      # shellcheck disable=SC2086
      if [[ -n "${REF_CORETYPE:-}" ]]; then refenv=(env OPENBLAS_CORETYPE="$REF_CORETYPE"); else refenv=(env -u OPENBLAS_CORETYPE); fi
      bf=(); [[ "$p" == bf16 ]] && bf=(--bf16)
      # shellcheck disable=SC2086
      "${refenv[@]}" /usr/bin/python3 "$ref" $cfg "${bf[@]}" --threads "$threads" --steps "$steps" --warmup "$warmup" | grep RESULT |
        sed "s/^RESULT /RESULT impl=pytorch precision=$p /"
    done
  done
done
