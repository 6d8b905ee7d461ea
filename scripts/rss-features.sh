#!/usr/bin/env bash
# Memory of feature extraction (issue 16.5, second half): 5,000 and 50,000 samples through the library's
# batched feature path (tools/rss-features), one process each. Constant memory = the growth beyond the
# output array does not grow with N.   Usage: scripts/rss-features.sh [OUT]  -> results/rss-features.txt
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/rss-features.txt}
dotnet build tools/rss-features -c Release -nologo -v quiet -clp:ErrorsOnly >&2
{
  echo "# scripts/rss-features.sh: dotnet tools/rss-features/bin/Release/net10.0/rss-features.dll N (tiny preset, random init, batch 256)"
  echo "# $(date -u +%F) on $(nproc) cores"
  for n in ${SIZES:-5000 50000 200000}; do dotnet tools/rss-features/bin/Release/net10.0/rss-features.dll "$n"; done
} > "$out"
cat "$out"
