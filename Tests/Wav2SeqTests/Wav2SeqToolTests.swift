import AudioKit
import Foundation
import TensorStream
import Testing

/// The built `wav2seq` executable: beside the running test binary (any scratch
/// path), else in the package's .build-wav2seq or .build debug folder.
enum Wav2SeqBinary {
    static let url: URL? = {
        var candidates = [URL]()
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        candidates.append(dir)
        dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            candidates.append(dir)
            dir.deleteLastPathComponent()
        }
        // Tests/Wav2SeqTests/<this file> → package root
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build-wav2seq/debug"))
        candidates.append(root.appendingPathComponent(".build/debug"))
        return candidates.map { $0.appendingPathComponent("wav2seq") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    struct Run {
        let status: Int32
        let stdout: Data
        let stderr: String
    }

    /// Runs wav2seq with `args`, stdout and stderr through pipes, stdin from `input`.
    static func run(_ args: [String], input: Data = Data()) throws -> Run {
        guard let url else { throw AudioError("wav2seq is not built") }
        let p = Process()
        p.executableURL = url
        p.arguments = args
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        // feed and drain concurrently so neither side blocks on a full pipe
        final class Box: @unchecked Sendable { var data = Data() }
        let out = Box(), err = Box()
        let group = DispatchGroup()
        let writer = inPipe.fileHandleForWriting
        signal(SIGPIPE, SIG_IGN)  // wav2seq may exit before reading all its input
        DispatchQueue.global().async(group: group) { try? writer.write(contentsOf: input); try? writer.close() }
        let outHandle = outPipe.fileHandleForReading, errHandle = errPipe.fileHandleForReading
        DispatchQueue.global().async(group: group) { out.data = outHandle.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { err.data = errHandle.readDataToEndOfFile() }
        group.wait()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: out.data, stderr: String(decoding: err.data, as: UTF8.self))
    }

    /// Reads a whole stream from bytes with the validating reader.
    static func records(_ data: Data, scratch: Scratch) throws -> (meta: StreamMeta, examples: [Record]) {
        let path = scratch.path("out-\(UUID().uuidString).stream")
        _ = FileManager.default.createFile(atPath: path, contents: data)
        let reader = try StreamReader(try ByteInput(path: path))
        var out = [Record]()
        while let r = try reader.next() { out.append(r) }
        return (StreamMeta(reader.meta), out)
    }
}

@Suite(.enabled(if: Wav2SeqBinary.url != nil,
                "the wav2seq executable was not found beside the tests nor in .build-wav2seq/debug or .build/debug: run swift build first"))
struct Wav2SeqToolTests {
    /// Three labelled clips: two of class "3" at 16 kHz stereo and 8 kHz mono, one of class "7" as FLAC.
    func makeClips(_ s: Scratch) throws -> [String] {
        let a = sine(700, rate: 16000, seconds: 0.3)
        return [
            try s.write("7_b.flac", sine(1200, rate: 8000, seconds: 0.25), rate: 8000, container: .flac),
            try s.write("3_a.wav", a.flatMap { [$0, $0 * 0.5] }, rate: 16000, channels: 2),
            try s.write("3_c.wav", [Float](repeating: 0, count: 800) + sine(300, rate: 8000, seconds: 0.6), rate: 8000),
        ]
    }

    @Test func waveformStreamThroughAPipe() throws {
        let s = try Scratch(); defer { s.remove() }
        let files = try makeClips(s)
        let r = try Wav2SeqBinary.run(["--length", "4000"] + files)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stderr.isEmpty)
        let (meta, examples) = try Wav2SeqBinary.records(r.stdout, scratch: s)
        #expect(meta.task == "classify")
        #expect(meta.classes == ["3", "7"])
        #expect(meta.sampleRate == 8000)
        #expect(meta.features == 1)
        #expect(meta.fields["frontend"] == "waveform")
        #expect(meta.tools.count == 1 && meta.tools[0].hasPrefix("wav2seq --length 4000"))
        #expect(examples.count == 3)
        for (e, (path, cls)) in zip(examples, zip(files, [Int32(1), 0, 0])) {
            #expect(e.kind == .example)
            #expect(e.metadata["id"] == path)
            #expect(e["x"]?.shape == [4000, 1] && e["x"]?.dtype == .f32)
            #expect(e["y"]?.shape == [1] && e["y"]?.ints == [cls])
        }
        // 3_a: 0.3 s at 16 kHz → 2400 samples at 8 kHz, then zeros; 700 Hz survives resampling
        let x = examples[1]["x"]?.floats ?? []
        #expect(x[2500...].allSatisfy { $0 == 0 })
        #expect(abs(peakFrequency(Array(x[0..<2048]), rate: 8000) - 700) < 8)
        // 3_c: the leading 0.1 s (800 samples) of silence is trimmed to less than one 20 ms frame
        let c = examples[2]["x"]?.floats ?? []
        let onset = c.firstIndex { abs($0) > 0.01 } ?? c.count
        #expect(onset < 160)
        #expect(rms(c[160..<800]) > 0.3)
    }

    @Test func naturalLengthAndMelFeatures() throws {
        let s = try Scratch(); defer { s.remove() }
        let files = try makeClips(s)
        let natural = try Wav2SeqBinary.run(["--no-trim"] + files)
        #expect(natural.status == 0, "stderr: \(natural.stderr)")
        let shapes = try Wav2SeqBinary.records(natural.stdout, scratch: s).examples.map { $0["x"]?.shape ?? [] }
        #expect(shapes == [[2000, 1], [2400, 1], [5600, 1]])

        let mel = try Wav2SeqBinary.run(["--mel", "40", "--length", "4000", "--win", "25ms", "--hop", "80"] + files)
        #expect(mel.status == 0, "stderr: \(mel.stderr)")
        let (meta, examples) = try Wav2SeqBinary.records(mel.stdout, scratch: s)
        #expect(meta.features == 40)
        #expect(meta.fields["frontend"] == "log-mel bands=40 win=200 hop=80 fft=256 scale=htk fmin=0 fmax=4000")
        #expect(examples.allSatisfy { $0["x"]?.shape == [48, 40] })
    }

    @Test func mfccFeaturesAndTheirLike() throws {
        let s = try Scratch(); defer { s.remove() }
        let files = try makeClips(s)
        let out = s.path("mfcc.stream")
        let r = try Wav2SeqBinary.run(["--mfcc", "13", "--cmvn", "--length", "4000", "-o", out] + files)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let made = try Data(contentsOf: URL(fileURLWithPath: out))
        let (meta, examples) = try Wav2SeqBinary.records(made, scratch: s)
        #expect(meta.features == 13)
        #expect(meta.fields["mfcc"] == "13" && meta.fields["mel_bands"] == "40" && meta.fields["trim_db"] == "vad")
        #expect(examples.allSatisfy { $0["x"]?.shape == [48, 13] })
        // --like takes the coefficients with the rest of the front-end
        let again = try Wav2SeqBinary.run(["--like", out] + files)
        #expect(again.status == 0, "stderr: \(again.stderr)")
        let (_, same) = try Wav2SeqBinary.records(again.stdout, scratch: s)
        #expect(same.map { $0["x"]?.floats ?? [] } == examples.map { $0["x"]?.floats ?? [] })
        // more coefficients than bands, or --mfcc beside --like, is a usage error
        #expect(try Wav2SeqBinary.run(["--mel", "20", "--mfcc", "21"] + files).status == 2)
        #expect(try Wav2SeqBinary.run(["--like", out, "--mfcc", "13"] + files).status == 2)
    }

    @Test func speedPerturbationScalesPitchAndDuration() throws {
        let s = try Scratch(); defer { s.remove() }
        let files = try makeClips(s)
        let r = try Wav2SeqBinary.run(["--no-trim", "--speed", "0.8,1,1.25"] + files)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let (meta, examples) = try Wav2SeqBinary.records(r.stdout, scratch: s)
        #expect(meta.fields["frontend"] == "waveform")
        #expect(meta.fields["speed"] == "0.8,1,1.25")
        // one example per file and factor, in that order; speed in the metadata unless 1
        #expect(examples.count == 9)
        #expect(examples.map { $0.metadata["id"] ?? "" } == files.flatMap { [$0, $0, $0] })
        #expect(examples.map { $0.metadata["speed"] } == [String?]([ "0.8", nil, "1.25"]) + ["0.8", nil, "1.25"] + ["0.8", nil, "1.25"])
        #expect(examples.map { $0["y"]?.ints ?? [] } == [[1], [1], [1], [0], [0], [0], [0], [0], [0]])
        // 3_a: 0.3 s, 700 Hz. At speed f it lasts 0.3 / f s and sounds at 700·f Hz.
        for (k, f) in [(3, 0.8), (4, 1.0), (5, 1.25)] {
            let x = examples[k]["x"]?.floats ?? []
            #expect(abs(Double(x.count) - 2400 / f) <= 2, "speed \(f): \(x.count) samples")
            #expect(abs(peakFrequency(Array(x[0..<1024]), rate: 8000) - 700 * f) < 16, "speed \(f)")
        }
        for args in [["--speed", "0"], ["--speed", "1,x"], ["--speed", "0.9,0.9"], ["--speed", "3"]] {
            let bad = try Wav2SeqBinary.run(args + files)
            #expect(bad.status == 2, "\(args): \(bad.stderr)")
            #expect(bad.stderr.hasPrefix("wav2seq: ") && bad.stderr.filter { $0 == "\n" }.count == 1, "\(args): \(bad.stderr)")
        }
    }

    @Test func classesListAndOutputFile() throws {
        let s = try Scratch(); defer { s.remove() }
        let files = try makeClips(s)
        let list = s.path("files.txt")
        try (files.joined(separator: "\n\n") + "\n").write(toFile: list, atomically: true, encoding: .utf8)
        let out = s.path("digits.stream")
        let r = try Wav2SeqBinary.run(["--list", list, "--classes", "9,7,3", "-o", out, "--threads", "2"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.isEmpty)
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        let (meta, examples) = try Wav2SeqBinary.records(data, scratch: s)
        #expect(meta.classes == ["9", "7", "3"])
        #expect(examples.map { $0["y"]?.ints ?? [] } == [[1], [2], [2]])
        // the same files from stdin's list on one thread give the same bytes
        let again = try Wav2SeqBinary.run(["--list", "-", "--classes", "9,7,3", "--threads", "1"],
                                          input: Data(files.joined(separator: "\n").utf8))
        #expect(again.status == 0)
        #expect(try Wav2SeqBinary.records(again.stdout, scratch: s).examples == examples)
    }

    @Test func labelPattern() throws {
        let s = try Scratch(); defer { s.remove() }
        let a = try s.write("rec_yes_01.wav", sine(400, rate: 8000, seconds: 0.2), rate: 8000)
        let b = try s.write("rec_no_02.wav", sine(600, rate: 8000, seconds: 0.2), rate: 8000)
        let r = try Wav2SeqBinary.run(["--label-pattern", "_([a-z]+)_", a, b])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let (meta, examples) = try Wav2SeqBinary.records(r.stdout, scratch: s)
        #expect(meta.classes == ["no", "yes"])
        #expect(examples.map { $0["y"]?.ints ?? [] } == [[1], [0]])
    }

    @Test func corruptFileIsOneLineAndStatusOne() throws {
        let s = try Scratch(); defer { s.remove() }
        let good = try makeClips(s)[0]
        let bad = s.path("4_bad.wav")
        _ = FileManager.default.createFile(atPath: bad, contents: Data("RIFF....WAVEfmt this is not audio".utf8))
        let r = try Wav2SeqBinary.run([good, bad])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("wav2seq: \(bad): "))
        #expect(r.stderr.filter { $0 == "\n" }.count == 1 && r.stderr.hasSuffix("\n"))

        let missing = try Wav2SeqBinary.run([s.path("5_missing.wav")])
        #expect(missing.status == 1)
        #expect(missing.stderr == "wav2seq: \(s.path("5_missing.wav")): No such file or directory\n")

        // --skip-bad leaves it out and says so
        let skipped = try Wav2SeqBinary.run(["--skip-bad", good, bad])
        #expect(skipped.status == 0)
        #expect(skipped.stderr.contains("\(bad): ") && skipped.stderr.contains("skipped 1 of 2 files"))
        #expect(try Wav2SeqBinary.records(skipped.stdout, scratch: s).examples.count == 1)
    }

    @Test func usageAndLabelErrors() throws {
        let s = try Scratch(); defer { s.remove() }
        let files = try makeClips(s)
        let none = try Wav2SeqBinary.run([])
        #expect(none.status == 2)
        #expect(none.stderr.hasPrefix("wav2seq: no audio files given"))

        let notInClasses = try Wav2SeqBinary.run(["--classes", "3,4"] + files)
        #expect(notInClasses.status == 1)
        #expect(notInClasses.stderr == "wav2seq: \(files[0]): label '7' is not one of the --classes (3,4); --no-label for files without labels\n")

        let noMatch = try Wav2SeqBinary.run(["--label-pattern", "^x(.)"] + files)
        #expect(noMatch.status == 1)
        #expect(noMatch.stderr.hasPrefix("wav2seq: \(files[0]): "))

        for args in [["--rate", "0"], ["--length", "-3"], ["--mel-scale", "bark"], ["--win", "abc", "--mel", "4"],
                     ["--align", "left"], ["--label-pattern", "(["]] {
            let r = try Wav2SeqBinary.run(args + files)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.hasPrefix("wav2seq: ") && r.stderr.filter { $0 == "\n" }.count == 1, "\(args): \(r.stderr)")
        }
    }
}
