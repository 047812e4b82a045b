/// Examples held as their record bytes, one after another in one block, and cut
/// into padded batch records: what `batch` holds instead of a `Record` per example
/// (a dictionary, arrays and strings each), so that millions of small examples cost
/// their bytes and an offset each. The batches are byte for byte those of
/// `Padding.batch`.
public final class ExamplePool {
    /// The examples' records, one after another.
    private var bytes = [UInt8]()
    /// Where each example starts in the block.
    private var starts = [Int]()
    /// Each example's steps (x's first axis; 0 without x), for ordering by length.
    public private(set) var steps = [Int]()
    private let encoder = RecordEncoder()
    /// Each example's header as read, when kept (else read again when written).
    private var headers: [ExampleHeader]?

    /// A pool; `keepsHeaders`: keep each example's parsed header (~250 bytes) rather
    /// than read it again when writing its batch, for pools that hold a batch or a
    /// bucket's worth at a time.
    public init(keepsHeaders: Bool = false) {
        if keepsHeaders { headers = [] }
    }

    /// The number of examples held.
    public var count: Int { starts.count }

    /// Room for `bytes` of records without copying as the block grows.
    public func reserve(bytes: Int) { self.bytes.reserveCapacity(bytes) }

    /// Reads the next example of `reader` into the pool as example `count - 1`;
    /// false at the end of the stream. A record of another kind is an error.
    public func read(_ reader: StreamReader) throws -> Bool {
        let start = bytes.count
        guard let h = try reader.nextExample(into: &bytes) else { return false }
        starts.append(start)
        steps.append(h.x.map { $0.shape.count > 0 ? $0.shape[0] : 0 } ?? 0)
        headers?.append(h)
        return true
    }

    /// Keeps the examples `a` then `b`, numbered in that order from 0 (`a` and `b`
    /// renumbered in place), and frees the bytes of the others.
    public func compact(_ a: inout [Int], _ b: inout [Int]) {
        var live = [UInt8]()
        var newStarts = [Int](), newSteps = [Int](), newHeaders = headers.map { _ in [ExampleHeader]() }
        newStarts.reserveCapacity(a.count + b.count)
        newSteps.reserveCapacity(a.count + b.count)
        newHeaders?.reserveCapacity(a.count + b.count)
        bytes.withUnsafeBufferPointer { all in
            func move(_ list: inout [Int]) {
                for k in list.indices {
                    let i = list[k]
                    list[k] = newStarts.count
                    newStarts.append(live.count)
                    newSteps.append(steps[i])
                    newHeaders?.append(headers![i])
                    live.append(contentsOf: UnsafeBufferPointer(rebasing: all[record(i, in: all.count)]))
                }
            }
            move(&a)
            move(&b)
        }
        bytes.removeAll(keepingCapacity: true)  // the block keeps its size: no regrowing
        bytes += live
        // the arrays keep their room too (a header array freed and grown again on every
        // batch went through mmap and page faults)
        starts.removeAll(keepingCapacity: true)
        starts += newStarts
        steps.removeAll(keepingCapacity: true)
        steps += newSteps
        if let newHeaders {
            headers!.removeAll(keepingCapacity: true)
            headers! += newHeaders
        }
    }

    /// Hands example `i`'s record bytes to `body` (to ask for them ahead of use).
    public func withRecordBytes<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { all in try body(UnsafeRawBufferPointer(rebasing: all[record(i, in: all.count)])) }
    }

    /// Where example `i`'s record lies in the block of `total` bytes: the records are
    /// one after another in the order of their indices.
    private func record(_ i: Int, in total: Int) -> Range<Int> {
        starts[i]..<(i + 1 < starts.count ? starts[i + 1] : total)
    }

    /// The header of example `i`: kept, or read again (it was checked when read).
    private func header(_ i: Int, _ all: UnsafeBufferPointer<UInt8>) -> ExampleHeader {
        if let headers { return headers[i] }
        guard let h = ExampleHeader.parse(UnsafeBufferPointer(rebasing: all[starts[i]...])) else {
            preconditionFailure("an example of the pool no longer parses")
        }
        return h
    }

    /// Writes the examples `group` (indices, in batch order) to `output` as one batch
    /// record: x [B, T, …] padded with `pad` (integers) or 0 (floats), len [B], y [B]
    /// or [B, T, …] padded with -100 (integers) or 0, ids in the metadata.
    public func writeBatch(_ group: [Int], pad: Int32, to output: ByteOutput) throws {
        try bytes.withUnsafeBufferPointer { all in
            let headers = group.map { header($0, all) }
            let records = group.map { UnsafeBufferPointer(rebasing: all[starts[$0]...]) }
            /// The example's id for messages.
            func name(_ k: Int) -> String {
                guard let id = headers[k].id else { return "?" }
                return ExampleHeader.text(records[k], id)
            }
            guard let x0 = headers[0].x else { throw StreamError("example \(name(0)) has no x") }
            guard let inner = x0.shape.elementCount(from: 1) else {
                throw StreamError("example \(name(0)): x \(x0.shape.array) has too many elements a step")
            }
            var tMax = 0
            for (k, h) in headers.enumerated() {
                guard let x = h.x, x.dtype == x0.dtype, x.shape.count >= 1, x.shape.sameInner(x0.shape) else {
                    let found = h.x.map { "\($0.dtype.rawValue) \($0.shape.array)" } ?? "missing"
                    let axes = x0.shape.array.dropFirst().map(String.init).joined(separator: ", ")
                    throw StreamError("example \(name(k)): x \(found) does not match the first example's \(x0.dtype.rawValue) [T, \(axes)]")
                }
                guard x.shape[0] <= 1 << 24, (1..<x.shape.count).allSatisfy({ x.shape[$0] >= 1 }) else {
                    throw StreamError("example \(name(k)): x \(x.shape.array) has too many steps or an empty axis")
                }
                guard Self.fitsInt32(records[k], x) else {
                    throw StreamError("example \(name(k)): x holds a value outside the 32-bit integer range")
                }
                tMax = Swift.max(tMax, x.shape[0])
            }
            try Padding.checkSize(examples: group.count, steps: tMax, inner: inner)
            let y0 = headers[0].y
            // a class per example when every y is [1]; else per step, each y [T_i, …] with T_i ≤ tMax
            let perExample = headers.allSatisfy { $0.y?.shape == Dims([1]) }
            var yInner = 1
            if let y0 {
                if !perExample {
                    guard let n = y0.shape.elementCount(from: 1) else {
                        throw StreamError("example \(name(0)): y \(y0.shape.array) has too many elements a step")
                    }
                    yInner = n
                    try Padding.checkSize(examples: group.count, steps: tMax, inner: yInner)
                }
                for (k, h) in headers.enumerated() {
                    guard let y = h.y, y.dtype == y0.dtype, y.shape.count == y0.shape.count,
                          perExample ? y.shape == y0.shape : y.shape.count >= 1 && y.shape.sameInner(y0.shape) && y.shape[0] <= tMax else {
                        throw StreamError("example \(name(k)): y does not match the first example's")
                    }
                    guard Self.fitsInt32(records[k], y) || (perExample && group.count == 1) else {
                        throw StreamError("example \(name(k)): y holds a value outside the 32-bit integer range")
                    }
                }
            }

            // the header
            let e = encoder
            e.begin(.batch)
            e.meta("ids", idList(headers, records))
            let b = group.count
            let xOut: DType = x0.dtype == .f32 ? .f32 : .i32
            var at = 0
            e.entry("x", dtype: xOut, shape: [b, tMax] + x0.shape.array.dropFirst(), begin: at, end: at + 4 * b * tMax * inner)
            at += 4 * b * tMax * inner
            e.entry("len", dtype: .i32, shape: CollectionOfOne(b), begin: at, end: at + 4 * b)
            at += 4 * b
            var yOut = DType.i32
            if let y0 {
                if perExample {
                    yOut = b == 1 ? y0.dtype : y0.dtype == .f32 ? .f32 : .i32  // one example keeps its type, as Padding.batch
                    e.entry("y", dtype: yOut, shape: CollectionOfOne(b), begin: at, end: at + yOut.size * b)
                } else {
                    yOut = y0.dtype == .f32 ? .f32 : .i32
                    e.entry("y", dtype: yOut, shape: [b, tMax] + y0.shape.array.dropFirst(), begin: at, end: at + 4 * b * tMax * yInner)
                }
            }
            try e.end(to: output)

            // the data
            for (k, h) in headers.enumerated() {
                let x = h.x!
                try Self.write(records[k], x, steps: tMax * inner, pad: xOut == .f32 ? 0 : pad, as: xOut, to: output)
            }
            let len = try output.room(4 * b)
            for (k, h) in headers.enumerated() {
                UnsafeMutableRawPointer(len).storeBytes(of: Int32(h.x!.shape[0]).littleEndian, toByteOffset: 4 * k, as: Int32.self)
            }
            output.advance(4 * b)
            if y0 != nil {
                for (k, h) in headers.enumerated() {
                    try Self.write(records[k], h.y!, steps: perExample ? 1 : tMax * yInner, pad: yOut == .f32 ? 0 : -100, as: yOut, to: output)
                }
            }
        }
    }

    /// The ids as a JSON list (`StreamMeta.list`), "" for an example without one.
    private func idList(_ headers: [ExampleHeader], _ records: [UnsafeBufferPointer<UInt8>]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(2 + headers.reduce(0) { $0 + 3 + ($1.id?.count ?? 0) })
        bytes.append(UInt8(ascii: "["))
        for (k, h) in headers.enumerated() {
            if k > 0 { bytes.append(UInt8(ascii: ",")) }
            if let id = h.id, h.idEscaped {
                Codec.appendQuoted(ExampleHeader.text(records[k], id), to: &bytes)
            } else {
                // a literal without escapes holds no quote, backslash or control character
                bytes.append(UInt8(ascii: "\""))
                if let id = h.id { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: records[k][id])) }
                bytes.append(UInt8(ascii: "\""))
            }
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether the values of `part` fit in 32 bits (only I64 values may not).
    private static func fitsInt32(_ record: UnsafeBufferPointer<UInt8>, _ part: ExampleHeader.Part) -> Bool {
        guard part.dtype == .i64 else { return true }
        let src = UnsafeRawPointer(record.baseAddress! + part.bytes.lowerBound)
        return (0..<(part.bytes.count / 8)).allSatisfy {
            Int32(exactly: Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) != nil
        }
    }

    /// Writes the elements of `part` as `type` (F32 or I32; I32 from I64 values that
    /// fit, U8 or I32), then `pad` up to `steps` elements. `type` U8 or I64: the part
    /// as it is (a single example's class). Records may start anywhere (a U8 class
    /// makes one of odd length), so nothing here assumes alignment.
    private static func write(_ record: UnsafeBufferPointer<UInt8>, _ part: ExampleHeader.Part, steps: Int, pad: Int32,
                              as type: DType, to output: ByteOutput) throws {
        let n = part.bytes.count / part.dtype.size
        let src = UnsafeRawPointer(record.baseAddress! + part.bytes.lowerBound)
        if type == part.dtype && (type != .f32 && type != .i32) {
            try output.write(UnsafeRawBufferPointer(start: src, count: part.bytes.count))
            return
        }
        let dst = UnsafeMutableRawPointer(try output.room(4 * steps))
        switch part.dtype {
        case .f32, .i32:
            dst.copyMemory(from: src, byteCount: 4 * n)
        case .u8:
            for j in 0..<n { dst.storeBytes(of: Int32(src.load(fromByteOffset: j, as: UInt8.self)).littleEndian, toByteOffset: 4 * j, as: Int32.self) }
        case .i64:
            for j in 0..<n {
                let v = Int32(truncatingIfNeeded: Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * j, as: Int64.self)))
                dst.storeBytes(of: v.littleEndian, toByteOffset: 4 * j, as: Int32.self)
            }
        }
        if type == .f32 || pad == 0 {
            (dst + 4 * n).initializeMemory(as: UInt8.self, repeating: 0, count: 4 * (steps - n))
        } else {
            for j in n..<steps { dst.storeBytes(of: pad.littleEndian, toByteOffset: 4 * j, as: Int32.self) }
        }
        output.advance(4 * steps)
    }
}
