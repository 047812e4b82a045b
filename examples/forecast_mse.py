#!/usr/bin/env python3
"""MSE of predict --forecast against the series' true continuation.
   forecast_mse.py PREDICT.tsv SERIES.csv WINDOW"""
import sys

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]   # after the header line
series = [float(l) for l in open(sys.argv[2]) if l.strip()]
w = int(sys.argv[3])
se, n = 0.0, 0
for i, r in enumerate(rows):
    start = int(r[0].rsplit(":", 1)[1])            # the window's first index
    forecast = [float(v) for v in r[2].split()]     # id, values, forecast
    truth = series[start + w: start + w + len(forecast)]
    for f, t in zip(forecast, truth):
        se += (f - t) ** 2
        n += 1
print(f"forecast MSE {se / n:.4f} over {n} values ({len(rows)} windows)")
