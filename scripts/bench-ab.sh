#!/usr/bin/env bash
# A/B timing of two checkouts' training step: `metamae bench` of BASE (another checkout, e.g. a git worktree of the
# commit before a change) and of this checkout, alternated round by round on each configuration, one process per run.
# Prints the raw RESULT lines and a table of medians (min-max) and the median ratio new / base, with peak RSS.
#   scripts/bench-ab.sh BASE_DIR [OUT.md]      env: THREADS=2 STEPS=5 WARMUP=2 ROUNDS=2 CONFIGS='...;...'
# Run it on a quiet machine (nothing else busy): it measures wall time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="$(cd "${1:?usage: scripts/bench-ab.sh BASE_DIR [OUT.md]}" && pwd)"
out="${2:-$here/results/bench-ab.md}"
threads="${THREADS:-2}" steps="${STEPS:-5}" warmup="${WARMUP:-2}" rounds="${ROUNDS:-2}"
IFS=';' read -r -a configs <<< "${CONFIGS:---algo mae --batch 64;--algo metamae --batch 64;--algo mae --tokens --batch 128;--algo metamae --tokens --batch 128;--preset tiny --algo metamae --tokens --L 256 --batch 128}"
for d in "$base" "$here"; do [[ -x "$d/metamae" ]] || { echo "no metamae in $d" >&2; exit 2; }; "$d/metamae" --help >/dev/null; done
raw="${out%.md}.txt"
mkdir -p "$(dirname "$out")"
run() {   # run SIDE DIR CONFIG...
  local side="$1" dir="$2"; shift 2
  # shellcheck disable=SC2068
  "$dir/metamae" bench $@ --threads "$threads" --steps "$steps" --warmup "$warmup" --feature-batch 0 --peak-size 0 |
    grep '^RESULT' | sed "s/^RESULT /RESULT side=$side /"
}
start=$(date +%s)
{
  echo "# command: scripts/bench-ab.sh $* (THREADS=$threads STEPS=$steps WARMUP=$warmup ROUNDS=$rounds)"
  echo "# date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "# machine: $(uname -n) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) nproc=$(nproc)"
  echo "# base: $base at $(git -C "$base" rev-parse --short HEAD)$(git -C "$base" diff --quiet || echo ' (uncommitted changes)')"
  echo "# new: $here at $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet || echo ' (uncommitted changes)')"
  for ((r = 0; r < rounds; r++)); do
    for c in "${configs[@]}"; do
      if (( r % 2 == 0 )); then run base "$base" $c; run new "$here" $c; else run new "$here" $c; run base "$base" $c; fi
    done
  done
} | tee "$raw"
echo "# took $(( $(date +%s) - start )) s" >> "$raw"
python3 "$here/scripts/bench-ab-table.py" "$raw" > "$out"
cat "$out"
