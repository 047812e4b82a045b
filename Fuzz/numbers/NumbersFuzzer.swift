// libFuzzer entry point for num2seq's inputs: IDX headers and CSV/TSV rows of numbers
// with each kind of label column. Any bytes must give values or a ToolError, never a
// crash, a trap or a non-finite value. Built and run by scripts/fuzz.
import TensorStream
import ToolKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNumbers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let (dims, body) = try? IDX.parse(bytes, name: "fuzz") {
        precondition(body.count == dims.reduce(1, *))
    }
    do {
        var lines = TextLines([try ByteInput(bytes: bytes, name: "fuzz")])
        let columns: [NumberRow.LabelColumn] = [.none, .first, .last, .index(size % 5)]
        while let line = try lines.nextLine() {
            for c in columns {
                guard let row = try? NumberRow(line.text, label: c, place: line.place) else { continue }
                precondition(!row.values.isEmpty && row.values.allSatisfy(\.isFinite))
            }
        }
    } catch is ToolError {
    } catch is StreamError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}
