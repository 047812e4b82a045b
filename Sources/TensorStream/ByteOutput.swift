#if canImport(Glibc)
import Glibc
#endif

/// Buffered bytes to standard output or a file. A regular file is written
/// under a temporary name beside it and renamed into place by `commit()`, so a
/// failed run never leaves a half-written file (and a killed one leaves the old
/// file). Anything else that exists (/dev/null, a FIFO, a terminal) is written
/// in place: renaming over it would replace the device.
public final class ByteOutput {
    public let name: String
    private let fd: Int32
    private let finalPath: String?
    private let tempPath: String?
    private var buffer = [UInt8]()
    private var committed = false

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
            let temp = path + ".tmp-\(getpid())"
            let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw StreamError("\(path): \(String(cString: strerror(errno)))") }
            self.fd = fd
            finalPath = path
            tempPath = temp
            name = path
        } else {
            fd = 1
            finalPath = nil
            tempPath = nil
            name = "stdout"
        }
        buffer.reserveCapacity(1 << 16)
    }

    deinit {
        if let tempPath, !committed { close(fd); unlink(tempPath) }
        else if tempPath == nil && fd > 2 { close(fd) }
    }

    public func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try flush() }
    }
    public func write(_ s: String) throws { try write(Array(s.utf8)) }

    /// Writes out what is buffered.
    public func flush() throws {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StreamError("\(name): write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and, for a file, moves it into place.
    public func commit() throws {
        try flush()
        guard let tempPath, let finalPath, !committed else { return }
        if fsync(fd) != 0 || close(fd) != 0 { throw StreamError("\(finalPath): \(String(cString: strerror(errno)))") }
        committed = true
        if rename(tempPath, finalPath) != 0 {
            unlink(tempPath)
            throw StreamError("\(finalPath): \(String(cString: strerror(errno)))")
        }
    }
}
