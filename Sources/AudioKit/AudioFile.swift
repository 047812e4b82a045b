import CSndFile
#if canImport(Glibc)
import Glibc
#endif

/// A failure to read, decode or process one audio file. `message` does not name
/// the file; the caller puts the name in front.
public struct AudioError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Decoded audio: frames of `channels` interleaved float samples in [-1, 1]
/// (integer formats are scaled by 1/2^(bits-1), as torchaudio and soundfile do).
public struct Audio: Sendable, Equatable {
    /// Interleaved samples, [frames, channels] row-major.
    public var samples: [Float]
    public var channels: Int
    public var sampleRate: Int

    public init(samples: [Float], channels: Int, sampleRate: Int) {
        self.samples = samples
        self.channels = channels
        self.sampleRate = sampleRate
    }

    public var frames: Int { channels > 0 ? samples.count / channels : 0 }

    /// The average of the channels: [frames, channels] → [frames].
    public func mono() -> [Float] {
        guard channels > 1 else { return samples }
        let c = channels
        let n = frames
        let scale = 1 / Float(c)
        return [Float](unsafeUninitializedCapacity: n) { out, done in
            samples.withUnsafeBufferPointer { x in
                for t in 0..<n {
                    var s: Float = 0
                    for k in 0..<c { s += x[t * c + k] }
                    out[t] = s * scale
                }
            }
            done = n
        }
    }
}

/// Reading and writing audio files with libsndfile (WAV, FLAC, OGG/Vorbis, AIFF, ...).
public enum AudioFile {
    /// Largest number of frames read from one file (about 6 hours at 48 kHz);
    /// a longer or lying file is an error rather than an allocation of many gigabytes.
    public static let maxFrames = 1 << 30

    /// Decodes the whole of `path`.
    public static func read(_ path: String) throws(AudioError) -> Audio {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw AudioError(String(cString: strerror(errno))) }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw AudioError("is a directory")
        }
        var info = SF_INFO()
        // sf_open_fd takes ownership of fd (close_desc = 1), also when it fails.
        guard let file = sf_open_fd(fd, Int32(SFM_READ), &info, 1) else {
            throw AudioError(cleanMessage(String(cString: sf_strerror(nil))))
        }
        defer { sf_close(file) }
        let channels = Int(info.channels), rate = Int(info.samplerate)
        guard channels >= 1, channels <= 1024 else { throw AudioError("bad channel count \(channels)") }
        guard rate >= 1, rate <= 10_000_000 else { throw AudioError("bad sample rate \(rate)") }

        // The header's frame count is a hint (it can be wrong or unknown); read until the end.
        let hint = info.frames > 0 && info.frames < Int64(maxFrames) ? Int(info.frames) : 0
        var samples = [Float]()
        samples.reserveCapacity(min(hint, 1 << 24) * channels)
        let block = hint > 0 ? min(max(hint, 1024), 1 << 14) : 1 << 14   // short files: a short buffer
        var chunk = [Float](repeating: 0, count: block * channels)
        while true {
            let got = chunk.withUnsafeMutableBufferPointer { sf_readf_float(file, $0.baseAddress, sf_count_t(block)) }
            if got <= 0 { break }
            samples.append(contentsOf: chunk[0..<(Int(got) * channels)])
            if samples.count / channels > maxFrames { throw AudioError("longer than \(maxFrames) frames") }
        }
        let err = sf_error(file)
        if err != 0 { throw AudioError("decoding failed: \(cleanMessage(String(cString: sf_error_number(err))))") }
        guard !samples.isEmpty else { throw AudioError("no audio (0 frames)") }
        for v in samples where !v.isFinite { throw AudioError("contains samples that are NaN or infinite") }
        return Audio(samples: samples, channels: channels, sampleRate: rate)
    }

    /// Sample encodings `write` can produce.
    public enum Encoding: Sendable {
        case pcm16, pcm24, float32
        var sfFormat: Int32 {
            switch self {
            case .pcm16: return Int32(SF_FORMAT_PCM_16)
            case .pcm24: return Int32(SF_FORMAT_PCM_24)
            case .float32: return Int32(SF_FORMAT_FLOAT)
            }
        }
    }

    /// Container formats `write` can produce (chosen explicitly, not from the name).
    public enum Container: Sendable {
        case wav, flac, ogg
        var sfFormat: Int32 {
            switch self {
            case .wav: return Int32(SF_FORMAT_WAV)
            case .flac: return Int32(SF_FORMAT_FLAC)
            case .ogg: return Int32(SF_FORMAT_OGG)
            }
        }
    }

    /// Writes `audio` to `path`. Samples outside [-1, 1] are clipped for integer encodings.
    /// FLAC takes .pcm16 or .pcm24; OGG is always Vorbis (the encoding is ignored).
    public static func write(_ audio: Audio, to path: String, container: Container = .wav,
                             encoding: Encoding = .pcm16) throws(AudioError) {
        guard audio.channels >= 1, audio.samples.count % audio.channels == 0 else {
            throw AudioError("\(audio.samples.count) samples do not make frames of \(audio.channels) channels")
        }
        var info = SF_INFO()
        info.samplerate = Int32(audio.sampleRate)
        info.channels = Int32(audio.channels)
        info.format = container.sfFormat | (container == .ogg ? Int32(SF_FORMAT_VORBIS) : encoding.sfFormat)
        guard sf_format_check(&info) != 0 else { throw AudioError("libsndfile cannot write this format combination") }
        guard let file = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioError(cleanMessage(String(cString: sf_strerror(nil))))
        }
        _ = sf_command(file, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        let frames = audio.frames
        let wrote = audio.samples.withUnsafeBufferPointer { sf_writef_float(file, $0.baseAddress, sf_count_t(frames)) }
        let closeStatus = sf_close(file)
        guard wrote == frames, closeStatus == 0 else { throw AudioError("write failed") }
    }

    /// libsndfile messages end with a full stop and sometimes carry a "System error : " prefix.
    static func cleanMessage(_ s: String) -> String {
        var m = s.trimmingSpaces
        if m.hasSuffix(".") { m.removeLast() }
        if m.hasPrefix("System error : ") { m = String(m.dropFirst(15)) }
        return m.isEmpty ? "cannot read audio" : m
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
