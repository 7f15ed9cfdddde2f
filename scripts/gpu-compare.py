#!/usr/bin/env python3
"""Sets our GpuBenchmark's RESULT lines beside the release's bench.py lines (same device run) as one
Markdown table, with the issue's targets: ours fp32 <= 0.8 x the release's best fp32, ours bf16 <= 0.8 x
the release's bf16 fused, with transfers <= 1.5 x device-resident (from and into Java arrays, and between
page-locked segments from allocateHost).
Usage: gpu-compare.py OUR_BENCH_LOG RELEASE_BENCH_LOG"""
import re, sys

ours, rel = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r"RESULT (\w+) (\d+) (\d+) ([\d.]+) ([\d.]+) [\d.]+(?: ([\d.]+))?", line)
    if m:
        ours[(m[1], int(m[2]), int(m[3]))] = (float(m[4]), float(m[5]), float(m[6]) if m[6] else None)
for line in open(sys.argv[2]):
    m = re.match(r"layer fused=(\w+) (\w+) B=(\d+) L=(\d+) ([\d.]+) ms", line)
    if m:
        rel[(m[1] == "True", m[2], int(m[3]), int(m[4]))] = float(m[5])

def f(v):
    return "-" if v is None else f"{v:.3f}"

shapes = sorted({(b, l) for (_, b, l) in ours} | {(b, l) for (_, _, b, l) in rel}, key=lambda s: s[0] * s[1] * 1000 + s[0])
modes = [m for m in ("TF32X3", "TF32", "BF16", "FFMA") if any(k[0] == m for k in ours)]
head = ["B x L"] + [f"ours {m.lower()}" for m in modes] + [f"ours {m.lower()} with transfers" for m in modes if m in ("TF32X3", "BF16")]
head += ["release fp32 fused / unfused", "release bf16 fused / unfused", "tf32x3 / best release fp32", "bf16 / release bf16 fused",
         "arrays / resident (tf32x3, bf16)", "page-locked / resident (tf32x3, bf16)"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for (b, l) in shapes:
    row = [f"{b} x {l}"]
    row += [f(ours.get((m, b, l), (None,))[0]) for m in modes]
    row += [f(ours.get((m, b, l), (None, None))[1]) for m in modes if m in ("TF32X3", "BF16")]
    r32 = [rel.get((fu, "fp32", b, l)) for fu in (True, False)]
    r16 = [rel.get((fu, "bf16", b, l)) for fu in (True, False)]
    row += [f"{f(r32[0])} / {f(r32[1])}", f"{f(r16[0])} / {f(r16[1])}"]
    best32 = min([v for v in r32 if v is not None], default=None)
    t = ours.get(("TF32X3", b, l)); h = ours.get(("BF16", b, l))
    row.append(f"{t[0] / best32:.2f}" if t and best32 else "-")
    row.append(f"{h[0] / r16[0]:.2f}" if h and r16[0] else "-")
    row.append(", ".join(f"{x[1] / x[0]:.2f}" if x else "-" for x in (t, h)))
    row.append(", ".join(f"{x[2] / x[0]:.2f}" if x and x[2] else "-" for x in (t, h)))
    print("| " + " | ".join(row) + " |")
