// libFuzzer entry point for the stream reader: any bytes must give records or
// a StreamError, never a crash, trap, hang or runaway allocation.
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
    return 0
}
