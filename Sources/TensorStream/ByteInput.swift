import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// Bytes from a file or standard input, read forward only (pipes work), with
/// gzip input inflated transparently (detected by its magic bytes, not the name).
public final class ByteInput {
    /// Name used in error messages ("-" reads as "stdin").
    public let name: String
    /// Uncompressed bytes consumed so far.
    public private(set) var offset = 0

    private let fd: Int32
    private let ownsFD: Bool
    private var raw = [UInt8](repeating: 0, count: 1 << 16)   // bytes read from fd
    private var rawStart = 0, rawEnd = 0
    private var buffer = [UInt8](repeating: 0, count: 1 << 16) // decoded bytes
    private var start = 0, end = 0
    /// zlib keeps a pointer back to its stream, so it lives at a fixed address.
    private var z: UnsafeMutablePointer<z_stream>? = nil
    private var rawEOF = false, zDone = false
    /// Whether the input is a regular file (not a pipe, FIFO, terminal or socket).
    public let isRegularFile: Bool
    /// The size of a regular file in bytes (compressed, for gzip), to size buffers by.
    public let fileSize: Int?
    /// Called before a read that would wait: on a pipe, FIFO or terminal with no bytes
    /// ready. A tool flushes its answers here, so that a line typed into a pipe is
    /// answered before the next one arrives, while a busy pipe is still read in bulk.
    public var onIdle: (() throws -> Void)?

    /// Opens `path` ("-" or nil: standard input).
    public init(path: String?) throws {
        if let path, path != "-" {
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw StreamError("\(path): \(String(cString: strerror(errno)))") }
            var st = stat()
            let known = fstat(fd, &st) == 0
            if known && (st.st_mode & S_IFMT) == S_IFDIR {
                close(fd)
                throw StreamError("\(path): is a directory")
            }
            isRegularFile = known && (st.st_mode & S_IFMT) == S_IFREG
            fileSize = isRegularFile ? Int(st.st_size) : nil
            self.fd = fd
            ownsFD = true
            name = path
        } else {
            fd = 0
            ownsFD = false
            name = "stdin"
            var st = stat()
            isRegularFile = fstat(0, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
            fileSize = isRegularFile ? Int(st.st_size) : nil
        }
        try startDecoding()
    }

    /// Reads from bytes in memory (tests, fuzzing); gzip is detected as for files.
    public init(bytes: [UInt8], name: String = "memory") throws {
        fd = -1
        ownsFD = false
        isRegularFile = true
        fileSize = bytes.count
        self.name = name
        raw = bytes
        rawEnd = bytes.count
        rawEOF = true
        try startDecoding()
    }

    private func startDecoding() throws {
        try fillRaw()
        if rawEnd - rawStart >= 2 && raw[rawStart] == 0x1f && raw[rawStart + 1] == 0x8b {
            let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            s.initialize(to: z_stream())
            guard inflateInit2_(s, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                s.deallocate()
                throw StreamError("\(name): cannot start gzip decoder")
            }
            z = s
        }
    }

    deinit {
        if let z { inflateEnd(z); z.deallocate() }
        if ownsFD { close(fd) }
    }

    /// Whether the input is gzip-compressed.
    public var isCompressed: Bool { z != nil }

    private func fillRaw() throws {
        if rawStart == rawEnd && !rawEOF { rawStart = 0; rawEnd = 0 }
        guard !rawEOF, rawEnd < raw.count else { return }
        if let onIdle, !isRegularFile, fd >= 0 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 0) == 0 { try onIdle() }
        }
        let n = raw.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + rawEnd, $0.count - rawEnd) }
        if n < 0 { throw StreamError("\(name): read failed: \(String(cString: strerror(errno)))") }
        if n == 0 { rawEOF = true }
        rawEnd += n
    }

    /// Reads until `n` raw bytes are buffered or the input ends (moving what is left to the front).
    private func ensureRaw(_ n: Int) throws {
        while rawEnd - rawStart < n && !rawEOF {
            if rawStart > 0 {
                raw.withUnsafeMutableBufferPointer { p in
                    _ = memmove(p.baseAddress!, p.baseAddress! + rawStart, rawEnd - rawStart)
                }
                rawEnd -= rawStart
                rawStart = 0
            }
            try fillRaw()
        }
    }

    /// Refills `buffer`; returns false at end of input.
    private func fill() throws -> Bool {
        start = 0; end = 0
        if z == nil {
            if rawStart == rawEnd { try fillRaw() }
            if rawStart == rawEnd { return false }
            swap(&raw, &buffer)
            (start, end) = (rawStart, rawEnd)
            (rawStart, rawEnd) = (0, 0)
            if raw.count < (1 << 16) { raw = [UInt8](repeating: 0, count: 1 << 16) }
            return true
        }
        while end == 0 {
            if zDone {
                // concatenated gzip members continue (as zcat reads them); anything else is an error
                try ensureRaw(2)
                if rawStart == rawEnd { return false }
                guard rawEnd - rawStart >= 2, raw[rawStart] == 0x1f, raw[rawStart + 1] == 0x8b else {
                    throw StreamError("\(name): data after the end of the gzip stream (after uncompressed byte \(offset + end)): not another gzip member")
                }
                guard inflateReset(z) == Z_OK else { throw StreamError("\(name): gzip reset failed") }
                zDone = false
            }
            if rawStart == rawEnd { try fillRaw() }
            if rawStart == rawEnd && rawEOF {
                throw StreamError("\(name): truncated gzip data at compressed byte \(offset)")
            }
            guard let z else { return false }
            let (status, used, made) = raw.withUnsafeMutableBufferPointer { rb in
                buffer.withUnsafeMutableBufferPointer { ob -> (Int32, Int, Int) in
                    z.pointee.next_in = rb.baseAddress! + rawStart
                    z.pointee.avail_in = UInt32(rawEnd - rawStart)
                    z.pointee.next_out = ob.baseAddress!
                    z.pointee.avail_out = UInt32(ob.count)
                    let st = inflate(z, Z_NO_FLUSH)
                    return (st, rawEnd - rawStart - Int(z.pointee.avail_in), ob.count - Int(z.pointee.avail_out))
                }
            }
            rawStart += used
            end = made
            if status == Z_STREAM_END { zDone = true; if end == 0 { continue } }
            else if status != Z_OK && status != Z_BUF_ERROR {
                throw StreamError("\(name): corrupt gzip data near uncompressed byte \(offset)")
            }
            if status == Z_BUF_ERROR && used == 0 && made == 0 && rawEOF {
                throw StreamError("\(name): truncated gzip data")
            }
        }
        return true
    }

    /// Reads up to `count` bytes into `out`; returns how many (fewer only at the end of input).
    public func read(_ count: Int, into out: inout [UInt8]) throws -> Int {
        var got = 0
        while got < count {
            if start == end { if try !fill() { break } }
            let n = min(count - got, end - start)
            out.append(contentsOf: buffer[start..<(start + n)])
            start += n
            got += n
        }
        offset += got
        return got
    }

    /// The next line without its terminator ("\n" or "\r\n"), or nil at the end.
    public func readLine() throws -> [UInt8]? {
        var line = [UInt8]()
        var sawAny = false
        while true {
            if start == end { if try !fill() { break } }
            sawAny = true
            if let nl = buffer[start..<end].firstIndex(of: 10) {
                line.append(contentsOf: buffer[start..<nl])
                offset += nl + 1 - start
                start = nl + 1
                if line.last == 13 { line.removeLast() }
                return line
            }
            line.append(contentsOf: buffer[start..<end])
            offset += end - start
            start = end
        }
        return sawAny && !line.isEmpty ? line : nil
    }

    /// Hands the next `count` bytes (fewer only at the end of the input) to `body`:
    /// in place when they lie within the buffer, gathered otherwise. For small
    /// reads (headers, the data of small records); the bytes are valid only during `body`.
    public func withNextBytes<R>(_ count: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
        if end - start >= count {
            let first = start
            start += count
            offset += count
            return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[first..<(first + count)])) }
        }
        var bytes = [UInt8]()
        _ = try read(count, into: &bytes)
        return try bytes.withUnsafeBufferPointer(body)
    }

    /// Hands each remaining line, without its terminator ("\n" or "\r\n"), to `body`
    /// in place: the lines that lie within the buffer go without a copy, one after
    /// another. The bytes are valid only during `body`.
    public func forEachLine(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        while true {
            if start < end {
                let (first, last) = (start, end)
                let next = try buffer.withUnsafeBufferPointer { b -> Int in
                    let base = b.baseAddress!
                    var s = first
                    while s < last, let found = memchr(base + s, 10, last - s) {
                        let nl = UnsafePointer(found.assumingMemoryBound(to: UInt8.self)) - base
                        let e = nl > s && base[nl - 1] == 13 ? nl - 1 : nl
                        try body(UnsafeBufferPointer(start: base + s, count: e - s))
                        s = nl + 1
                    }
                    return s
                }
                offset += next - start
                start = next
            }
            // a line across the end of the buffer, or an empty buffer
            guard let line = try readLine() else { return }
            try line.withUnsafeBufferPointer(body)
        }
    }

    /// Everything left.
    public func readAll() throws -> [UInt8] {
        var out = [UInt8]()
        while try read(1 << 20, into: &out) == 1 << 20 {}
        return out
    }
}
