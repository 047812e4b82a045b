#!/usr/bin/env python3
"""The PyTorch module equivalent to a recur checkpoint, and a check that it loads.

    python3 scripts/reference_model.py CKPT BATCH_STREAM     # prints the logits of the stream's first batch as JSON

The module is python/recur's `RecurModel` (torch.nn layers named as recur names its
parameters: emb, rnn or rnn1..rnnN, fc); `load_checkpoint` loads the checkpoint's
tensors (minus `optim.*` and `state.*`) with load_state_dict(strict=True).
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import torch  # noqa: E402

from recur import load_checkpoint, records  # noqa: E402

if __name__ == "__main__":
    model, _ = load_checkpoint(sys.argv[1])
    b = next(t for kind, _, t in records(sys.argv[2]) if kind == "batch")
    x = torch.from_numpy(b["x"])
    x = x.long() if not x.is_floating_point() else (x.unsqueeze(-1) if x.dim() == 2 else x)
    with torch.no_grad():
        y = model(x, torch.from_numpy(b["len"]).long())
    print(json.dumps(y.reshape(-1).tolist()))
