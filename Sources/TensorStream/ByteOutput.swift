import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Buffered bytes to standard output or a file. A regular file is written
/// under a temporary name beside it and renamed into place by `commit()`, so a
/// failed run never leaves a half-written file (and a killed one leaves the old
/// file). Anything else that exists (/dev/null, a FIFO, a terminal) is written
/// in place: renaming over it would replace the device.
///
/// Output gathers in a buffer of 1 MiB (larger for a single larger write); when
/// the next piece does not fit, the buffer is written by a background thread
/// while the tool fills a spare one, so encoding and the write(2) overlap on two
/// cores; `flush()` and `commit()` wait for it.
public final class ByteOutput {
    public let name: String
    private let fd: Int32
    private let finalPath: String?
    private let tempPath: String?
    /// The chunk being filled: `used` bytes of `capacity`.
    private var buffer: UnsafeMutablePointer<UInt8>
    private var used = 0
    private var capacity = ByteOutput.chunk
    private var committed = false
    /// The chunk being written in the background, if any.
    private var inFlight: ChunkWrite?
    /// A written chunk's storage, kept for the next one.
    private var spare: UnsafeMutablePointer<UInt8>?
    private var spareCapacity = 0
    /// Bytes gathered before a write(2).
    static let chunk = 1 << 20
    private static let writer = DispatchQueue(label: "recur.ByteOutput")

    /// `path` nil or "-": standard output. `binary`: the bytes are a stream or a checkpoint,
    /// which a terminal would only garble: refused there, as gzip refuses.
    public convenience init(path: String?, binary: Bool) throws {
        if binary, path == nil || path == "-" { try Self.refuseTerminal() }
        try self.init(path: path)
    }

    /// Throws when standard output is a terminal (for binary output).
    public static func refuseTerminal() throws {
        if isatty(1) != 0 {
            throw StreamError("not writing a binary stream to a terminal; redirect it (> file), pipe it (| seqinfo) or give -o FILE")
        }
    }

    /// `path` nil or "-": standard output.
    public init(path: String?) throws {
        var st = stat()
        if let path, path != "-", stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            let fd = open(path, O_WRONLY)
            guard fd >= 0 else { throw StreamError("\(path): \(String(cString: strerror(errno)))") }
            self.fd = fd
            finalPath = nil
            tempPath = nil
            name = path
        } else if let path, path != "-" {
            let temp = Self.temporaryName(path)
            let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw StreamError("\(path): \(String(cString: strerror(errno)))") }
            self.fd = fd
            finalPath = path
            tempPath = temp
            name = path
            TemporaryFiles.add(temp)
            Self.removeStale(path)
        } else {
            fd = 1
            finalPath = nil
            tempPath = nil
            name = "stdout"
        }
        buffer = .allocate(capacity: capacity)
        Self.widenPipe(fd)
    }

    /// Gives a pipe a buffer of one write (1 MiB, Linux's limit for a user) instead of
    /// 64 KiB, so that a tool and the next one in a pipeline switch 16 times less often.
    /// Best effort: anything but a pipe, or a refusal, leaves it as it is.
    static func widenPipe(_ fd: Int32) {
        #if os(Linux)
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFIFO else { return }
        let setSize: Int32 = 1031, getSize: Int32 = 1032  // F_SETPIPE_SZ, F_GETPIPE_SZ (<fcntl.h> with _GNU_SOURCE)
        if fcntl(fd, getSize) < Int32(chunk) { _ = fcntl(fd, setSize, Int32(chunk)) }
        #endif
    }

    deinit {
        inFlight?.done.wait()
        inFlight?.bytes.deallocate()
        buffer.deallocate()
        spare?.deallocate()
        if let tempPath, !committed { close(fd); unlink(tempPath); TemporaryFiles.remove(tempPath) }
        else if tempPath == nil && fd > 2 { close(fd) }
    }

    /// The temporary file beside `path`: `path.tmp-PID`, or, where that name would be
    /// too long for the file system, a short hidden name in the same folder.
    static func temporaryName(_ path: String) -> String {
        let suffix = ".tmp-\(getpid())"
        let base = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        if base.utf8.count + suffix.utf8.count <= 255 { return path + suffix }
        let dir = path.utf8.count > base.utf8.count ? String(path.dropLast(base.count)) : ""
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in base.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return dir + ".recur-" + String(h, radix: 16) + suffix
    }

    /// Removes `path.tmp-PID` files left by processes that no longer exist (killed with -9).
    static func removeStale(_ path: String) {
        let base = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        let dirPath = path.utf8.count > base.utf8.count ? String(path.dropLast(base.count)) : "./"
        guard let dir = opendir(dirPath) else { return }
        defer { closedir(dir) }
        let prefix = base + ".tmp-"
        while let entry = readdir(dir) {
            // d_name read through a pointer up to its NUL: readdir's record may be shorter than
            // struct dirent, so copying the struct (entry.pointee) can read past the buffer
            let name = String(cString: (UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!)
                .assumingMemoryBound(to: CChar.self))
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count)), pid != getpid(), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(dirPath + name) }
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
    public func write(_ s: String) throws { try write(Array(s.utf8)) }

    /// Appends `bytes` to the output buffer.
    @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        let p = try room(bytes.count)
        if let b = bytes.baseAddress { UnsafeMutableRawPointer(p).copyMemory(from: b, byteCount: bytes.count) }
        used += bytes.count
    }

    /// Room for `n` more bytes at the end of the buffer: write them there, then
    /// `advance(n)` (or less). Hands the buffer to the background writer first when
    /// the `n` bytes do not fit in it; a buffer for a write larger than a chunk is
    /// made larger.
    @inline(__always)
    public func room(_ n: Int) throws -> UnsafeMutablePointer<UInt8> {
        if used + n > capacity { try makeRoom(n) }
        return buffer + used
    }

    /// Marks `n` bytes written at `room(_:)`'s pointer as part of the output.
    @inline(__always)
    public func advance(_ n: Int) {
        precondition(used + n <= capacity)
        used += n
    }

    private func makeRoom(_ n: Int) throws {
        if used > 0 { try handOff() }
        if n > capacity {
            capacity = max(n, ByteOutput.chunk)
            buffer.deallocate()
            buffer = .allocate(capacity: capacity)
        }
    }

    /// Writes out what is buffered, and waits for the background write.
    public func flush() throws {
        try finishInFlight()
        if let message = Self.writeAll(fd, UnsafeRawBufferPointer(start: buffer, count: used)) {
            throw StreamError("\(name): write failed: \(message)")
        }
        used = 0
    }

    /// Hands the filled part of the buffer to the background writer and goes on in
    /// the spare one.
    private func handOff() throws {
        try finishInFlight()
        let job = ChunkWrite(fd: fd, bytes: buffer, count: used, capacity: capacity)
        if let spare {
            buffer = spare
            capacity = spareCapacity
            self.spare = nil
        } else {
            capacity = ByteOutput.chunk
            buffer = .allocate(capacity: capacity)
        }
        used = 0
        inFlight = job
        Self.writer.async { job.run() }
    }

    /// Waits for the chunk in flight; its storage becomes the spare buffer.
    private func finishInFlight() throws {
        guard let job = inFlight else { return }
        job.done.wait()
        inFlight = nil
        spare?.deallocate()
        spare = job.bytes
        spareCapacity = job.capacity
        if let message = job.failure { throw StreamError("\(name): write failed: \(message)") }
    }

    /// Writes all of `bytes` to `fd`; the error's description if it fails.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> String? {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return String(cString: strerror(errno))
            }
            done += n
        }
        return nil
    }

    /// Flushes and, for a file, moves it into place.
    public func commit() throws {
        try flush()
        guard let tempPath, let finalPath, !committed else { return }
        if fsync(fd) != 0 || close(fd) != 0 { throw StreamError("\(finalPath): \(String(cString: strerror(errno)))") }
        committed = true
        defer { TemporaryFiles.remove(tempPath) }
        if rename(tempPath, finalPath) != 0 {
            unlink(tempPath)
            throw StreamError("\(finalPath): \(String(cString: strerror(errno)))")
        }
    }
}

/// The temporary files being written, so that a signal handler can remove them
/// before the process dies (`removeAll` is async-signal-safe: it only calls unlink).
public enum TemporaryFiles {
    private static let capacity = 64
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: 64)
        p.initialize(repeating: nil, count: 64)
        return p
    }()

    /// Creates the registry (call before installing a signal handler that reads it).
    public static func prepare() { _ = slots }

    static func add(_ path: String) {
        for i in 0..<capacity where slots[i] == nil {
            slots[i] = strdup(path)
            return
        }
    }

    static func remove(_ path: String) {
        for i in 0..<capacity {
            if let p = slots[i], String(cString: p) == path { slots[i] = nil; free(p) }
        }
    }

    /// Unlinks every registered temporary file (from a signal handler).
    public static func removeAll() {
        for i in 0..<capacity { if let p = slots[i] { unlink(p) } }
    }
}

/// One chunk written by the background writer; read back only after `done`.
private final class ChunkWrite: @unchecked Sendable {
    let fd: Int32
    /// The chunk's storage (`capacity` bytes, owned by the ByteOutput), `count` of them to write.
    let bytes: UnsafeMutablePointer<UInt8>
    let count: Int, capacity: Int
    var failure: String?
    let done = DispatchSemaphore(value: 0)

    init(fd: Int32, bytes: UnsafeMutablePointer<UInt8>, count: Int, capacity: Int) {
        self.fd = fd; self.bytes = bytes; self.count = count; self.capacity = capacity
    }

    func run() {
        failure = ByteOutput.writeAll(fd, UnsafeRawBufferPointer(start: bytes, count: count))
        done.signal()
    }
}
