#!/usr/bin/env python3
"""The PyTorch module equivalent to a recur checkpoint, and a check that it loads.

    python3 scripts/reference_model.py CKPT BATCH_STREAM     # prints the logits of the stream's first batch as JSON

`RecurModel(spec)` builds torch.nn layers named as recur names its parameters
(emb, rnn or rnn1..rnnN, fc); `load_state_dict` takes the checkpoint's tensors
(minus the optimiser's `optim.*` and carried `state.*` entries) with strict=True.
"""
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn_tanh": nn.RNN, "rnn_relu": nn.RNN}


class RecurModel(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        if spec["input"] == "ids":
            self.emb = nn.Embedding(spec["vocabSize"], spec["embed"])
        cls, d = CELLS[spec["cell"]], (2 if spec["bidirectional"] else 1)
        kw = {"nonlinearity": "relu"} if spec["cell"] == "rnn_relu" else {}
        hidden = spec["hidden"]
        size = spec["embed"] if spec["input"] == "ids" else spec["features"]
        self.separate = spec.get("pool") is not None or len(set(hidden)) > 1
        if self.separate:
            for i, h in enumerate(hidden):
                setattr(self, f"rnn{i + 1}", cls(size, h, batch_first=True, bidirectional=spec["bidirectional"], **kw))
                size = h * d
        else:
            self.rnn = cls(size, hidden[0], num_layers=len(hidden), batch_first=True,
                           bidirectional=spec["bidirectional"], dropout=spec["dropout"], **kw)
        width = hidden[-1] * d * (spec["flattenSteps"] if spec["head"] == "flatten" else 1)
        self.fc = nn.Linear(width, spec["outputs"])

    def forward(self, x, lengths):
        s = self.spec
        if s["input"] == "ids":
            x = self.emb(x)
        B, T = x.shape[0], x.shape[1]
        full = bool((lengths == T).all())

        def run(rnn, x):
            if full:
                return rnn(x)
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, h = rnn(packed)
            return pad_packed_sequence(out, batch_first=True, total_length=T)[0], h

        if self.separate:
            for i in range(len(s["hidden"])):
                x, _ = run(getattr(self, f"rnn{i + 1}"), x)
                if s.get("pool"):
                    k, st = s["pool"]
                    x = F.avg_pool1d(F.relu(x).permute(0, 2, 1), k, st).permute(0, 2, 1)
            if s["head"] == "flatten":
                return self.fc(x.reshape(B, -1))
            if s["head"] == "mean":  # over each sequence's own steps; pooled steps have no lengths
                return self.fc(x.mean(dim=1) if s.get("pool") else x.sum(dim=1) / lengths.to(x.dtype).unsqueeze(1))
            return self.fc(x) if s["head"] == "step" else self.fc(x[:, -1])
        out, h = run(self.rnn, x)
        if isinstance(h, tuple):
            h = h[0]
        if s["head"] == "step":
            return self.fc(out)
        if s["head"] == "flatten":
            return self.fc(out.reshape(B, -1))
        if s["head"] == "mean":  # padded steps are zeros after pad_packed_sequence
            return self.fc(out.sum(dim=1) / lengths.to(out.dtype).unsqueeze(1))
        d = 2 if s["bidirectional"] else 1
        top = (len(s["hidden"]) - 1) * d
        last = h[top] if d == 1 else torch.cat([h[top], h[top + 1]], dim=1)
        return self.fc(last)


def load(path):
    """(model, metadata) from a recur checkpoint."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(n))["__metadata__"]
    spec = json.loads(meta["spec"])
    model = RecurModel(spec)
    tensors = {k: v for k, v in load_file(path).items() if not k.startswith(("optim.", "state."))}
    model.load_state_dict(tensors, strict=True)
    return model.eval(), meta


def first_batch(path):
    with open(path, "rb") as f:
        while len(head := f.read(8)) == 8:
            header = f.read(struct.unpack("<Q", head)[0])
            info = json.loads(header)
            size = max([v["data_offsets"][1] for k, v in info.items() if k != "__metadata__"], default=0)
            data = f.read(size)
            if info["__metadata__"]["kind"] == "batch":
                from safetensors.torch import load as load_bytes
                return load_bytes(head + header + data)
    raise SystemExit("no batch record")


if __name__ == "__main__":
    model, _ = load(sys.argv[1])
    b = first_batch(sys.argv[2])
    x = b["x"].long() if b["x"].dtype == torch.int32 else b["x"]
    if x.dim() == 2 and not x.is_floating_point():
        pass
    elif x.dim() == 2:
        x = x.unsqueeze(-1)
    with torch.no_grad():
        y = model(x, b["len"].long())
    print(json.dumps(y.reshape(-1).tolist()))
