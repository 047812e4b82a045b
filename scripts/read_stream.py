#!/usr/bin/env python3
"""Reads a recur tensor stream: yields (metadata, {name: numpy array}) per record.
Usage: python3 scripts/read_stream.py FILE   (prints a summary)   Needs: pip install safetensors numpy"""
import json, struct, sys
from safetensors.numpy import load

def records(f):
    while len(head := f.read(8)) == 8:
        header = f.read(struct.unpack("<Q", head)[0])
        info = json.loads(header)
        size = max([v["data_offsets"][1] for k, v in info.items() if k != "__metadata__"], default=0)
        yield info.get("__metadata__", {}), load(head + header + f.read(size))

if __name__ == "__main__":
    for meta, tensors in records(open(sys.argv[1], "rb") if len(sys.argv) > 1 else sys.stdin.buffer):
        print(meta.get("kind"), {k: (v.dtype.name, list(v.shape)) for k, v in tensors.items()})
