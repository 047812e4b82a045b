#!/usr/bin/env python3
"""The character-LM workload in PyTorch on the very streams recur trains on, for a
like-for-like perplexity (the issue's reference numbers come from other splits).

    python3 scripts/torch-charlm-reference.py TRAIN.stream VALID.stream [--stateful]

Embedding(V,256) -> LSTM(256) -> Linear(256,V) per step, Adam 1e-3, clip_grad_norm 5,
batches of 32 windows in stream order, one epoch, torch.manual_seed(0), 2 threads.
Without --stateful every batch starts from a zero state and the validation windows are
scored 32 at a time from zero; with --stateful (a stream made with --sampling sequential
--batch 32) the state is carried from batch to batch, detached, and the validation
stream (sequential, not striped) is read one window at a time with the state carried.
Needs torch, numpy, safetensors (run it in a venv outside the repository)."""
import math, sys, time
import numpy as np
import torch, torch.nn as nn
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from read_stream import records

def load(path):
    recs = list(records(open(path, "rb")))
    meta = recs[0][0]
    xs = np.stack([t["x"] for m, t in recs[1:]]).astype(np.int64)
    ys = np.stack([t["y"] for m, t in recs[1:]]).astype(np.int64)
    return meta, torch.from_numpy(xs), torch.from_numpy(ys)

class CharLM(nn.Module):
    def __init__(self, v):
        super().__init__()
        self.emb, self.rnn, self.fc = nn.Embedding(v, 256), nn.LSTM(256, 256, batch_first=True), nn.Linear(256, v)
    def forward(self, x, state=None):
        o, state = self.rnn(self.emb(x), state)
        return self.fc(o), state

def main():
    stateful = "--stateful" in sys.argv
    train_path, valid_path = [a for a in sys.argv[1:] if not a.startswith("--")]
    torch.manual_seed(0); torch.set_num_threads(2)
    meta, x, y = load(train_path)
    _, vx, vy = load(valid_path)
    v = len(__import__("json").loads(meta["vocab"]))
    model, loss_fn = CharLM(v), nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    state, t0 = None, time.time()
    for i in range(0, len(x) - 31, 32):
        xb, yb = x[i:i + 32], y[i:i + 32]
        logits, state = model(xb, state if stateful else None)
        state = tuple(s.detach() for s in state)
        loss = loss_fn(logits.reshape(-1, v), yb.reshape(-1))
        opt.zero_grad(); loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
    model.eval()
    total, n, state = 0.0, 0, None
    with torch.no_grad():
        step = 1 if stateful else 32
        for i in range(0, len(vx), step):
            logits, s = model(vx[i:i + step], state)
            if stateful: state = s
            total += nn.functional.cross_entropy(logits.reshape(-1, v), vy[i:i + step].reshape(-1), reduction="sum").item()
            n += vy[i:i + step].numel()
    print(f"torch {torch.__version__}: {'stateful' if stateful else 'zero state'}: validation perplexity "
          f"{math.exp(total / n):.3f} over {n} characters; one epoch in {time.time() - t0:.0f} s")

main()
