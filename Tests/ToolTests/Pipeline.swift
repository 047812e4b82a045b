import Foundation
import TensorStream
import TestFiles

/// Runs the package's built tools through real pipes, as a shell would.
enum Pipeline {
    /// The folder holding the built executables (the test bundle sits beside them).
    static let binDir: URL = {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("charidx").path) { return dir }
            dir.deleteLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug")
    }()

    struct Result {
        let status: Int32
        let stdout: Data
        let stderr: String
    }

    /// `tool args…` with `input` on stdin.
    static func run(_ tool: String, _ args: [String], input: Data = Data()) throws -> Result {
        try chain([(tool, args)], input: input)
    }

    /// `a | b | c`: each stage's stdout is piped to the next one's stdin.
    /// Returns the last stage's status and stdout; stderr of all stages joined.
    static func chain(_ stages: [(String, [String])], input: Data = Data()) throws -> Result {
        let (processes, first, previous, errPipes) = try start(stages)
        // Feed stdin and drain every pipe concurrently so no stage blocks on a full pipe.
        let group = DispatchGroup()
        let writer = first.fileHandleForWriting
        DispatchQueue.global().async(group: group) {
            try? writer.write(contentsOf: input)  // fails harmlessly if the first tool stopped reading
            try? writer.close()
        }
        final class Box: @unchecked Sendable { var data = Data() }
        let out = Box()
        let errs = errPipes.map { _ in Box() }
        let lastOut = previous.fileHandleForReading
        DispatchQueue.global().async(group: group) { out.data = lastOut.readDataToEndOfFile() }
        for (box, e) in zip(errs, errPipes) {
            let h = e.fileHandleForReading
            DispatchQueue.global().async(group: group) { box.data = h.readDataToEndOfFile() }
        }
        group.wait()
        for p in processes { p.waitUntilExit() }
        let stderr = errs.map { String(decoding: $0.data, as: UTF8.self) }.joined()
        return Result(status: processes.last!.terminationStatus, stdout: out.data, stderr: stderr)
    }

    /// Starts `a | b | c`: the processes, the first stage's stdin pipe, the last
    /// stage's stdout pipe and each stage's stderr pipe.
    static func start(_ stages: [(String, [String])]) throws -> (processes: [Process], stdin: Pipe, stdout: Pipe, stderr: [Pipe]) {
        signal(SIGPIPE, SIG_IGN)  // a tool may exit before reading all its input
        var processes = [Process]()
        var errPipes = [Pipe]()
        let first = Pipe()
        var previous: Pipe = first
        for (tool, args) in stages {
            let p = Process()
            p.executableURL = binDir.appendingPathComponent(tool)
            p.arguments = args
            p.standardInput = previous
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            processes.append(p)
            errPipes.append(err)
            previous = out
        }
        for p in processes { try p.run() }
        return (processes, first, previous, errPipes)
    }

    /// Any program (a script, mpirun, python) run to its end with no input: status,
    /// stdout and stderr, read concurrently so a full pipe never blocks it.
    /// `environment`: variables set or replaced over this process's.
    static func exec(_ executable: String, _ args: [String], environment: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try p.run()
        final class Box: @unchecked Sendable { var data = Data() }
        let stdout = Box(), stderr = Box()
        let group = DispatchGroup()
        for (box, pipe) in [(stdout, out), (stderr, err)] {
            let h = pipe.fileHandleForReading
            DispatchQueue.global().async(group: group) { box.data = h.readDataToEndOfFile() }
        }
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: stdout.data, stderr: String(decoding: stderr.data, as: UTF8.self))
    }

    /// Reads a stream from bytes.
    static func records(_ data: Data) throws -> (meta: StreamMeta, records: [Record]) {
        let path = TestFiles.path("records")
        FileManager.default.createFile(atPath: path, contents: data)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = try StreamReader(try ByteInput(path: path))
        var out = [Record]()
        while let r = try reader.next() { out.append(r) }
        return (StreamMeta(reader.meta), out)
    }

    static func tempPath(_ name: String) -> String { TestFiles.path(name) }
}

/// A pipeline kept open: the test writes to the first stage's stdin a piece at a
/// time and reads the last stage's stdout as it comes, to check that tools answer
/// each line before the next one arrives.
final class LivePipeline: @unchecked Sendable {
    private let processes: [Process]
    private let input: FileHandle
    private let lock = NSCondition()
    private var received = Data()
    private var closed = false
    private var errors = [Data]()
    private let errorsRead = DispatchGroup()

    init(_ stages: [(String, [String])]) throws {
        let (started, first, previous, errPipes) = try Pipeline.start(stages)
        processes = started
        input = first.fileHandleForWriting
        errors = errPipes.map { _ in Data() }
        let out = previous.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let d = out.availableData
                lock.lock()
                if d.isEmpty { closed = true } else { received.append(d) }
                lock.broadcast()
                lock.unlock()
                if d.isEmpty { break }
            }
        }
        for (i, e) in errPipes.enumerated() {
            let h = e.fileHandleForReading
            errorsRead.enter()
            Thread.detachNewThread { [self] in
                let d = h.readDataToEndOfFile()
                lock.lock(); errors[i] = d; lock.unlock()
                errorsRead.leave()
            }
        }
    }

    /// Writes `text` to the first stage.
    func send(_ text: String) throws { try input.write(contentsOf: Data(text.utf8)) }

    /// Waits until the output holds `count` lines (or the pipeline ends, or `timeout`
    /// seconds pass); returns the lines so far.
    func lines(atLeast count: Int, timeout: Double = 60) -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        func current() -> [String] {
            String(decoding: received, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
        while current().count < count && !closed && lock.wait(until: deadline) {}
        return current()
    }

    /// Closes stdin, waits for every stage; returns the last stage's status and all stderr.
    func finish() throws -> (status: Int32, lines: [String], stderr: String) {
        try input.close()
        for p in processes { p.waitUntilExit() }
        errorsRead.wait()
        let all = lines(atLeast: Int.max, timeout: 30)
        lock.lock(); let err = errors.map { String(decoding: $0, as: UTF8.self) }.joined(); lock.unlock()
        return (processes.last!.terminationStatus, all, err)
    }
}
