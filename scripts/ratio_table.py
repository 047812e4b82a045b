#!/usr/bin/env python3
"""Ratio table from a side-by-side jsonl: recur samples/s ÷ PyTorch samples/s,
with each row's GFLOP/s (recur's FLOP count of the workload, the same work on
both sides) and its share of recur's sgemm peak (n=1024, same threads).

Uses the clean medians (blocks where other processes used < 0.25 cores) when
both sides have them, else the plain medians (marked *); where a workload ran
several times (ROUNDS), each side's median over its runs."""
import json
import statistics
import sys

rows, gemm = {}, {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("phase") == "gemm":
        gemm[r["workload"]] = r
        continue
    if r.get("adam", "default") not in ("default", None):
        continue
    side = "recur" if r.get("impl") == "recur" else "torch"
    rows.setdefault((r["workload"], r["phase"]), {}).setdefault(side, []).append(r)


def speed(runs):
    """Median over the runs of each run's clean median (plain median, marked *, where a run has none)."""
    def one(r):
        if r.get("clean_blocks", 0) >= 3 and r.get("clean_samples_per_s"):
            return r["clean_samples_per_s"], ""
        return r["samples_per_s"], "*"
    each = [one(r) for r in runs]
    return statistics.median(v for v, _ in each), "*" if any(m for _, m in each) else ""


peak = gemm.get("sgemm-recur-1024", {}).get("gflops")
if gemm:
    print("| sgemm (C = A·B, 2·n³ FLOP) | n | GFLOP/s | blas |")
    print("|---|---|---|---|")
    for name, r in gemm.items():
        print(f"| {name} | {r['n']} | {r['gflops']:,.1f} | {r.get('blas', '')} |")
    print()
print("| workload | phase | batch | recur samples/s | PyTorch samples/s | ratio | recur GFLOP/s | PyTorch GFLOP/s | recur % of peak |")
print("|---|---|---|---|---|---|---|---|---|")
for (w, ph), sides in rows.items():
    if "recur" not in sides or "torch" not in sides:
        continue
    rr = sides["recur"][0]
    a, fa = speed(sides["recur"])
    b, fb = speed(sides["torch"])
    flop = rr.get("flop_per_step")
    gf = lambda s: flop * s / rr["batch"] / 1e9 if flop else None
    ga, gb = gf(a), gf(b)
    share = f"{100 * ga / peak:.0f} %" if ga and peak else ""
    fmt = lambda g: f"{g:,.1f}" if g is not None else ""
    print(f"| {w} | {ph} | {rr['batch']} | {a:,.1f}{fa} | {b:,.1f}{fb} | {a / b:.2f} | {fmt(ga)} | {fmt(gb)} | {share} |")
