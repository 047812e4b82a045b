import ArgumentParser
import Foundation
import TensorStream
#if canImport(Glibc)
import Glibc
#endif

/// A failure a tool reports as `tool: message` with exit status 1 (bad data or a failed run).
public struct ToolError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Exit statuses shared by every tool.
public enum ExitStatus {
    public static let success: Int32 = 0
    public static let dataError: Int32 = 1
    public static let usageError: Int32 = 2
}

extension ParsableCommand {
    /// Parses the command line and runs the tool with recur's conventions:
    /// errors print as `tool: message` on stderr; bad data exits 1, bad usage 2;
    /// `--help` exits 0.
    public static func runTool(_ arguments: [String]? = nil) -> Never {
        let name = configuration.commandName ?? "\(Self.self)"
        removeTemporaryFilesOnSignals()
        var command: ParsableCommand
        do {
            command = try parseAsRoot(joiningNegativeNumbers(arguments ?? Array(CommandLine.arguments.dropFirst())))
        } catch {
            if exitCode(for: error) == .success {  // --help, --version
                print(fullMessage(for: error))
                Glibc.exit(ExitStatus.success)
            }
            usageError(name, fullMessage(for: error))
        }
        do {
            try command.run()
            Glibc.exit(ExitStatus.success)
        } catch let e as ToolError {
            fail(name, e.message, ExitStatus.dataError)
        } catch let e as StreamError {
            fail(name, e.message, ExitStatus.dataError)
        } catch let e as ValidationError {
            usageError(name, e.message)
        } catch {
            // --help and --version arrive here: ArgumentParser's built-in help command throws them from run()
            let code = exitCode(for: error)
            if code == .success { print(fullMessage(for: error)); Glibc.exit(ExitStatus.success) }
            if error is ExitCode { Glibc.exit(code.rawValue) }
            fail(name, "\(error)", ExitStatus.dataError)
        }
    }
}

/// `--lr -1` as `--lr=-1`: a negative number after a long option is its value (the
/// argument parser would take it for an option and say the value is missing); the
/// option's own range check then explains what is wrong with it.
func joiningNegativeNumbers(_ args: [String]) -> [String] {
    var out = [String]()
    var afterSeparator = false
    for a in args {
        if afterSeparator { out.append(a); continue }  // after "--" every word is an argument
        if a == "--" { afterSeparator = true; out.append(a); continue }
        if let previous = out.last, previous.hasPrefix("--"), previous != "--", !previous.contains("="), a.count > 1, a.hasPrefix("-"),
           Double(a) != nil || a.lowercased() == "-inf" || a.lowercased() == "-nan" {
            out[out.count - 1] = previous + "=" + a
        } else {
            out.append(a)
        }
    }
    return out
}

/// SIGINT, SIGTERM and SIGHUP remove the temporary files of unfinished outputs, then
/// end the process as the signal would (a tool with its own handler, like fit's, installs
/// it afterwards).
func removeTemporaryFilesOnSignals() {
    TemporaryFiles.prepare()  // nothing is allocated inside the handler
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        // a signal the parent ignores stays ignored (nohup, background jobs)
        var old = sigaction()
        if sigaction(sig, nil, &old) == 0, let h = old.__sigaction_handler.sa_handler,
           unsafeBitCast(h, to: Int.self) == 1 /* SIG_IGN */ { continue }
        signal(sig) { s in
            TemporaryFiles.removeAll()
            signal(s, SIG_DFL)
            raise(s)
        }
    }
    // A parent may have started us with these signals blocked (threads of Dispatch block
    // them, and a spawned child inherits the mask).
    var set = sigset_t()
    sigemptyset(&set)
    for sig in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, sig) }
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

/// Prints the first line of a usage error and exits 2.
func usageError(_ tool: String, _ message: String) -> Never {
    let first = message.split(separator: "\n").first.map(String.init) ?? message
    let clean = first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first
    fail(tool, "\(clean) (see '\(tool) --help')", ExitStatus.usageError)
}

/// Prints `tool: message` to stderr and exits.
public func fail(_ tool: String, _ message: String, _ status: Int32) -> Never {
    FileHandle.standardError.write(Data("\(tool): \(message)\n".utf8))
    Glibc.exit(status)
}

/// Writes a line to stderr.
public func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// The command line as one string, for the `tools` provenance field of a meta record.
public func commandLine() -> String {
    CommandLine.arguments.enumerated().map { i, a in
        let base = i == 0 ? (a.split(separator: "/").last.map(String.init) ?? a) : a
        return base.contains(" ") ? "'\(base)'" : base
    }.joined(separator: " ")
}

/// Options every stream-producing tool has.
public struct OutputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Write to FILE instead of standard output (atomically: temp file + rename).")
    public var output: String?

    public init() {}

    /// The output for a binary stream (refused on a terminal).
    public func open() throws -> ByteOutput { try ByteOutput(path: output, binary: true) }
}

/// Writes `text` to standard output and flushes it; a failed write (a full disk,
/// a closed pipe) is an error, not a silent loss.
public func writeStandardOutput(_ text: String) throws {
    let out = try ByteOutput(path: nil)
    try out.write(text)
    try out.commit()
}

/// Opens the named inputs ("-" or none: standard input).
public func openInputs(_ paths: [String]) throws -> [ByteInput] {
    try (paths.isEmpty ? ["-"] : paths).map { try ByteInput(path: $0) }
}
