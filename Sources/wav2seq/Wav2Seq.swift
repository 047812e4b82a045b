import ArgumentParser
import AudioKit
import Foundation
import TensorStream
import ToolKit
#if canImport(Glibc)
import Glibc
#endif

struct Wav2Seq: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wav2seq",
        abstract: "Turn audio files (WAV, FLAC, OGG, ...) into a tensor stream of labelled examples.",
        discussion: """
        Each file is decoded with libsndfile, mixed down to mono (the mean of the channels), \
        resampled to --rate with a Kaiser-windowed sinc filter, trimmed of silence at both \
        ends, and padded with zeros or cut to --length samples. The stream starts with a meta \
        record (task classify, the class names, sample_rate, features) and holds one example \
        per file: x float32 [T, F], y int32 [1] (the class id), id = the path.

        The label is the first character of the file name, or the first capture group of \
        --label-pattern searched in it; --label-dir uses the whole name of the file's folder instead. \
        Classes are the sorted distinct labels unless --classes fixes them (and their ids): \
        give --classes when making train and test streams separately, so that the ids agree.

        For more than a few thousand files, pass the names with --list (find ... | wav2seq \
        --list -): the argument parser takes time quadratic in the number of arguments.

        With --mel N, x holds N log-mel bands per frame instead of samples: frames of --win \
        samples every --hop samples, Hann window, FFT of the next power of two, power \
        spectrum, triangular mel filters (--mel-scale htk or slaney), log(mel + 1e-6). \
        --length still counts samples, before featurisation: --length 4000 --win 200 --hop 80 \
        gives 1 + (4000 - 200) / 80 = 48 frames. With --mfcc N, x holds each frame's first N \
        cepstral coefficients instead (the orthonormal DCT-II of its log-mel bands, as \
        torchaudio's MFCC): the spectral envelope without the harmonics of the voice's pitch.

        --speed 0.9,1,1.1 writes each file once per factor, in that order (speed \
        perturbation, as Kaldi recipes do for training data): factor f plays the audio f \
        times faster, so pitch and formants rise by f and it lasts 1/f as long. Such examples \
        carry speed=f in their metadata. Use it on training files only.

        --augment N writes N more copies of each file (and of each --speed copy), each \
        drawing what --vtlp (a warp of the mel filterbank: a longer or shorter vocal tract), \
        --snr and --noise (white or pink noise), --gain and --pad (silence before and after, \
        which the trimming must then find) enable, from a generator seeded by --seed, the \
        file's place and the copy; each carries augment=... in its metadata. With --mel or --mfcc the \
        default trimming is --trim vad, which leaves out steady noise and hum.

        \(Help.examples([
            "wav2seq --length 4000 data/train/*.wav > train.stream",
            "wav2seq --length 4000 --classes 0,1,2,3,4,5,6,7,8,9 data/test/*.wav -o test.stream",
            "find data -name '*.flac' > files.txt; wav2seq --list files.txt --rate 16000 --mel 40 > mel.stream",
            "wav2seq --label-dir --rate 16000 --length 16000 speech_commands/*/*.wav > commands.stream",
            "wav2seq --label-pattern '^([a-z]+)_' --no-trim clips/*.ogg | batch --size 8 | fit --model rnn4",
            "wav2seq --mel 40 --cmvn --speed 0.85,0.93,1,1.08,1.17 train/*.wav -o train.stream",
        ]))
        """,
        version: RecurVersion.line("wav2seq"))

    @Argument(help: ArgumentHelp("Audio files (anything libsndfile reads: WAV, FLAC, OGG/Vorbis, AIFF, ...).", valueName: "file"))
    var files: [String] = []

    @Option(name: .long, help: ArgumentHelp("Also read file paths from FILE, one per line (- for standard input; blank lines are skipped). From a pipe, each file's example is written as its line arrives.", valueName: "file"))
    var list: [String] = []

    @Option(name: .long, help: ArgumentHelp("Take every front-end setting (rate, trimming, length, alignment, mel, CMVN) and the classes from FILE: a checkpoint, or a stream made by wav2seq.", valueName: "file"))
    var like: String?

    @Flag(name: .customLong("no-label"), help: "The files have no labels: write examples without y (for predict).")
    var noLabel = false

    @Option(name: .long, help: ArgumentHelp("Output sample rate in Hz. Default: 8000.", valueName: "hz"))
    var rate: Int?

    @Option(name: .long, help: ArgumentHelp("Trim leading and trailing frames more than DB decibels below the loudest frame, or 'vad': a voice-activity trim that also leaves out noise and hum (threshold from the clip's own noise floor and peak, 10 ms hangover). Default: vad with --mel, else 40.", valueName: "db|vad"))
    var trim: String?

    @Flag(name: .customLong("no-trim"), help: "Keep leading and trailing silence.")
    var noTrim = false

    @Option(name: .long, help: ArgumentHelp("Pad with zeros or cut to N samples (at --rate, before features). Default: each file's own length.", valueName: "n"))
    var length: Int?

    @Option(name: .long, help: ArgumentHelp("Where --length keeps the content: start (pad or cut at the end) or center (at both ends). Default: start.", valueName: "start|center"))
    var align: String?

    @Option(name: .long, help: ArgumentHelp("Label = the first capture group (or the whole match) of REGEX searched in the file name.", valueName: "regex"))
    var labelPattern: String?

    @Flag(name: .long, help: "Take the label from the name of the file's folder (all of it) instead of the file name.")
    var labelDir = false

    @Option(name: .long, help: ArgumentHelp("Class names in id order, comma-separated. Default: the sorted distinct labels.", valueName: "a,b,c"))
    var classes: String?

    @Option(name: .long, help: ArgumentHelp("Log-mel features with N bands instead of the waveform.", valueName: "n"))
    var mel: Int?
    @Option(name: .long, help: ArgumentHelp("Mel-frequency cepstral coefficients: the first N of the DCT (type II, orthonormal) of each frame's log-mel bands (--mel, default 40).", valueName: "n"))
    var mfcc: Int?
    @Flag(help: "Normalise each feature (mel band or coefficient, or the waveform) to mean 0 and variance 1 over the file (per-utterance CMVN).")
    var cmvn = false

    @Option(name: .long, help: ArgumentHelp("Mel frame length: samples, or a duration such as 25ms or 0.025s. Default: 25ms.", valueName: "len"))
    var win: String?

    @Option(name: .long, help: ArgumentHelp("Mel frame step: samples, or a duration such as 10ms. Default: 10ms.", valueName: "len"))
    var hop: String?

    @Option(name: .long, help: ArgumentHelp("Mel scale: htk (torchaudio's default) or slaney (librosa's, with area-normalised filters). Default: htk.", valueName: "htk|slaney"))
    var melScale: String?

    @Option(name: .long, help: ArgumentHelp("Lowest mel filter edge in Hz. Default: 0.", valueName: "hz"))
    var fmin: Double?

    @Option(name: .long, help: ArgumentHelp("Highest mel filter edge in Hz. Default: --rate / 2.", valueName: "hz"))
    var fmax: Double?

    @Option(name: .long, help: ArgumentHelp("Speed perturbation: write each file once per factor (e.g. 0.9,1,1.1; each between 0.5 and 2).", valueName: "f,f,…"))
    var speed: String?

    @Option(name: .long, help: ArgumentHelp("Files processed in parallel. Default: the number of CPUs.", valueName: "n"))
    var threads: Int?

    @Option(help: ArgumentHelp("Training audio: also write N augmented copies of each file (and of each --speed copy), each drawing the enabled perturbations (--vtlp, --snr, --gain, --pad) anew.", valueName: "n"))
    var augment: Int = 0
    @Option(help: ArgumentHelp("With --augment: warp the mel filterbank by a factor drawn from LO,HI (vocal tract length perturbation, e.g. 0.9,1.1).", valueName: "lo,hi"))
    var vtlp: String?
    @Option(help: ArgumentHelp("With --augment: add noise at a signal-to-noise ratio drawn from LO,HI dB (e.g. 10,30).", valueName: "lo,hi"))
    var snr: String?
    @Option(help: "With --snr: the noise's colour, white or pink.") var noise: String = "white"
    @Option(help: ArgumentHelp("With --augment: a gain drawn from -DB…+DB.", valueName: "db"))
    var gain: Double?
    @Option(help: ArgumentHelp("With --augment: silence (noise with --snr) before and after the speech, up to SECONDS each.", valueName: "seconds"))
    var pad: Double?
    @Option(help: "Seed of the --augment draws.") var seed: UInt64 = 0

    @Flag(name: .long, help: "Warn about unreadable files and leave them out instead of stopping.")
    var skipBad = false

    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        if let like {
            let given = [("--rate", rate != nil), ("--trim", trim != nil), ("--no-trim", noTrim), ("--length", length != nil),
                         ("--align", align != nil), ("--mel", mel != nil), ("--mfcc", mfcc != nil), ("--cmvn", cmvn), ("--win", win != nil),
                         ("--hop", hop != nil), ("--mel-scale", melScale != nil), ("--fmin", fmin != nil),
                         ("--fmax", fmax != nil), ("--classes", classes != nil)]
            if let (option, _) = given.first(where: { $0.1 }) {
                throw ValidationError("\(option) is a front-end setting that --like takes from \(like); give one or the other")
            }
        } else {
            _ = try AudioSettings(self).validated()
        }
        if noLabel && (labelPattern != nil || labelDir) { throw ValidationError("--no-label excludes --label-pattern and --label-dir") }
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        _ = try speeds()
        _ = try augmentation()
    }

    /// The --augment settings.
    func augmentation() throws -> Augmentation {
        func range(_ text: String?, _ option: String, _ valid: ClosedRange<Double>) throws -> ClosedRange<Double>? {
            guard let text else { return nil }
            let v = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard v.count == 2, let lo = v[0], let hi = v[1], lo <= hi, valid.contains(lo), valid.contains(hi) else {
                throw ValidationError("\(option) takes LO,HI within \(valid.lowerBound)…\(valid.upperBound) (got '\(text)')")
            }
            return lo...hi
        }
        var a = Augmentation()
        a.vtlp = try range(vtlp, "--vtlp", 0.7...1.4)
        a.snr = try range(snr, "--snr", -10...100)
        guard let color = Augmentation.NoiseColor(rawValue: noise) else { throw ValidationError("--noise is white or pink") }
        a.noise = color
        if let gain { guard gain.isFinite, gain >= 0, gain <= 60 else { throw ValidationError("--gain must be between 0 and 60 dB") } }
        a.gain = gain
        if let pad { guard pad.isFinite, pad >= 0, pad <= 10 else { throw ValidationError("--pad must be between 0 and 10 seconds") } }
        a.pad = pad
        guard (0...100).contains(augment) else { throw ValidationError("--augment must be between 0 and 100") }
        if augment > 0 && a.isEmpty { throw ValidationError("--augment needs at least one of --vtlp, --snr, --gain, --pad") }
        if augment == 0 && !a.isEmpty { throw ValidationError("--vtlp, --snr, --gain and --pad work with --augment N") }
        if a.vtlp != nil && mel == nil && mfcc == nil && like == nil { throw ValidationError("--vtlp warps the mel filterbank: it needs --mel or --mfcc") }
        return a
    }

    /// The --speed factors (default: just 1).
    func speeds() throws -> [Double] {
        guard let speed else { return [1] }
        let parts = speed.split(separator: ",", omittingEmptySubsequences: false)
        let factors = parts.compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard factors.count == parts.count, factors.allSatisfy({ $0 >= 0.5 && $0 <= 2 }) else {
            throw ValidationError("--speed takes factors between 0.5 and 2 separated by commas, e.g. 0.9,1,1.1 (got '\(speed)')")
        }
        guard Set(factors).count == factors.count else { throw ValidationError("--speed lists a factor twice ('\(speed)')") }
        return factors
    }

    func run() throws {
        // The front-end and the classes: from the options, or from the model (--like).
        var settings: AudioSettings
        var classNames: [String]?
        if let like {
            let meta = try RecordReader.single(like).metadata
            do { settings = try AudioSettings(meta: meta).validated() }
            catch let e as ValidationError { throw ToolError("\(like): \(e.message)") }
            classNames = meta["classes"].flatMap(StreamMeta.parseList)
        } else {
            settings = AudioSettings(self)
            if let classes {
                let names = classes.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard !names.contains(""), Set(names).count == names.count else {
                    throw ValidationError("--classes must be distinct, non-empty names separated by commas")
                }
                classNames = names
            }
        }
        let factors = try speeds()
        let frontends = try factors.map { try settings.frontend(speed: $0) }
        let frontend = frontends[0]
        if let mel = frontend.mel, mel.filterbank.emptyBands > 0 {
            note("wav2seq: warning: \(mel.filterbank.emptyBands) of the \(mel.bands) mel bands cover no FFT bin and are constant (use fewer bands or a longer --win)")
        } else if let mel = frontend.mel, let vtlp = try augmentation().vtlp,
                  let empty = [vtlp.lowerBound, vtlp.upperBound].map({ mel.warped($0).filterbank.emptyBands }).max(), empty > 0 {
            note("wav2seq: warning: with --vtlp \(vtlp.lowerBound),\(vtlp.upperBound), up to \(empty) of the \(mel.bands) mel bands cover no FFT bin in the warped copies (use fewer bands or a longer --win)")
        }
        if try augmentation().vtlp != nil && frontend.mel == nil {
            throw ValidationError("--vtlp warps the mel filterbank; \(like ?? "this stream") has no mel features")
        }
        let labeler: Labeler?
        do { labeler = noLabel ? nil : try Labeler(pattern: labelPattern, fromDirectory: labelDir) }
        catch { throw ValidationError(error.message) }

        // File names: the arguments, then the --list files. A list read from a pipe is
        // processed as its lines arrive when the classes are known beforehand.
        var paths = files
        var listInputs = try list.map { try ByteInput(path: $0) }
        let follow = listInputs.contains { !$0.isRegularFile } && (classNames != nil || labeler == nil)
        if !follow {
            var lines = TextLines(listInputs)
            while let line = try lines.nextLine() { if !line.text.isEmpty { paths.append(line.text) } }
            listInputs = []
            guard !paths.isEmpty else {
                throw ValidationError(list.isEmpty ? "no audio files given" : "no audio files given (the --list files are empty)")
            }
        } else if paths.isEmpty && listInputs.isEmpty {
            throw ValidationError("no audio files given")
        }
        if classNames == nil, let labeler {
            var seen = Set<String>()
            for p in paths {
                do { seen.insert(try labeler.label(p)) } catch { throw ToolError("\(p): \(error.message)") }
            }
            classNames = seen.sorted()
        }
        let classID = Dictionary((classNames ?? []).enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { first, _ in first })
        func labelID(_ path: String) throws -> Int32? {
            guard let labeler else { return nil }
            let l: String
            do { l = try labeler.label(path) } catch { throw ToolError("\(path): \(error.message) (--no-label for files without one)") }
            guard let id = classID[l] else {
                let names = (classNames ?? []).prefix(12).joined(separator: ",")
                throw ToolError("\(path): label '\(l)' is not one of the \(like == nil ? "--classes" : "model's classes") (\(names)); --no-label for files without labels")
            }
            return id
        }

        var meta = StreamMeta()
        meta.task = "classify"
        meta.classes = classNames
        for (k, v) in frontend.fields { meta.fields[k] = v }
        meta.fields["frontend"] = frontend.summary
        if speed != nil { meta.fields["speed"] = factors.map { String(format: "%g", $0) }.joined(separator: ",") }
        if augment > 0 {
            var a = ["copies=\(augment)", "seed=\(seed)"]
            if let v = vtlp { a.append("vtlp=\(v)") }
            if let v = snr { a.append("snr=\(v) \(noise)") }
            if let v = gain { a.append("gain=\(v)") }
            if let v = pad { a.append("pad=\(v)") }
            meta.fields["augment"] = a.joined(separator: " ")
        }
        meta.addTool(provenance())

        let writer = StreamWriter(try outputOptions.open())
        try writer.write(meta.record)
        let features = frontend.features
        let threads = self.threads ?? ProcessInfo.processInfo.activeProcessorCount
        var skipped = 0, done = 0
        // Each file is decoded once and featurised at every speed factor.
        let augmentation = try self.augmentation(), copies = augment, seed = self.seed
        var fileCount = 0   // files before this batch: each file's draws depend on its place only
        func process(_ batch: [String], progress: Progress?) throws {
            let ids = try batch.map(labelID)
            let first = fileCount
            fileCount += batch.count
            try forEachProcessed(batch.count, threads: threads, outputsPerFile: frontends.count * (copies + 1),
                                 { [batch] i throws(AudioError) in
                                     let audio = try AudioFile.read(batch[i])
                                     var out = FileFeatures()
                                     for (s, f) in frontends.enumerated() {
                                         out.append(try f.features(audio))
                                         for c in 0..<copies {
                                             let d = augmentation.draw(seed: seed, file: first + i, copy: s * copies + c)
                                             out.append(try f.features(audio, draw: d, noise: augmentation.noise))
                                         }
                                     }
                                     return out
                                 }) { i, outcome in
                switch outcome {
                case .success(let perSpeed):
                    for (k, (x, steps)) in perSpeed.enumerated() {
                        let (s, c) = (k / (copies + 1), k % (copies + 1))
                        let f = factors[s]
                        var metadata = ["id": batch[i]]
                        if f != 1 { metadata["speed"] = String(format: "%g", f) }
                        if c > 0 {
                            metadata["augment"] = augmentation.draw(seed: seed, file: first + i, copy: s * copies + c - 1).description
                        }
                        var record = Record(kind: .example, metadata: metadata, tensors: [("x", StreamTensor(x, shape: [steps, features]))])
                        if let y = ids[i] { record["y"] = StreamTensor([y], shape: [1]) }
                        try writer.write(record)
                    }
                case .failure(let error):
                    guard skipBad else { throw ToolError("\(batch[i]): \(error.message)") }
                    progress?.clear()
                    note("wav2seq: \(batch[i]): \(error.message) (skipped)")
                    skipped += 1
                }
                done += 1
                progress?.update(done)
            }
        }
        let progress = isatty(2) == 1 && !follow ? Progress(total: paths.count) : nil
        try process(paths, progress: progress)
        progress?.clear()
        if follow {
            // Files named on a pipe: a chunk at a time, written out whenever the pipe is idle.
            var pending = [String]()
            var lines = TextLines(listInputs)
            lines.onIdle = {
                try process(pending, progress: nil)
                pending.removeAll()
                try writer.output.flush()
            }
            while let line = try lines.nextLine() {
                if line.text.isEmpty { continue }
                pending.append(line.text)
                if pending.count >= 16 * max(threads, 1) { try process(pending, progress: nil); pending.removeAll() }
            }
            try process(pending, progress: nil)
            if done == 0 { throw ValidationError("no audio files given (the --list input was empty)") }
        }
        if skipped > 0 { note("wav2seq: skipped \(skipped) of \(done) files") }
        try writer.finish()
    }

    /// The command line for the meta record's `tools`, with the file arguments after
    /// the first two replaced by a count: a stream made from 100,000 files would
    /// otherwise carry megabytes of names in its header (and they are in the ids).
    func provenance() -> String {
        let full = commandLine()
        guard files.count > 3 else { return full }
        func quoted(_ a: String) -> String { a.contains(" ") ? "'\(a)'" : a }
        var words = [String]()
        var next = 0   // index in `files` of the next positional argument to look for
        for (i, a) in CommandLine.arguments.enumerated() {
            if i == 0 { words.append(full.split(separator: " ").first.map(String.init) ?? "wav2seq"); continue }
            if next < files.count && a == files[next] {
                next += 1
                if next <= 2 { words.append(quoted(a)) } else if next == 3 { words.append("...(\(files.count) files)") }
                continue
            }
            words.append(quoted(a))
        }
        return words.joined(separator: " ")
    }

}

/// The features of one file, one (x [T, F], T) per speed factor.
typealias FileFeatures = [(x: [Float], steps: Int)]

/// Runs jobs 0..<count (decode and featurise one file) on `threads` threads, a
/// chunk at a time, and hands each outcome to `body` in job order (so the output
/// does not depend on the thread count).
func forEachProcessed(_ count: Int, threads: Int, outputsPerFile: Int = 1,
                      _ process: @escaping @Sendable (Int) throws(AudioError) -> FileFeatures,
                      _ body: (Int, Result<FileFeatures, AudioError>) throws -> Void) throws {
    let threads = max(1, threads)
    // a chunk's outputs are held until written: fewer files at a time when each gives many
    let chunk = threads == 1 ? 1 : max(threads, 16 * threads / max(1, outputsPerFile))
    var start = 0
    while start < count {
        let end = min(count, start + chunk)
        let slots = Slots(count: end - start)
        if threads == 1 {
            slots.set(0, Result { () throws(AudioError) in try process(start) })
        } else {
            let base = start
            DispatchQueue.concurrentPerform(iterations: min(threads, end - start)) { w in
                var i = base + w
                while i < end {
                    let job = i
                    slots.set(i - base, Result { () throws(AudioError) in try process(job) })
                    i += threads
                }
            }
        }
        for i in start..<end { try body(i, slots.take(i - start)) }
        start = end
    }
}

/// Results written by worker threads at distinct indices, read after they finish.
final class Slots: @unchecked Sendable {
    private var storage: UnsafeMutableBufferPointer<Result<FileFeatures, AudioError>?>
    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }
    deinit {
        storage.deinitialize()
        storage.deallocate()
    }
    func set(_ i: Int, _ r: Result<FileFeatures, AudioError>) { storage[i] = r }
    func take(_ i: Int) -> Result<FileFeatures, AudioError> {
        let r = storage[i] ?? .failure(AudioError("not processed"))
        storage[i] = nil
        return r
    }
}

/// "wav2seq: 1200/4200 files" on a terminal's stderr, redrawn at most ten times a second.
final class Progress {
    let total: Int
    private var last = Date.distantPast
    private var shown = false
    init(total: Int) { self.total = total }
    func update(_ done: Int) {
        let now = Date()
        guard done == total || now.timeIntervalSince(last) > 0.1 else { return }
        last = now
        FileHandle.standardError.write(Data("\rwav2seq: \(done)/\(total) files".utf8))
        shown = true
    }
    func clear() {
        guard shown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        shown = false
    }
}
