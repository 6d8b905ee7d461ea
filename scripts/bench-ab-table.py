#!/usr/bin/env python3
"""Table of scripts/bench-ab.sh's raw RESULT lines: per configuration, base and new step time (median over runs of
each run's median, min-max of the runs), the ratio new / base, and peak RSS."""
import re
import statistics
import sys

raw = open(sys.argv[1]).read().splitlines()
header = [l for l in raw if l.startswith('#')]
rows = {}
for line in raw:
    if not line.startswith('RESULT'):
        continue
    kv = dict(re.findall(r'(\w+)=(\S+)', line))
    key = (kv['algo'], kv['input'], kv['B'], kv['L'], kv.get('P', ''), kv['precision'])
    rows.setdefault(key, {}).setdefault(kv['side'], []).append((float(kv['ms_median']), float(kv['peak_rss_mb'])))

print('# Step time A/B (scripts/bench-ab.sh)\n')
for h in header:
    print('- ' + h.lstrip('# '))
print('\nms: median over runs of each run\'s median step (min-max of the runs); RSS: peak MB (max over runs).\n')
print('| algo | input | B | L | precision | base ms | new ms | new / base | base RSS MB | new RSS MB |')
print('|---|---|---|---|---|---|---|---|---|---|')
for (algo, inp, b, L, P, prec), sides in rows.items():
    def cell(side):
        v = [m for m, _ in sides.get(side, [])]
        return (statistics.median(v), min(v), max(v)) if v else None
    base, new = cell('base'), cell('new')
    fmt = lambda c: f'{c[0]:.0f} ({c[1]:.0f}-{c[2]:.0f})' if c else '-'
    ratio = f'**{new[0] / base[0]:.2f}**' if base and new else '-'
    rss = lambda s: f"{max(r for _, r in sides[s]):.0f}" if s in sides else '-'
    print(f'| {algo} | {inp} | {b} | {L} | {prec} | {fmt(base)} | {fmt(new)} | {ratio} | {rss("base")} | {rss("new")} |')

# `--precision both`: one process times fp32, then bf16 (two RESULT lines in a row); their ratio, per process, is
# paired against the host's drift between processes
results = [dict(re.findall(r'(\w+)=(\S+)', l)) for l in raw if l.startswith('RESULT')]
within = {}
for a, b in zip(results, results[1:]):
    same = all(a.get(k) == b.get(k) for k in ('side', 'algo', 'input', 'B', 'L', 'P'))
    if same and a['precision'] == 'fp32' and b['precision'] == 'bf16':
        key = (a['algo'], a['input'], a['B'], a['L'])
        within.setdefault(key, {}).setdefault(a['side'], []).append(float(b['ms_median']) / float(a['ms_median']))
if within:
    print('\nbf16 / fp32 within one process (`--precision both`): median over processes (min-max).\n')
    print('| algo | input | B | L | base | new |\n|---|---|---|---|---|---|')
    for (algo, inp, b, L), sides in within.items():
        fmt = lambda v: f'{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})' if v else '-'
        print(f'| {algo} | {inp} | {b} | {L} | {fmt(sides.get("base", []))} | {fmt(sides.get("new", []))} |')

# the step's phases (metamae bench's fwd_ms, bwd_ms, opt_ms: forward with the inner step, backward, and the rest:
# the optimizer, zeroing the gradients, releasing the step's tensors), median over runs
phases = {}
for kv in results:
    if 'opt_ms' in kv:
        key = (kv['algo'], kv['input'], kv['B'], kv['L'], kv['precision'])
        phases.setdefault(key, {}).setdefault(kv['side'], []).append(
            tuple(float(kv[k]) for k in ('fwd_ms', 'bwd_ms', 'opt_ms')))
if phases:
    print('\nPhases, ms (median over runs): forward / backward / the rest (optimizer, zeroing, release).\n')
    print('| algo | input | B | L | precision | base | new |\n|---|---|---|---|---|---|---|')
    for (algo, inp, b, L, prec), sides in phases.items():
        fmt = lambda v: ' / '.join(f'{statistics.median(x[i] for x in v):.1f}' for i in range(3)) if v else '-'
        print(f'| {algo} | {inp} | {b} | {L} | {prec} | {fmt(sides.get("base"))} | {fmt(sides.get("new"))} |')
