import Foundation

/// What wav2seq does to one file, in order: decode, mix to mono, resample to
/// `rate`, trim silence at both ends, pad or cut to `length` samples, then
/// optionally turn the samples into log-mel frames.
public struct Frontend: Sendable {
    /// Output sample rate (Hz).
    public let rate: Int
    /// Trim frames quieter than this many dB below the loudest frame; nil: no trimming.
    public let trimDB: Double?
    /// Pad or cut to this many samples (at `rate`, before features); nil: natural length.
    public let length: Int?
    public let alignment: Shaping.Alignment
    /// Log-mel features; nil: the waveform itself, one feature per sample.
    public let mel: LogMel?
    private let resamplers: ResamplerCache

    public init(rate: Int, trimDB: Double? = 40, length: Int? = nil, alignment: Shaping.Alignment = .start,
                mel: LogMel? = nil) {
        precondition(rate > 0)
        self.rate = rate
        self.trimDB = trimDB
        self.length = length
        self.alignment = alignment
        self.mel = mel
        resamplers = ResamplerCache(outRate: rate)
    }

    /// Features per time step: 1 for the waveform, the band count for log-mel.
    public var features: Int { mel?.bands ?? 1 }

    /// A one-line description of the features, for the stream's meta record.
    public var summary: String { mel?.summary ?? "waveform" }

    /// The mono waveform at `rate`, trimmed and fitted, of an already decoded file.
    public func waveform(_ audio: Audio) -> [Float] {
        var x = audio.mono()
        if audio.sampleRate != rate { x = resamplers.get(audio.sampleRate).process(x) }
        if let trimDB {
            let r = Shaping.nonSilentRange(x, sampleRate: rate, db: trimDB)
            if r.count != x.count { x = Array(x[r]) }
        }
        if let length { x = Shaping.fit(x, to: length, alignment: alignment) }
        return x
    }

    /// x [T, features] row-major, and T.
    public func features(_ audio: Audio) -> (x: [Float], steps: Int) {
        let w = waveform(audio)
        guard let mel else { return (w, w.count) }
        return (mel.features(w), mel.frameCount(w.count))
    }

    /// Reads `path` and computes its features.
    public func process(path: String) throws(AudioError) -> (x: [Float], steps: Int) {
        features(try AudioFile.read(path))
    }
}

/// One resampler per input rate, built on first use and shared between threads.
final class ResamplerCache: @unchecked Sendable {
    let outRate: Int
    private var table = [Int: Resampler]()
    private let lock = NSLock()

    init(outRate: Int) { self.outRate = outRate }

    func get(_ inRate: Int) -> Resampler {
        lock.lock()
        defer { lock.unlock() }
        if let r = table[inRate] { return r }
        let r = Resampler(from: inRate, to: outRate)
        table[inRate] = r
        return r
    }
}
