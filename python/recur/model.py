"""The torch.nn module equivalent to a recur model spec (parameter names are recur's)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn_tanh": nn.RNN, "rnn_relu": nn.RNN}

#: A spec's fields and their defaults (recur's ModelSpec, as a checkpoint stores it).
SPEC_DEFAULTS = {"name": "custom", "task": "classify", "input": "ids", "vocabSize": 0, "embed": 0, "features": 0,
                 "cell": "gru", "hidden": [128], "bidirectional": False, "dropout": 0.0, "pool": None, "head": "last",
                 "outputs": 2, "loss": "ce", "flattenSteps": 0, "stateful": False}


def make_spec(**fields):
    """A complete spec: `fields` over the defaults (unknown names are an error)."""
    unknown = set(fields) - set(SPEC_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown spec fields: {sorted(unknown)}")
    spec = dict(SPEC_DEFAULTS, **fields)
    if spec["pool"] is None:
        del spec["pool"]
    return spec


class RecurModel(nn.Module):
    """emb (ids) → rnn (one multi-layer module) or rnn1…rnnN (separate layers, optional
    ReLU + AvgPool1d) → fc on the last state, every step, the mean or the flattened steps."""

    def __init__(self, spec):
        super().__init__()
        spec = make_spec(**spec)
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

    def forward(self, x, lengths=None):
        """x: [B, T] ids or [B, T, F] floats; lengths: [B] (None: every sequence runs all T
        steps, the form ONNX export takes). → logits [B, outputs] or [B, T, outputs]."""
        s = self.spec
        if s["input"] == "ids":
            x = self.emb(x)
        B, T = x.shape[0], x.shape[1]
        full = lengths is None or bool((lengths == T).all())

        def run(rnn, x):
            if full:
                return rnn(x)
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, h = rnn(packed)
            return pad_packed_sequence(out, batch_first=True, total_length=T)[0], h

        def mean(out):  # over each sequence's own steps (padded steps are zeros)
            if full:
                return out.mean(dim=1)
            return out.sum(dim=1) / lengths.to(out.dtype).unsqueeze(1)

        if self.separate:
            for i in range(len(s["hidden"])):
                x, _ = run(getattr(self, f"rnn{i + 1}"), x)
                if s.get("pool"):
                    k, st = s["pool"]
                    x = F.avg_pool1d(F.relu(x).permute(0, 2, 1), k, st).permute(0, 2, 1)
            if s["head"] == "flatten":
                return self.fc(x.reshape(B, -1))
            if s["head"] == "mean":  # pooled steps have no lengths
                return self.fc(x.mean(dim=1) if s.get("pool") else mean(x))
            return self.fc(x) if s["head"] == "step" else self.fc(x[:, -1])
        out, h = run(self.rnn, x)
        if isinstance(h, tuple):
            h = h[0]
        if s["head"] == "step":
            return self.fc(out)
        if s["head"] == "flatten":
            return self.fc(out.reshape(B, -1))
        if s["head"] == "mean":
            return self.fc(mean(out))
        d = 2 if s["bidirectional"] else 1
        top = (len(s["hidden"]) - 1) * d
        last = h[top] if d == 1 else torch.cat([h[top], h[top + 1]], dim=1)
        return self.fc(last)
