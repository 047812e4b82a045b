#!/usr/bin/env python3
"""Ratio table from a side-by-side jsonl: recur samples/s ÷ PyTorch samples/s.

Uses the clean medians (blocks where other processes used < 0.25 cores) when
both sides have them, else the plain medians (marked *)."""
import json
import sys

rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("phase") == "gemm" or r.get("adam", "default") not in ("default", None):
        continue
    side = "recur" if r.get("impl") == "recur" else "torch"
    rows.setdefault((r["workload"], r["phase"]), {})[side] = r


def speed(r):
    if r.get("clean_blocks", 0) >= 3 and r.get("clean_samples_per_s"):
        return r["clean_samples_per_s"], ""
    return r["samples_per_s"], "*"


print("| workload | phase | batch | threads | recur samples/s | PyTorch samples/s | ratio |")
print("|---|---|---|---|---|---|---|")
for (w, ph), sides in rows.items():
    if "recur" not in sides or "torch" not in sides:
        continue
    a, fa = speed(sides["recur"])
    b, fb = speed(sides["torch"])
    print(f"| {w} | {ph} | {sides['recur']['batch']} | {sides['recur']['threads']} | "
          f"{a:,.1f}{fa} | {b:,.1f}{fb} | {a / b:.2f} |")
