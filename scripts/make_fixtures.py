#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures that the Swift tests compare against.

Each case is one safetensors file in Tests/NNTests/Fixtures/: the inputs, the
module's parameters under their state_dict names, the outputs, the seed
gradients fed to backward ("seed.<output>"), and the gradients of the inputs
and of every parameter ("grad.<name>"). The loss is sum(output * seed) over
all outputs, so every gradient path is exercised with non-trivial values.

Run once with PyTorch (CPU) in a venv outside the repository:
    python3 -m venv ~/venv-torch && ~/venv-torch/bin/pip install numpy safetensors torch
    ~/venv-torch/bin/python scripts/make_fixtures.py
"""
import os
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "NNTests", "Fixtures")
torch.manual_seed(0)


def save(name, tensors, meta=None):
    os.makedirs(OUT, exist_ok=True)
    t = {k: (v.detach().contiguous().float() if v.is_floating_point() else v.detach().contiguous().long())
         for k, v in tensors.items()}
    save_file(t, os.path.join(OUT, name + ".safetensors"), metadata=meta or {})
    print(name, sum(v.numel() for v in t.values()), "values")


def backward_with_seeds(outputs):
    seeds = {k: torch.randn_like(v) for k, v in outputs.items()}
    loss = sum((v * seeds[k]).sum() for k, v in outputs.items())
    loss.backward()
    return seeds


def module_case(name, module, inputs, forward, meta):
    """inputs: dict of leaf tensors (requires_grad where a gradient is wanted)."""
    outputs = forward(module, inputs)
    seeds = backward_with_seeds(outputs)
    t = {}
    t.update({"in." + k: v for k, v in inputs.items()})
    t.update({"param." + k: v for k, v in module.state_dict().items()})
    t.update({"out." + k: v for k, v in outputs.items()})
    t.update({"seed." + k: v for k, v in seeds.items()})
    t.update({"grad.in." + k: v.grad for k, v in inputs.items() if v.requires_grad})
    t.update({"grad.param." + k: p.grad for k, p in module.named_parameters()})
    save(name, t, {k: str(v) for k, v in meta.items()})


def recurrent(kind, F_, H, layers, bidir, batch_first, T, B, lengths=None, h0=True, nonlinearity="tanh"):
    cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
    kw = dict(nonlinearity=nonlinearity) if kind == "rnn" else {}
    m = cls(F_, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first, **kw)
    D = 2 if bidir else 1
    x = torch.randn((B, T, F_) if batch_first else (T, B, F_), requires_grad=True)
    inputs = {"x": x}
    if h0:
        inputs["h0"] = torch.randn(layers * D, B, H, requires_grad=True)
        if kind == "lstm":
            inputs["c0"] = torch.randn(layers * D, B, H, requires_grad=True)
    if lengths is not None:
        inputs["lengths"] = torch.tensor(lengths)

    def fwd(m, i):
        state = None
        if "h0" in i:
            state = (i["h0"], i["c0"]) if kind == "lstm" else i["h0"]
        inp = i["x"]
        if lengths is not None:
            inp = pack_padded_sequence(inp, i["lengths"], batch_first=batch_first, enforce_sorted=False)
        out, st = m(inp, state)
        if lengths is not None:
            out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
        res = {"output": out}
        if kind == "lstm":
            res["hN"], res["cN"] = st
        else:
            res["hN"] = st
        return res

    return m, inputs, fwd


def main():
    cases = [
        ("rnn_tanh_2layer", dict(kind="rnn", F_=4, H=5, layers=2, bidir=False, batch_first=True, T=6, B=3)),
        ("rnn_relu_bidir", dict(kind="rnn", F_=3, H=4, layers=1, bidir=True, batch_first=False, T=5, B=2,
                                nonlinearity="relu")),
        ("rnn_tanh_packed_bidir", dict(kind="rnn", F_=3, H=4, layers=2, bidir=True, batch_first=True, T=5, B=3,
                                       lengths=[5, 3, 2])),
        ("gru_2layer_nostate", dict(kind="gru", F_=4, H=5, layers=2, bidir=False, batch_first=True, T=6, B=3,
                                    h0=False)),
        ("gru_packed_bidir", dict(kind="gru", F_=4, H=5, layers=2, bidir=True, batch_first=False, T=6, B=4,
                                  lengths=[6, 4, 4, 1])),
        ("gru_packed_unsorted", dict(kind="gru", F_=3, H=4, layers=2, bidir=True, batch_first=True, T=5, B=3,
                                     lengths=[2, 5, 3])),
        ("lstm_2layer", dict(kind="lstm", F_=4, H=5, layers=2, bidir=False, batch_first=True, T=6, B=3)),
        ("lstm_packed_bidir", dict(kind="lstm", F_=4, H=5, layers=2, bidir=True, batch_first=False, T=6, B=4,
                                   lengths=[6, 5, 3, 2])),
        ("lstm_packed_unsorted", dict(kind="lstm", F_=3, H=6, layers=1, bidir=True, batch_first=True, T=4, B=3,
                                      lengths=[1, 4, 2])),
        ("lstm_h70", dict(kind="lstm", F_=8, H=70, layers=1, bidir=False, batch_first=True, T=3, B=2)),
    ]
    for name, c in cases:
        m, inputs, fwd = recurrent(**c)
        meta = {k: v for k, v in c.items() if k != "lengths"}
        module_case(name, m, inputs, fwd, meta)

    # cells
    for kind, cls in (("rnn", nn.RNNCell), ("gru", nn.GRUCell), ("lstm", nn.LSTMCell)):
        m = cls(4, 5)
        inputs = {"x": torch.randn(3, 4, requires_grad=True), "h": torch.randn(3, 5, requires_grad=True)}
        if kind == "lstm":
            inputs["c"] = torch.randn(3, 5, requires_grad=True)
            fwd = lambda m, i: dict(zip(("h", "c"), m(i["x"], (i["h"], i["c"]))))
        else:
            fwd = lambda m, i: {"h": m(i["x"], i["h"])}
        module_case(kind + "_cell", m, inputs, fwd, {"kind": kind, "F_": 4, "H": 5})

    # linear, embedding
    m = nn.Linear(5, 3)
    module_case("linear", m, {"x": torch.randn(2, 4, 5, requires_grad=True)}, lambda m, i: {"y": m(i["x"])}, {})
    m = nn.Embedding(7, 3)
    ids = torch.tensor([[1, 3, 3], [0, 6, 1]])
    module_case("embedding", m, {"ids": ids}, lambda m, i: {"y": m(i["ids"])}, {})

    # pooling, relu, concat/select (no parameters)
    x = torch.randn(2, 23, 3, requires_grad=True)
    pool = nn.AvgPool1d(7, 5)
    module_case("avgpool_relu", nn.Module(), {"x": x},
                lambda m, i: {"y": pool(F.relu(i["x"]).permute(0, 2, 1)).permute(0, 2, 1)}, {})

    # losses
    logits = torch.randn(6, 5, requires_grad=True)
    targets = torch.tensor([1, 0, -100, 4, 2, -100])
    loss = F.cross_entropy(logits, targets, ignore_index=-100)
    loss.backward()
    save("cross_entropy", {"logits": logits, "targets": targets, "loss": loss.reshape(1), "grad.logits": logits.grad})
    p = torch.randn(4, 3, requires_grad=True)
    y = torch.randn(4, 3)
    loss = F.mse_loss(p, y)
    loss.backward()
    save("mse", {"pred": p, "target": y, "loss": loss.reshape(1), "grad.pred": p.grad})
    x = (torch.randn(7) * 4).requires_grad_()
    y = torch.randint(0, 2, (7,)).float()
    loss = F.binary_cross_entropy_with_logits(x, y)
    loss.backward()
    save("bce", {"logits": x, "target": y, "loss": loss.reshape(1), "grad.logits": x.grad})

    # training: 10 optimiser steps of a small model, parameters after each run
    for opt_name in ("adam", "sgd"):
        torch.manual_seed(1)

        class Tiny(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(6, 4)
                self.lstm = nn.LSTM(4, 5, batch_first=True)
                self.fc = nn.Linear(5, 6)

            def forward(self, ids):
                out, _ = self.lstm(self.emb(ids))
                return self.fc(out)

        m = Tiny()
        init = {"init." + k: v.clone() for k, v in m.state_dict().items()}
        if opt_name == "adam":
            opt = torch.optim.Adam(m.parameters(), lr=0.01)
        else:
            opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        ids = torch.randint(0, 6, (10, 3, 7))
        tgt = torch.randint(0, 6, (10, 3, 7))
        losses = []
        for s in range(10):
            opt.zero_grad(set_to_none=True)
            logits = m(ids[s])
            loss = F.cross_entropy(logits.reshape(-1, 6), tgt[s].reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
        final = {"final." + k: v for k, v in m.state_dict().items()}
        save("train_" + opt_name, {**init, **final, "ids": ids, "targets": tgt, "losses": torch.tensor(losses)})


if __name__ == "__main__":
    main()
