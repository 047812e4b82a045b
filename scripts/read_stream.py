#!/usr/bin/env python3
"""Prints a summary of a recur tensor stream: each record's kind and its tensors' dtypes and shapes.
Usage: python3 scripts/read_stream.py FILE    Needs numpy and safetensors; the reader is python/recur's."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

from recur import records  # noqa: E402

if __name__ == "__main__":
    for kind, _, tensors in records(sys.argv[1] if len(sys.argv) > 1 else sys.stdin.buffer):
        print(kind, {k: (v.dtype.name, list(v.shape)) for k, v in tensors.items()})
