"""Tensor streams: a sequence of records, each one safetensors document (recur-stream(5))."""
import gzip
import json
import struct

import numpy as np
from safetensors.numpy import load as _load_bytes, save as _save_bytes


def _open(source):
    if hasattr(source, "read"):
        return source
    f = open(source, "rb")
    if f.read(2) == b"\x1f\x8b":
        f.close()
        return gzip.open(source, "rb")
    f.seek(0)
    return f


def records(source):
    """Yields (kind, metadata, {name: numpy array}) for each record of a stream file (or .gz,
    or a binary file object)."""
    f = _open(source)
    while True:
        head = f.read(8)
        if len(head) < 8:
            if head:
                raise ValueError("truncated record header")
            return
        n = struct.unpack("<Q", head)[0]
        header = f.read(n)
        info = json.loads(header)
        size = max([v["data_offsets"][1] for k, v in info.items() if k != "__metadata__"], default=0)
        body = f.read(size)
        if len(header) < n or len(body) < size:
            raise ValueError("truncated record")
        meta = info.get("__metadata__", {})
        yield meta.get("kind"), meta, (_load_bytes(head + header + body) if size or len(info) > 1 else {})


def read_stream(source, torch=False):
    """(meta, examples): the stream's meta fields (lists such as vocab and classes decoded)
    and a list of its examples (or batches) as {name: array} with "id" when the record has one.
    `torch=True` gives torch tensors."""
    meta, out = {}, []
    for kind, metadata, tensors in records(source):
        if kind == "meta":
            meta = {k: _decode(v) for k, v in metadata.items() if k != "kind"}
            continue
        if torch:
            import torch as _torch
            tensors = {k: _torch.from_numpy(np.array(v)) for k, v in tensors.items()}
        item = dict(tensors)
        if "id" in metadata:
            item["id"] = metadata["id"]
        out.append(item)
    return meta, out


def write_record(f, kind, tensors, metadata=None):
    """Writes one record (kind, {name: numpy array}, string metadata) to a binary file."""
    md = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in (metadata or {}).items()}
    md["kind"] = kind
    f.write(_save_bytes({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata=md))


def _decode(value):
    if value.startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
