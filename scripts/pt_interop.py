#!/usr/bin/env python3
"""PyTorch state dicts (.pt) to and from `metamae export` / `metamae import`, checked with torch itself.

usage:
  pt_interop.py check EXPORT.pt REF.safetensors [IO.safetensors KIND SPEC HEADS]
      torch.load the .pt written by `metamae export --format pt`; it must be a dict with the same
      keys (in the same order), shapes, dtypes and values as the safetensors export. With IO..HEADS (as for
      compare_torch.py), the .pt also loads (strict) into the independent encoder there and gives our features.
  pt_interop.py write REF.safetensors OUT.pt KIND SPEC HEADS
      builds compare_torch.py's encoder from a safetensors export, loads it (strict), and writes
      torch.save(model.state_dict(), OUT.pt): a state dict as PyTorch users write them.
Exit 0 on success; prints the max abs differences.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_torch import Encoder, load_safetensors  # noqa: E402


def features(sd, io, kind, spec, heads):
    model = Encoder(sd, kind, [int(v) for v in spec.split(",")], int(heads))
    model.load_state_dict(sd, strict=True)
    model.eval()
    t = load_safetensors(io)
    with torch.no_grad():
        f = model(t["x"])
    return (f - t["features"]).abs().max().item()


def check(pt, ref, *rest):
    sd = torch.load(pt, map_location="cpu")
    want = load_safetensors(ref)
    if not isinstance(sd, dict):
        sys.exit(f"{pt}: torch.load gave {type(sd).__name__}, expected a dict of tensors")
    if set(sd) != set(want):
        sys.exit(f"{pt}: keys differ: only in .pt {sorted(set(sd) - set(want))}, only in safetensors "
                 f"{sorted(set(want) - set(sd))}")
    diff = 0.0
    for k, v in want.items():
        t = sd[k]
        if not isinstance(t, torch.Tensor) or t.shape != v.shape or t.dtype != v.dtype:
            sys.exit(f"{pt}: '{k}' is {getattr(t, 'dtype', type(t))} {tuple(getattr(t, 'shape', ()))}, "
                     f"expected {v.dtype} {tuple(v.shape)}")
        diff = max(diff, (t - v).abs().max().item() if t.numel() else 0.0)
    print(f"{len(sd)} tensors, {type(sd).__name__}, same names/shapes/dtypes as the safetensors export; "
          f"max abs difference .pt vs safetensors: {diff:.3e}")
    ok = diff == 0.0
    if rest:
        fd = features(sd, *rest)
        print(f"features of the .pt in PyTorch vs MetaMae: max abs difference {fd:.3e}")
        ok = ok and math.isfinite(fd) and fd < 1e-4
    sys.exit(0 if ok else 1)


def write(ref, out, kind, spec, heads):
    sd = load_safetensors(ref)
    model = Encoder(sd, kind, [int(v) for v in spec.split(",")], int(heads))
    model.load_state_dict(sd, strict=True)
    torch.save(model.state_dict(), out)
    print(f"wrote {len(model.state_dict())} tensors with torch {torch.__version__} -> {out}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"check": check, "write": write}[cmd](*args)
