import Foundation

/// What wav2seq does to one file, in order: decode, mix to mono, resample to
/// `rate` (played `speed` times faster), trim silence at both ends, pad or cut
/// to `length` samples, then optionally turn the samples into log-mel frames (and
/// those into cepstral coefficients).
public struct Frontend: Sendable {
    /// Output sample rate (Hz).
    public let rate: Int
    /// Trim frames quieter than this many dB below the loudest frame; nil: no trimming
    /// (unless `voiceTrim`).
    public let trimDB: Double?
    /// Trim with the voice-activity trim (`Shaping.voiceRange`) instead.
    public let voiceTrim: Bool
    /// Pad or cut to this many samples (at `rate`, before features); nil: natural length.
    public let length: Int?
    public let alignment: Shaping.Alignment
    /// Log-mel features; nil: the waveform itself, one feature per sample.
    public let mel: LogMel?
    /// MFCCs of the log-mel frames; nil: the log-mel bands themselves.
    public let cepstrum: Cepstrum?
    /// Normalise each feature to zero mean and unit variance over the file's frames
    /// (cepstral mean and variance normalisation, per utterance).
    public let cmvn: Bool
    /// Speed perturbation (as Kaldi's): the audio plays `speed` times faster, so its
    /// pitch and formants rise by that factor and it lasts 1/`speed` as long. Done by
    /// resampling to `rate / speed` and reading the result as `rate`.
    public let speed: Double
    private let resamplers: ResamplerCache

    public init(rate: Int, trimDB: Double? = 40, voiceTrim: Bool = false, length: Int? = nil, alignment: Shaping.Alignment = .start,
                mel: LogMel? = nil, mfcc: Int? = nil, cmvn: Bool = false, speed: Double = 1) {
        precondition(mfcc == nil || mel != nil, "MFCCs are computed from log-mel frames")
        self.voiceTrim = voiceTrim
        if let mel, let mfcc { cepstrum = Cepstrum(bands: mel.bands, coefficients: mfcc) } else { cepstrum = nil }
        self.cmvn = cmvn
        precondition(rate > 0 && speed > 0)
        self.speed = speed
        self.rate = rate
        self.trimDB = trimDB
        self.length = length
        self.alignment = alignment
        self.mel = mel
        resamplers = ResamplerCache(outRate: speed == 1 ? rate : max(1, Int((Double(rate) / speed).rounded())))
    }

    /// Features per time step: 1 for the waveform, the band count for log-mel, the
    /// coefficient count for MFCCs.
    public var features: Int { cepstrum?.coefficients ?? mel?.bands ?? 1 }

    /// A one-line description of the features, for the stream's meta record.
    public var summary: String {
        (mel?.summary ?? "waveform") + (cepstrum.map { ", " + $0.summary } ?? "") + (cmvn ? ", per-utterance mean/variance normalised" : "")
    }

    /// The settings as stream meta fields, which `wav2seq --like` reads back and
    /// `predict` compares: sample_rate, features, trim_db, length, align, cmvn,
    /// mel_bands, mfcc, and with log-mel features win, hop (samples), mel_scale, fmin, fmax (Hz).
    /// `none` marks what is off (no trimming, natural length, the waveform).
    public var fields: [String: String] {
        var f = ["sample_rate": String(rate), "features": String(features),
                 "trim_db": voiceTrim ? "vad" : trimDB.map(number) ?? "none", "length": length.map(String.init) ?? "none",
                 "align": alignment.rawValue, "cmvn": cmvn ? "true" : "false", "mel_bands": "none",
                 "mfcc": cepstrum.map { String($0.coefficients) } ?? "none"]
        if let mel {
            f["mel_bands"] = String(mel.bands)
            f["win"] = String(mel.win)
            f["hop"] = String(mel.hop)
            f["mel_scale"] = mel.filterbank.scale.rawValue
            f["fmin"] = number(mel.filterbank.fmin)
            f["fmax"] = number(mel.filterbank.fmax)
        }
        return f
    }

    /// Strongest downsampling accepted: longer filters would take seconds and gigabytes.
    public static let maxDownsampling = 1024

    /// The mono waveform at `rate`, trimmed and fitted, of an already decoded file; with a
    /// `draw`, its padding, gain and noise are applied before trimming (as a recording has them).
    public func waveform(_ audio: Audio, draw: Augmentation.Draw? = nil, noise: Augmentation.NoiseColor = .white) throws(AudioError) -> [Float] {
        guard audio.sampleRate <= Self.maxDownsampling * resamplers.outRate else {
            throw AudioError("sample rate \(audio.sampleRate) Hz is more than \(Self.maxDownsampling) × the output rate \(resamplers.outRate) Hz")
        }
        var x = audio.mono()
        if audio.sampleRate != resamplers.outRate { x = resamplers.get(audio.sampleRate).process(x) }
        if let draw { x = Augmentation.apply(draw, to: x, rate: rate, color: noise) }
        if voiceTrim {
            let r = Shaping.voiceRange(x, sampleRate: rate)
            if r.count != x.count { x = Array(x[r]) }
        } else if let trimDB {
            let r = Shaping.nonSilentRange(x, sampleRate: rate, db: trimDB)
            if r.count != x.count { x = Array(x[r]) }
        }
        if let length { x = Shaping.fit(x, to: length, alignment: alignment) }
        return x
    }

    /// x [T, features] row-major, and T; with a `draw`, augmented (its VTLP warp applies
    /// to the mel filterbank).
    public func features(_ audio: Audio, draw: Augmentation.Draw? = nil,
                         noise: Augmentation.NoiseColor = .white) throws(AudioError) -> (x: [Float], steps: Int) {
        let w = try waveform(audio, draw: draw, noise: noise)
        guard let mel else { return (cmvn ? Self.normalised(w, features: 1) : w, w.count) }
        var f = (draw.map { $0.warp != 1 ? mel.warped($0.warp) : mel } ?? mel).features(w)
        if let cepstrum { f = cepstrum.apply(f) }
        return (cmvn ? Self.normalised(f, features: self.features) : f, mel.frameCount(w.count))
    }

    /// x [T, F]: each column shifted to mean 0 and scaled to standard deviation 1
    /// (a constant column becomes 0).
    public static func normalised(_ x: [Float], features F: Int) -> [Float] {
        let T = x.count / max(F, 1)
        guard T > 0 else { return x }
        var out = x
        for f in 0..<F {
            var mean = 0.0, sq = 0.0
            for t in 0..<T { let v = Double(x[t * F + f]); mean += v; sq += v * v }
            mean /= Double(T)
            let sd = (max(sq / Double(T) - mean * mean, 0)).squareRoot()
            let inv = sd > 1e-8 ? 1 / sd : 0
            for t in 0..<T { out[t * F + f] = Float((Double(x[t * F + f]) - mean) * inv) }
        }
        return out
    }

    /// Reads `path` and computes its features.
    public func process(path: String) throws(AudioError) -> (x: [Float], steps: Int) {
        try features(try AudioFile.read(path))
    }
}

/// One resampler per input rate, built on first use and shared between threads. At most
/// `capacity` are kept (a filter table can take 16 MB): files of many different rates
/// rebuild theirs rather than fill the memory.
final class ResamplerCache: @unchecked Sendable {
    let outRate: Int
    static let capacity = 8
    private var table = [Int: Resampler]()
    /// Resamplers kept now.
    var count: Int { lock.lock(); defer { lock.unlock() }; return table.count }
    private let lock = NSLock()

    init(outRate: Int) { self.outRate = outRate }

    func get(_ inRate: Int) -> Resampler {
        lock.lock()
        defer { lock.unlock() }
        if let r = table[inRate] { return r }
        if table.count >= Self.capacity { table.removeAll() }
        let r = Resampler(from: inRate, to: outRate)
        table[inRate] = r
        return r
    }
}
