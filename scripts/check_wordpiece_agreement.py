#!/usr/bin/env python3
"""Runs `tok --vocab VOCAB` on whole text files and compares every line's ids with
HuggingFace BertWordPieceTokenizer (lowercase=True, no special tokens).

Needs `tokenizers` (a venv outside the repository, as for make_wordpiece_fixture.py):

    ~/venv-tok/bin/python scripts/check_wordpiece_agreement.py \\
        --tok .build-tok/release/tok --vocab cache/bert/vocab.txt cache/shakespeare/hamlet_gut.txt ...

Prints, per file, how many lines give identical ids, and the first differences.
Exits 1 if any line differs.
"""
import argparse
import json
import struct
import subprocess
import sys

from tokenizers import BertWordPieceTokenizer


def examples(stream):
    """(line number, ids) of each example record of a tensor stream."""
    at = 0
    while at < len(stream):
        (n,) = struct.unpack_from("<Q", stream, at)
        header = json.loads(stream[at + 8:at + 8 + n])
        at += 8 + n
        size = max([v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"] + [0])
        data = stream[at:at + size]
        at += size
        meta = header["__metadata__"]
        if meta["kind"] != "example":
            continue
        b, e = header["x"]["data_offsets"]
        yield int(meta["id"].rsplit(":", 1)[1]), list(struct.unpack("<%di" % ((e - b) // 4), data[b:e]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tok", default=".build-tok/release/tok")
    ap.add_argument("--vocab", default="cache/bert/vocab.txt")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    reference = BertWordPieceTokenizer(args.vocab, lowercase=True)
    bad = 0
    for path in args.files:
        out = subprocess.run([args.tok, "--vocab", args.vocab, path], capture_output=True, check=True).stdout
        got = dict(examples(out))
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        same = 0
        for number, enc in enumerate(reference.encode_batch(lines, add_special_tokens=False), 1):
            if enc.ids == got.get(number, []):
                same += 1
            else:
                bad += 1
                if bad <= 10:
                    print(f"{path}:{number}: reference {enc.ids[:20]}, tok {got.get(number, [])[:20]}")
        print(f"{path}: {same} of {len(lines)} lines identical ({len(got)} examples)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
