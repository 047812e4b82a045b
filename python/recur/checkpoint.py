"""recur checkpoints: one `model` record whose tensors are the module's state_dict."""
import json
from dataclasses import dataclass, field

import numpy as np

from .stream import records, write_record

FORMAT = "recur-checkpoint-1"
#: Metadata that describes the training run, not the data: not carried over by `like`.
RUN_FIELDS = {"format", "spec", "optimizer", "train", "optim_step", "kind", "tools", "recur_version"}


@dataclass
class CheckpointInfo:
    spec: dict
    #: The data's meta fields (vocab, classes, task, front-end), lists decoded.
    meta: dict
    #: Parameters by state_dict name (numpy), without optimiser moments and carried state.
    parameters: dict = field(default_factory=dict)
    #: Everything in the record's metadata, as stored.
    raw: dict = field(default_factory=dict)

    @property
    def vocab(self):
        return self.meta.get("vocab")

    @property
    def classes(self):
        return self.meta.get("classes")


def _decode(v):
    if isinstance(v, str) and v.startswith("["):
        try:
            return json.loads(v)
        except ValueError:
            pass
    return v


def read_checkpoint(path):
    """A checkpoint's spec, data meta and parameters, without torch."""
    for kind, md, tensors in records(path):
        if kind != "model":
            continue
        if md.get("format") != FORMAT:
            raise ValueError(f"{path}: not a recur checkpoint (format {md.get('format')!r})")
        meta = {k: _decode(v) for k, v in md.items() if k not in RUN_FIELDS}
        params = {k: v for k, v in tensors.items() if not k.startswith(("optim.", "state."))}
        return CheckpointInfo(json.loads(md["spec"]), meta, params, dict(md))
    raise ValueError(f"{path}: no model record")


def load_checkpoint(path):
    """(module, info): the checkpoint as a `RecurModel` in eval mode (strict state_dict load)."""
    import torch
    from .model import RecurModel
    info = read_checkpoint(path)
    model = RecurModel(info.spec)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in info.parameters.items()}, strict=True)
    return model.eval(), info


def _meta_of(like):
    """The data meta of a checkpoint or of a stream's meta record."""
    for kind, md, _ in records(like):
        if kind == "model":
            return json.loads(md["spec"]), {k: v for k, v in md.items() if k not in RUN_FIELDS}
        if kind == "meta":
            return None, {k: v for k, v in md.items() if k not in RUN_FIELDS}
    raise ValueError(f"{like}: neither a checkpoint nor a stream with a meta record")


def save_checkpoint(model, path, like=None, spec=None, meta=None):
    """Writes `model` (a module or a state_dict with recur's parameter names) as a recur
    checkpoint that predict, ppl, sample and fit --resume take. The spec comes from
    `spec` or `model.spec` or `like`; the data's meta (vocab, classes, task, front-end)
    from `like` (a checkpoint or a stream), then `meta` (lists allowed) over it."""
    from .model import make_spec
    like_spec, data = _meta_of(like) if like else (None, {})
    spec = spec or getattr(model, "spec", None) or like_spec
    if spec is None:
        raise ValueError("give spec=, a module with .spec, or like= a checkpoint")
    spec = make_spec(**spec)
    for k, v in (meta or {}).items():
        data[k] = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    data.setdefault("task", spec["task"])
    state = model.state_dict() if hasattr(model, "state_dict") else model
    tensors = {}
    for name, t in state.items():
        a = t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)
        tensors[name] = a.astype(np.float32)
    md = dict(data)
    md["format"] = FORMAT
    md["spec"] = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    md["recur_version"] = "python 0.3.0"
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        write_record(f, "model", tensors, md)
    import os
    os.replace(tmp, path)
