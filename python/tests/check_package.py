"""The recur package against the tools (run by Tests/ToolTests/PythonPackageTests.swift).

    python3 check_package.py CKPT STREAM OUTDIR

Reads STREAM (examples of one length) and CKPT; writes OUTDIR/roundtrip.ckpt (the module
saved back) and OUTDIR/model.onnx; prints one JSON object: the example ids and the logits
of the torch module and of onnxruntime, for the Swift test to compare with predict's.
"""
import json
import os
import sys

import numpy as np
import onnxruntime
import torch

import recur

ckpt, stream, outdir = sys.argv[1:4]
meta, examples = recur.read_stream(stream)
info = recur.read_checkpoint(ckpt)
assert info.vocab == meta.get("vocab") and info.classes == meta.get("classes"), "vocab/classes differ"
x = np.stack([e["x"] for e in examples])
x = x.astype(np.int64) if x.dtype.kind == "i" else x.astype(np.float32)
if x.ndim == 2 and info.spec["input"] == "floats":
    x = x[:, :, None]

model, _ = recur.load_checkpoint(ckpt)
with torch.no_grad():
    torch_logits = model(torch.from_numpy(x)).reshape(len(examples), -1).numpy()

recur.save_checkpoint(model, os.path.join(outdir, "roundtrip.ckpt"), like=ckpt)
onnx_path = recur.export_onnx(ckpt, os.path.join(outdir, "model.onnx"), steps=x.shape[1])
session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
onnx_logits = session.run(["logits"], {"x": x})[0].reshape(len(examples), -1)

print(json.dumps({"ids": [e.get("id", str(i + 1)) for i, e in enumerate(examples)],
                  "torch": torch_logits.tolist(), "onnx": onnx_logits.tolist()}))
