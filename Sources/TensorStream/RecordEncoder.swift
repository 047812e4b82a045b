/// Encodes one record at a time from its parts, byte for byte as `Codec.encode`
/// encodes the equal `Record`, without building the record: no dictionary, no
/// per-tensor arrays, no strings for numbers. Tools that write millions of small
/// records (charidx, tok, batch) go through it, and so does `Codec.encode`, so
/// there is one encoding.
///
///     let e = RecordEncoder()
///     e.begin(.example)
///     e.meta("id", prefix: "a.txt:", number: 12)   // keys in increasing order
///     e.tensor("x", ids)                           // tensors in stored order
///     try writer.write(e)                          // or e.end(into: &bytes)
///
/// The header and data are written into scratch buffers kept between records.
public final class RecordEncoder {
    private var header: UnsafeMutablePointer<UInt8>
    private var headerCapacity = 1024
    private var headerCount = 0
    private var data: UnsafeMutablePointer<UInt8>
    private var dataCapacity = 1 << 16
    private var dataCount = 0
    private var kind = RecordKind.example
    private var kindWritten = false
    private var metaOpen = false
    #if DEBUG
    private var lastKey = ""
    #endif

    public init() {
        header = .allocate(capacity: headerCapacity)
        data = .allocate(capacity: dataCapacity)
    }

    deinit {
        header.deallocate()
        data.deallocate()
    }

    /// Starts a record of `kind`: metadata entries, then tensors, then `end`.
    public func begin(_ kind: RecordKind) {
        headerCount = 0
        dataCount = 0
        self.kind = kind
        kindWritten = false
        metaOpen = true
        #if DEBUG
        lastKey = ""
        #endif
        put(#"{"__metadata__":{"#)
    }

    /// A metadata entry; keys must come in increasing order (`kind` is the encoder's own).
    public func meta(_ key: String, _ value: String) {
        guard key != "kind" else { return }
        self.key(key)
        putQuoted(value)
    }

    /// A metadata entry whose value is `prefix` followed by the decimal `number`
    /// ("file.txt:12", "char 35").
    public func meta(_ key: String, prefix: String, number: Int) {
        guard key != "kind" else { return }
        self.key(key)
        putQuoted(prefix)
        headerCount -= 1  // the closing quote, reopened for the number
        putDecimal(number)
        put(UInt8(ascii: "\""))
    }

    /// A tensor entry and its bytes (little-endian, row-major).
    public func tensor(_ name: String, dtype: DType, shape: some Collection<Int>, bytes: UnsafeRawBufferPointer) {
        entry(name, dtype: dtype, shape: shape, begin: dataCount, end: dataCount + bytes.count)
        if dataCount + bytes.count > dataCapacity {
            dataCapacity = max(2 * dataCapacity, dataCount + bytes.count)
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: dataCapacity)
            bigger.update(from: data, count: dataCount)
            data.deallocate()
            data = bigger
        }
        if let b = bytes.baseAddress { UnsafeMutableRawPointer(data + dataCount).copyMemory(from: b, byteCount: bytes.count) }
        dataCount += bytes.count
    }

    /// A tensor's entry in the header alone, its data at `begin..<end` of the data
    /// section, to be written by the caller (for `RecordTemplate`).
    public func entry(_ name: String, dtype: DType, shape: some Collection<Int>, begin: Int, end: Int) {
        closeMeta()
        put(UInt8(ascii: ","))
        putQuoted(name)
        put(#":{"dtype":""#)
        switch dtype {
        case .f32: put("F32")
        case .i32: put("I32")
        case .i64: put("I64")
        case .u8: put("U8")
        }
        put(#"","shape":["#)
        var first = true
        for d in shape {
            if !first { put(UInt8(ascii: ",")) }
            first = false
            putDecimal(d)
        }
        put(#"],"data_offsets":["#)
        putDecimal(begin)
        put(UInt8(ascii: ","))
        putDecimal(end)
        put("]}")
    }

    /// A one-dimensional int32 tensor of `values` (shape [count]).
    public func tensor(_ name: String, _ values: UnsafeBufferPointer<Int32>) {
        tensor(name, dtype: .i32, shape: CollectionOfOne(values.count), bytes: UnsafeRawBufferPointer(values))
    }

    /// A one-element int32 tensor (shape [1]): a class label.
    public func tensor(_ name: String, scalar: Int32) {
        withUnsafePointer(to: scalar) { tensor(name, UnsafeBufferPointer(start: $0, count: 1)) }
    }

    /// A tensor of a record.
    public func tensor(_ name: String, _ t: StreamTensor) {
        func put<T>(_ v: [T]) { v.withUnsafeBytes { tensor(name, dtype: t.dtype, shape: t.shape, bytes: $0) } }
        switch t.values {
        case .f32(let v): put(v)
        case .i32(let v): put(v)
        case .i64(let v): put(v)
        case .u8(let v): put(v)
        }
    }

    /// Ends the record and appends its bytes to `out`: the header length (u64
    /// little-endian), the header space-padded to a multiple of 8, the data.
    public func end(into out: inout [UInt8]) {
        closeHeader()
        withUnsafeBytes(of: UInt64(headerCount).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: UnsafeBufferPointer(start: header, count: headerCount))
        out.append(contentsOf: UnsafeBufferPointer(start: data, count: dataCount))
    }

    /// Ends the record and writes its bytes to `output` (as `end(into:)`).
    public func end(to output: ByteOutput) throws {
        closeHeader()
        let n = 8 + headerCount + dataCount
        let p = try output.room(n)
        UnsafeMutableRawPointer(p).storeBytes(of: UInt64(headerCount).littleEndian, as: UInt64.self)
        (p + 8).update(from: header, count: headerCount)
        (p + 8 + headerCount).update(from: data, count: dataCount)
        output.advance(n)
    }

    /// Closes the metadata and the header's object.
    private func closeObject() {
        closeMeta()
        put(UInt8(ascii: "}"))
    }

    /// Closes the header (`closeObject`) and pads it with spaces.
    private func closeHeader() {
        closeObject()
        reserve(8)
        while (8 + headerCount) % 8 != 0 { header[headerCount] = 0x20; headerCount += 1 }
    }

    // MARK: - templates

    /// Where `putDecimal` met `RecordTemplate.hole`: offsets into the header. Nil
    /// unless a template is being recorded.
    var holes: [Int]?

    /// The header so far, its object closed, not padded (for `RecordTemplate`).
    func templateHeader() -> [UInt8] {
        precondition(dataCount == 0, "RecordTemplate: tensors are entries only (`entry`), their data the caller's")
        closeObject()
        return Array(UnsafeBufferPointer(start: header, count: headerCount))
    }

    // MARK: - writing the header

    /// Opens the metadata entry `key` (after "kind" where it sorts after it).
    private func key(_ key: String) {
        precondition(metaOpen, "RecordEncoder: metadata after the first tensor")
        #if DEBUG
        assert(lastKey.isEmpty || lastKey < key, "RecordEncoder: metadata keys out of order (\(lastKey), \(key))")
        lastKey = key
        #endif
        if !kindWritten && "kind" < key { writeKind() }
        if header[headerCount - 1] != UInt8(ascii: "{") { put(UInt8(ascii: ",")) }
        putQuoted(key)
        put(UInt8(ascii: ":"))
    }

    private func writeKind() {
        kindWritten = true
        if header[headerCount - 1] != UInt8(ascii: "{") { put(UInt8(ascii: ",")) }
        switch kind {
        case .meta: put(#""kind":"meta""#)
        case .example: put(#""kind":"example""#)
        case .batch: put(#""kind":"batch""#)
        case .model: put(#""kind":"model""#)
        }
    }

    private func closeMeta() {
        guard metaOpen else { return }
        if !kindWritten { writeKind() }
        put(UInt8(ascii: "}"))
        metaOpen = false
    }

    /// Makes room for `n` more header bytes.
    @inline(__always)
    private func reserve(_ n: Int) {
        guard headerCount + n > headerCapacity else { return }
        headerCapacity = max(2 * headerCapacity, headerCount + n)
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: headerCapacity)
        bigger.update(from: header, count: headerCount)
        header.deallocate()
        header = bigger
    }

    @inline(__always)
    private func put(_ b: UInt8) {
        reserve(1)
        header[headerCount] = b
        headerCount += 1
    }

    @inline(__always)
    private func put(_ s: StaticString) {
        reserve(s.utf8CodeUnitCount)
        (header + headerCount).update(from: s.utf8Start, count: s.utf8CodeUnitCount)
        headerCount += s.utf8CodeUnitCount
    }

    private func putQuoted(_ s: String) {
        var s = s
        s.withUTF8 { u in
            reserve(Codec.quotedCapacity(u.count))
            headerCount += Codec.writeQuoted(u, to: header + headerCount)
        }
    }

    private func putDecimal(_ n: Int) {
        if n == RecordTemplate.hole, holes != nil { holes!.append(headerCount); return }
        reserve(21)
        headerCount += Self.writeDecimal(n, to: header + headerCount)
    }

    /// The number of bytes of `n` in decimal (a minus sign included).
    @inline(__always)
    static func decimalCount(_ n: Int) -> Int {
        let v = n.magnitude
        var digits = 1, power: UInt = 10
        while digits < 19 && v >= power { digits += 1; power &*= 10 }  // compares, not divisions
        if v >= power { digits += 1 }
        return n < 0 ? digits + 1 : digits
    }

    /// Writes `n` in decimal at `out` (room for 20 bytes); returns the bytes written.
    @inline(__always)
    static func writeDecimal(_ n: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let count = decimalCount(n)
        if n < 0 { out[0] = UInt8(ascii: "-") }
        var v = n.magnitude
        // two digits per division, from the right
        let pairs = digitPairs.utf8Start
        var i = count
        while v >= 10 {
            let r = Int(v % 100)
            v /= 100
            i -= 2
            out[i] = pairs[2 * r]
            out[i + 1] = pairs[2 * r + 1]
        }
        if i > (n < 0 ? 1 : 0) { out[i - 1] = UInt8(ascii: "0") + UInt8(v) }  // an odd count: the first digit alone
        return count
    }

    /// "00", "01", … "99", one after another.
    private static let digitPairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
}

extension StreamWriter {
    /// Ends `encoder`'s record and writes it.
    public func write(_ encoder: RecordEncoder) throws {
        try encoder.end(to: output)
    }
}
