import Foundation
import TensorStream
import ToolKit
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT, SIGTERM and SIGUSR1 set a flag that the training loop reads after each step
/// (under mpirun, SIGUSR1 is the clean way to stop: it is forwarded to every rank).
final class Interrupt: @unchecked Sendable {
    nonisolated(unsafe) static var flag: sig_atomic_t = 0
    init() {
        for sig in [SIGINT, SIGTERM, SIGUSR1] { signal(sig) { _ in Interrupt.flag = 1 } }
        // A parent may have started us with these signals blocked (threads of
        // Dispatch block them, and a spawned child inherits the mask).
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGINT, SIGTERM, SIGUSR1] { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
    var happened: Bool { Interrupt.flag != 0 }
}

/// A one-line progress bar on stderr, only when stderr is a terminal: the epoch's
/// progress, the mean loss, examples per second and the time left for the whole run.
final class Progress {
    let enabled: Bool
    private let start = Date()
    private var steps = 0, examples = 0

    init(enabled: Bool) { self.enabled = enabled }

    /// After a step: `stepsLeft` is the steps still to take in the whole run.
    func show(epoch: Int, of epochs: Int, batch: Int, of batches: Int, loss: Double, examples: Int, stepsLeft: Int) {
        steps += 1
        self.examples += examples
        guard enabled else { return }
        let elapsed = Date().timeIntervalSince(start)
        let done = Double(batch) / Double(max(batches, 1))
        let width = 24, filled = min(width, Int(done * Double(width)))
        let eta = Int(elapsed / Double(steps) * Double(stepsLeft))
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let rate = Double(self.examples) / max(elapsed, 1e-9)
        let line = String(format: "\repoch %d/%d [%@] %d/%d loss %.4f %@ ex/s ETA %@ ", epoch, epochs, bar, batch, batches,
                          loss, rate >= 1000 ? String(format: "%.0f", rate) : String(format: "%.1f", rate), Self.clock(eta))
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// "1:05:09", "5:09".
    static func clock(_ seconds: Int) -> String {
        seconds >= 3600 ? String(format: "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
            : String(format: "%d:%02d", seconds / 60, seconds % 60)
    }

    /// Erases the bar (and a ^C the terminal echoed on it), so the next message starts a fresh line.
    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// Metrics as JSON lines, appended to a file, or written to a pipe or FIFO. Opened
/// before training (so a bad path fails at once); a failing write later is a warning
/// and the log stops, never a lost run.
final class LogFile {
    let path: String
    private let fd: Int32
    private var failed = false

    init(_ path: String) throws {
        self.path = path
        signal(SIGPIPE, SIG_IGN)  // a log reader that goes away is a warning, not the end of training
        if path == "-" { fd = 1; return }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StreamError("\(path): cannot write the log: \(String(cString: strerror(errno)))") }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { close(fd); throw StreamError("\(path): is a directory") }
        self.fd = fd
    }

    deinit { if fd > 2 { close(fd) } }

    func write(_ fields: [String: Any]) throws {
        guard !failed else { return }
        var clean = fields
        for (k, v) in fields { if let d = v as? Double, !d.isFinite { clean[k] = NSNull() } }
        let line = Array(try JSONSerialization.data(withJSONObject: clean, options: [.sortedKeys])) + [10]
        var done = 0
        while done < line.count {
            let n = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                failed = true
                note("fit: warning: writing the log \(path) failed (\(String(cString: strerror(errno)))); training goes on without it")
                return
            }
            done += n
        }
    }
}

/// An error every process of a data-parallel run reaches at the same step (a NaN loss):
/// rank 0 reports it, and the job ends without an abort.
struct CollectiveFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
