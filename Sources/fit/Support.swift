import Foundation
import TensorStream
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM set a flag that the training loop reads after each step.
final class Interrupt: @unchecked Sendable {
    nonisolated(unsafe) static var flag: sig_atomic_t = 0
    init() {
        signal(SIGINT) { _ in Interrupt.flag = 1 }
        signal(SIGTERM) { _ in Interrupt.flag = 1 }
        // A parent may have started us with these signals blocked (threads of
        // Dispatch block them, and a spawned child inherits the mask).
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
    var happened: Bool { Interrupt.flag != 0 }
}

/// A one-line progress bar with ETA on stderr, only when stderr is a terminal.
struct Progress {
    let enabled: Bool
    func show(epoch: Int, of epochs: Int, batch: Int, of batches: Int, loss: Double, since start: Date) {
        guard enabled else { return }
        let done = Double(batch) / Double(max(batches, 1))
        let width = 30, filled = Int(done * Double(width))
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 0 ? elapsed / done - elapsed : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let line = String(format: "\repoch %d/%d [%@] %d/%d loss %.4f ETA %d:%02d ", epoch, epochs, bar, batch, batches,
                          loss, Int(eta) / 60, Int(eta) % 60)
        FileHandle.standardError.write(Data(line.utf8))
    }
    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// Metrics as JSON lines.
final class LogFile {
    let handle: FileHandle
    init(_ path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else { throw StreamError("\(path): cannot write the log") }
        h.seekToEndOfFile()
        handle = h
    }
    func write(_ fields: [String: Any]) throws {
        var clean = fields
        for (k, v) in fields { if let d = v as? Double, !d.isFinite { clean[k] = NSNull() } }
        let data = try JSONSerialization.data(withJSONObject: clean, options: [.sortedKeys, .withoutEscapingSlashes])
        handle.write(data + Data("\n".utf8))
    }
}
