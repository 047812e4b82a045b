"""ONNX export of a recur checkpoint: every sequence runs its full T steps."""


def export_onnx(checkpoint, path, steps=None, batch=1, opset=17):
    """Writes `checkpoint` (a path, or a RecurModel) as ONNX: input "x" [B, T] int64 ids or
    [B, T, F] float32 features, output "logits" [B, outputs] or [B, T, outputs]. B is
    dynamic, and T too unless the head flattens a fixed number of steps. `steps`: T of the
    example input (default: the spec's, or 16)."""
    import torch
    from .checkpoint import load_checkpoint
    model = load_checkpoint(checkpoint)[0] if isinstance(checkpoint, str) else checkpoint.eval()
    spec = model.spec
    T = steps or 16
    if spec["input"] == "ids":
        x = torch.zeros(batch, T, dtype=torch.long)
    else:
        x = torch.zeros(batch, T, spec["features"], dtype=torch.float32)
    axes = {0: "batch"} if spec["head"] == "flatten" else {0: "batch", 1: "steps"}
    out_axes = {0: "batch"} if spec["head"] != "step" else {0: "batch", 1: "steps"}

    class Full(torch.nn.Module):  # no lengths: the graph has no packing
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x)

    torch.onnx.export(Full(model), (x,), path, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": axes, "logits": out_axes}, opset_version=opset, dynamo=False)
    return path
