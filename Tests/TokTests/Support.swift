import CZlib
import Foundation
import TensorStream
import TestFiles

/// Paths and helpers shared by the tok tests.
enum Support {
    /// The package root: the first directory above this file that holds Package.swift.
    static let packageRoot: URL? = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    /// bert-base-uncased vocab.txt, fetched by scripts/fetch-text-data (not committed).
    static let bertVocab: String? = {
        guard let root = packageRoot else { return nil }
        let path = root.appendingPathComponent("cache/bert/vocab.txt").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()

    /// The `tok` executable: the one built beside these tests if there is one,
    /// else .build-tok/debug/tok or .build/debug/tok under the package root.
    static let tokBinary: String? = {
        var candidates = [String]()
        if let resources = Bundle.module.resourceURL {
            candidates.append(resources.deletingLastPathComponent().appendingPathComponent("tok").path)
        }
        if let root = packageRoot {
            candidates.append(root.appendingPathComponent(".build-tok/debug/tok").path)
            candidates.append(root.appendingPathComponent(".build/debug/tok").path)
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static func fixture(_ name: String) -> String? {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")?.path
    }

    /// Lines of a fixture (.gz inflated), without their newlines.
    static func fixtureLines(_ name: String) throws -> [String] {
        guard let path = fixture(name) else { throw StreamError("fixture \(name) not found") }
        var data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        if name.hasSuffix(".gz") { data = try gunzip(data) }
        var lines = data.split(separator: 10, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Inflates gzip data. (Not ByteInput: its gzip path fails, see the report on the tok branch.)
    static func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        z.initialize(to: z_stream())
        defer { inflateEnd(z); z.deallocate() }
        guard inflateInit2_(z, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw StreamError("inflateInit failed")
        }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var input = bytes
        try input.withUnsafeMutableBufferPointer { inBuf in
            z.pointee.next_in = inBuf.baseAddress
            z.pointee.avail_in = UInt32(inBuf.count)
            while true {
                let (status, made) = chunk.withUnsafeMutableBufferPointer { o -> (Int32, Int) in
                    z.pointee.next_out = o.baseAddress
                    z.pointee.avail_out = UInt32(o.count)
                    let st = inflate(z, Z_NO_FLUSH)
                    return (st, o.count - Int(z.pointee.avail_out))
                }
                out += chunk[0..<made]
                if status == Z_STREAM_END { return }
                guard status == Z_OK else { throw StreamError("corrupt gzip fixture (zlib status \(status))") }
            }
        }
        return out
    }

    /// A fresh temporary file with `contents`; returns its path.
    static func tempFile(_ contents: String, _ name: String = "t") -> String { tempFile(Data(contents.utf8), name) }

    static func tempFile(_ contents: Data, _ name: String = "t") -> String {
        let path = TestFiles.path(name)
        _ = FileManager.default.createFile(atPath: path, contents: contents)
        return path
    }

    /// A scalar from hex.
    static func scalar(_ hex: Substring) -> Unicode.Scalar { Unicode.Scalar(UInt32(hex, radix: 16)!)! }

    /// The words of the basic tokenizer written as in the fixtures: '|' between
    /// words, each as space-separated hex code points.
    static func pieces(_ words: [String]) -> String {
        words.map { $0.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " ") }.joined(separator: "|")
    }

    struct Run {
        let status: Int32
        let stdout: [UInt8]
        let stderr: String
    }

    /// Runs `tok` with `arguments`, feeding `stdin` through a pipe.
    static func tok(_ arguments: [String], stdin: String = "") throws -> Run {
        signal(SIGPIPE, SIG_IGN)  // tok may exit before reading all its input
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tokBinary!)
        p.arguments = arguments
        let input = Pipe(), output = Pipe(), errors = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = errors
        try p.run()
        // Write standard input and read standard error on other threads, so that no pipe fills up.
        final class Box: @unchecked Sendable { var data = Data() }
        let err = Box()
        let group = DispatchGroup()
        let writer = input.fileHandleForWriting, errorReader = errors.fileHandleForReading
        let bytes = Data(stdin.utf8)
        DispatchQueue.global().async(group: group) {
            try? writer.write(contentsOf: bytes)  // fails harmlessly if tok stopped reading
            try? writer.close()
        }
        DispatchQueue.global().async(group: group) { err.data = errorReader.readDataToEndOfFile() }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: [UInt8](out), stderr: String(decoding: err.data, as: UTF8.self))
    }

    /// Reads a whole stream: its meta and its records.
    static func read(_ bytes: [UInt8]) throws -> (meta: StreamMeta, records: [Record]) {
        let reader = try StreamReader(try ByteInput(path: tempFile(Data(bytes), "s")))
        var records = [Record]()
        while let r = try reader.next() { records.append(r) }
        return (StreamMeta(reader.meta), records)
    }
}
