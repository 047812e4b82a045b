// libFuzzer entry point for checkpoint loading (the spec, optimiser and training-state
// JSON in the metadata, and the tensors): any bytes must give a checkpoint or a
// StreamError, never a crash, trap, hang or runaway allocation. A checkpoint that loads
// must write itself back and run one forward pass. Built and run by scripts/fuzz.
import Models
import Tensor
import TensorStream

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        guard let r = try RecordReader.read(try ByteInput(bytes: bytes, name: "fuzz"), number: 1) else { return 0 }
        let ckpt = try Checkpoint(r, source: "fuzz")
        _ = try ckpt.record(optimizerState: ckpt.restoredOptimizer())
        let spec = ckpt.model.spec
        guard spec.parameterEstimate < 5e6 else { return 0 }  // loading was the point; keep each run fast
        // steps that reach the head: a flatten head's own count, before the pooling layers
        var T = spec.head == .flatten ? max(spec.flattenSteps, 1) : 3
        if let pool = spec.pool { for _ in spec.hidden { T = (T - 1) * pool[1] + pool[0] } }
        guard T <= 1 << 16 else { return 0 }
        var b = Batch(batchSize: 1, steps: T, lengths: [T])
        if spec.input == .ids { b.ids = [Int32](repeating: 0, count: T) }
        else { b.floats = Tensor([Float](repeating: 0.5, count: T * spec.features), shape: [1, T, spec.features]) }
        _ = try? ckpt.model.forward(b)
    } catch is StreamError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}
