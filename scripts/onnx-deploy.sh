#!/usr/bin/env bash
# Issue 32: published size and encoder throughput of samples/OnnxEmbed (ONNX Runtime only) against
# samples/TorchEmbed (TorchSharp-cpu through the MetaMae library) on the PAMAP2 shape (52 x 320, patch 5, the paper
# encoder 12 x 256), 2 threads, the two alternated ROUNDS times. Usage: scripts/onnx-deploy.sh [WORKDIR] [ROWS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d)}"; rows="${2:-512}"; rounds="${ROUNDS:-2}"
mkdir -p "$work"; cd "$work"
"$here/metamae" pretrain --dataset pamap2-like --preset paper --steps 1 --batch 8 --threads 2 --out pamap >/dev/null
"$here/metamae" export --checkpoint pamap/checkpoint.safetensors --format onnx --out pamap.onnx
python3 - "$rows" <<'PY'
import random, sys
random.seed(1)
with open('rows.csv', 'w') as f:
    f.write(','.join('v%d' % i for i in range(52 * 320)) + '\n')
    for r in range(int(sys.argv[1])):
        vals = ['%.5f' % random.gauss(0, 1) for _ in range(52 * 320)]
        if r == 3: vals[10] = 'NA'                                  # one missing cell
        f.write(','.join(vals) + '\n')
PY
dotnet publish "$here/samples/OnnxEmbed" -c Release -o pub-onnx -nologo -v quiet -clp:ErrorsOnly
dotnet publish "$here/samples/TorchEmbed" -c Release -o pub-torch -nologo -v quiet -clp:ErrorsOnly
echo "published size (bytes): OnnxEmbed $(du -sb pub-onnx | cut -f1), TorchEmbed $(du -sb pub-torch | cut -f1)"
for i in $(seq "$rounds"); do
  dotnet pub-onnx/OnnxEmbed.dll pamap.onnx rows.csv onnx.csv --threads 2 2>&1 | tail -1 | sed 's/^/OnnxEmbed:  /'
  dotnet pub-torch/TorchEmbed.dll pamap/checkpoint.safetensors rows.csv torch.csv --threads 2 2>&1 | tail -1 | sed 's/^/TorchEmbed: /'
done
python3 - <<'PY'
a = [l.split(',')[1:] for l in open('onnx.csv').read().split('\n')[1:] if l]
b = [l.split(',')[1:] for l in open('torch.csv').read().split('\n')[1:] if l]
print('rows', len(a), len(b), 'max abs difference', max(abs(float(x) - float(y)) for r, s in zip(a, b) for x, y in zip(r, s)))
PY
