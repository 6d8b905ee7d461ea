#!/usr/bin/env python3
"""Loads a `metamae export` (reference format, encoder part) into a small, independent PyTorch
re-implementation of the MAE/timm ViT encoder and compares its features with ours.

usage: compare_torch.py WEIGHTS.safetensors IO.safetensors KIND SPEC HEADS
  IO.safetensors holds 'x' (raw inputs, B x ..spec) and 'features' (our features, B x D).
  KIND is grid (SPEC = C,H,W,ph,pw), sequence (SPEC = C,T,p), tabular (SPEC = F) or tokens (SPEC = V,L).
Exit 0 when the max abs difference is below 1e-4; prints it either way.
Needs only torch (the safetensors format is read by hand: 8-byte header length, JSON, raw bytes).
"""
import json
import math
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:e]), dtype=DTYPES[v["dtype"]]).reshape(v["shape"])
        out[k] = t.clone()
    return out


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5
        x = attn.softmax(-1) @ v
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, hidden, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, kind, spec, dim):
        super().__init__()
        self.kind = kind
        if kind == "grid":
            c, h, w, ph, pw = spec
            self.proj = nn.Conv2d(c, dim, (ph, pw), stride=(ph, pw))
        elif kind == "sequence":
            c, t, p = spec
            self.proj = nn.Conv1d(c, dim, p, stride=p)
        elif kind == "tabular":
            self.proj = nn.Linear(1, dim)

    def forward(self, x):
        if self.kind == "tabular":
            return self.proj(x.unsqueeze(-1))
        return self.proj(x).flatten(2).transpose(1, 2)


class Encoder(nn.Module):
    """timm-style ViT encoder: patch_embed, cls_token, pos_embed, blocks, norm."""

    def __init__(self, sd, kind, spec, heads, eps=1e-6):
        super().__init__()
        dim = sd["cls_token"].shape[-1]
        depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
        hidden = sd["blocks.0.mlp.fc1.weight"].shape[0]
        if kind == "tokens":
            self.patch_embed = nn.Embedding(spec[0], dim)
        else:
            self.patch_embed = PatchEmbed(kind, spec, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros_like(sd["pos_embed"]), requires_grad=False)
        self.blocks = nn.ModuleList([Block(dim, heads, hidden, eps) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x):
        h = self.patch_embed(x) + self.pos_embed[:, 1:]
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(h.shape[0], -1, -1)
        h = torch.cat([cls, h], 1)
        for b in self.blocks:
            h = b(h)
        return self.norm(h)[:, 1:].mean(1)


def main():
    weights, io, kind, spec, heads = sys.argv[1:6]
    spec = [int(v) for v in spec.split(",")]
    sd = load_safetensors(weights)
    model = Encoder(sd, kind, spec, int(heads))
    model.load_state_dict(sd, strict=True)   # every key and shape must match the reference names
    model.eval()
    t = load_safetensors(io)
    with torch.no_grad():
        f = model(t["x"])
    diff = (f - t["features"]).abs().max().item()
    print(f"features {tuple(f.shape)}; max abs difference PyTorch vs MetaMae: {diff:.3e}")
    sys.exit(0 if math.isfinite(diff) and diff < 1e-4 else 1)


if __name__ == "__main__":
    main()
