// libFuzzer entry point for the stream reader: any bytes must give records or
// a StreamError, never a crash, trap, hang or runaway allocation; and the same
// through batching's path (ExamplePool: lean header parse, batches written,
// compaction).
// Built and run by scripts/fuzz.
import TensorStream

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStream(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let reader = try StreamReader(try ByteInput(bytes: bytes, name: "fuzz"))
        var n = 0
        while let r = try reader.next() {
            n += r.tensors.count
            _ = Codec.encode(r)  // everything read can be written back
        }
        _ = n
    } catch is StreamError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    do {
        let reader = try StreamReader(try ByteInput(bytes: bytes, name: "fuzz"))
        let pool = ExamplePool(keepsHeaders: size % 2 == 0)
        while try pool.read(reader) {}
        let out = try ByteOutput(path: "/dev/null")
        for size in [1, 3] {
            for start in stride(from: 0, to: pool.count, by: size) {
                do { try pool.writeBatch(Array(start..<min(start + size, pool.count)), pad: 7, to: out) } catch is StreamError {}
            }
        }
        var a = Array(stride(from: 0, to: pool.count, by: 2)), b = Array(stride(from: 1, to: pool.count, by: 4)).reversed().map { $0 }
        pool.compact(&a, &b)
        if pool.count > 0 { do { try pool.writeBatch(Array((0..<pool.count).reversed()), pad: 0, to: out) } catch is StreamError {} }
        try out.commit()
    } catch is StreamError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}
