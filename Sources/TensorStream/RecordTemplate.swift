/// The header of records that differ from one another only in a few decimal
/// numbers (an id's number, a length, data offsets): built once by the
/// `RecordEncoder`, with `hole` where a number will go, then written record
/// after record with the numbers filled in, byte for byte what the encoder
/// would write for the same record.
///
///     let t = RecordTemplate(.example) { e in
///         e.meta("id", prefix: "char ", number: RecordTemplate.hole)
///         e.entry("x", dtype: .i32, shape: [35], begin: 0, end: 140)
///     }
///     try t.write([start], to: output)                // the header,
///     try output.write(UnsafeRawBufferPointer(x))    // then the 140 data bytes
public struct RecordTemplate {
    /// Marks a number to be filled in at each record.
    public static let hole = Int.min

    /// The header's bytes without the numbers of the holes (object closed, not padded).
    private let bytes: [UInt8]
    /// Where each hole's number goes in `bytes`, in increasing order.
    private let holes: [Int]

    /// Records `build`'s calls on an encoder begun with `kind`; each `hole` given as a
    /// number (metadata number, tensor shape or data offset) becomes a hole.
    public init(_ kind: RecordKind, _ build: (RecordEncoder) -> Void) {
        let e = RecordEncoder()
        e.begin(kind)
        e.holes = []
        build(e)
        bytes = e.templateHeader()
        holes = e.holes!
    }

    /// Writes the header-length word and the header, its holes filled with `numbers`
    /// in order, to `output`. The record's data (as many bytes as its offsets say)
    /// is the caller's to write next.
    @inline(__always)
    public func write(_ numbers: [Int], to output: ByteOutput) throws {
        precondition(numbers.count == holes.count, "RecordTemplate: \(holes.count) numbers expected")
        var length = bytes.count
        for n in numbers { length += RecordEncoder.decimalCount(n) }
        let padded = (length + 7) & ~7
        let p = try output.room(8 + padded)
        UnsafeMutableRawPointer(p).storeBytes(of: UInt64(padded).littleEndian, as: UInt64.self)
        var at = 8, from = 0
        bytes.withUnsafeBufferPointer { b in
            for (k, hole) in holes.enumerated() {
                (p + at).update(from: b.baseAddress! + from, count: hole - from)
                at += hole - from
                from = hole
                at += RecordEncoder.writeDecimal(numbers[k], to: p + at)
            }
            (p + at).update(from: b.baseAddress! + from, count: b.count - from)
            at += b.count - from
        }
        (p + at).update(repeating: 0x20, count: 8 + padded - at)
        output.advance(8 + padded)
    }
}
