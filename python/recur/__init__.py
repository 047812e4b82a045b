"""recur's tensor streams and checkpoints from Python (see README.md)."""
from .stream import records, read_stream, write_record
from .checkpoint import CheckpointInfo, load_checkpoint, save_checkpoint, read_checkpoint

__all__ = ["records", "read_stream", "write_record", "CheckpointInfo", "load_checkpoint", "save_checkpoint",
           "read_checkpoint", "RecurModel", "export_onnx"]
__version__ = "0.3.0"


def __getattr__(name):  # torch is only needed for modules and ONNX
    if name == "RecurModel":
        from .model import RecurModel
        return RecurModel
    if name == "export_onnx":
        from .onnx import export_onnx
        return export_onnx
    raise AttributeError(name)
