#if canImport(Glibc)
import Glibc
#endif

/// Silence trimming and fixing a signal's length.
public enum Shaping {
    /// The part of `x` that is not silence at either end.
    ///
    /// The signal is cut into frames of `frameMs` milliseconds every `hopMs`;
    /// a frame is silent when its RMS is more than `db` decibels below the RMS
    /// of the loudest frame (the measure librosa.effects.trim uses, there
    /// called top_db). The range runs from the start of the first loud frame
    /// to the end of the last one. An all-zero signal is returned whole (there
    /// is nothing to measure against); a signal shorter than one frame is one
    /// frame.
    ///
    /// - Parameters:
    ///   - x: samples [n]
    ///   - sampleRate: of `x`, to turn milliseconds into samples
    ///   - db: threshold below the loudest frame, in dB (positive, e.g. 40)
    /// - Returns: a range of indices into `x`
    public static func nonSilentRange(_ x: [Float], sampleRate: Int, db: Double,
                                      frameMs: Double = 20, hopMs: Double = 5) -> Range<Int> {
        let n = x.count
        guard let (frame, _, starts, energies) = frames(x, sampleRate: sampleRate, frameMs: frameMs, hopMs: hopMs) else { return 0..<n }
        let loudest = energies.max() ?? 0   // energies are compared as ratios
        guard loudest > 0 else { return 0..<n }
        let threshold = loudest * pow10(-db / 10)        // RMS ratio 10^(−db/20), squared
        guard let first = energies.firstIndex(where: { $0 >= threshold }),
              let last = energies.lastIndex(where: { $0 >= threshold }) else { return 0..<n }
        return starts[first]..<(starts[last] + frame)
    }

    /// The part of `x` that holds the voice, for real recordings with noise and hum around
    /// it: an energy voice-activity trim that sets its threshold from the clip itself.
    ///
    /// Frames of `frameMs` every `hopMs` get their energy in dB. The noise is a steady
    /// stretch at an edge of the clip: its first or last 200 ms within 5 dB and its median at
    /// least 15 dB under the loudest frame (noise or hum before or after the voice). With
    /// such a stretch, a frame is voice when it is louder than both `peak − 40 dB` and the
    /// stretch's loudest frame + 1.5 dB, so steady noise or hum is left out however loud it
    /// is, while a quiet consonant just above it (the s of "six" from a soft voice) stays;
    /// without one (a clean or already trimmed clip), when it is louder than `peak − 40 dB`,
    /// as the 40 dB trim does. The
    /// range runs from the centre of the first voiced frame to that of the last, widened
    /// by `hangoverMs` at each end, within the clip.
    public static func voiceRange(_ x: [Float], sampleRate: Int, frameMs: Double = 20, hopMs: Double = 5,
                                  hangoverMs: Double = 10) -> Range<Int> {
        let n = x.count
        guard let (frame, hop, starts, energies) = frames(x, sampleRate: sampleRate, frameMs: frameMs, hopMs: hopMs) else { return 0..<n }
        let db = energies.map { 10 * log10($0 / Double(frame) + 1e-20) }
        guard let peak = db.max(), peak > -190 else { return 0..<n }  // all zeros: nothing to measure against
        // noise or hum shows as a steady level at an edge of the clip: its first (or last)
        // 200 ms within 5 dB and at least 15 dB under the peak (longer than a fricative such
        // as the s of "six"); a clip that starts and ends with its voice (a clean or already
        // trimmed one) has none, and keeps peak − 40
        let edge = max(1, Int(0.2 * Double(sampleRate) / Double(hop)))
        // the loudest frame of such a stretch: the noise's own ceiling, which voice must pass
        func steadyCeiling(_ frames: ArraySlice<Double>) -> Double? {
            guard frames.count >= edge, let lo = frames.min(), let hi = frames.max(), hi - lo <= 5 else { return nil }
            return frames.sorted()[frames.count / 2] <= peak - 15 ? hi : nil
        }
        let ceiling = [steadyCeiling(db.prefix(edge)), steadyCeiling(db.suffix(edge))].compactMap { $0 }.max()
        let threshold = ceiling.map { max(peak - 40, $0 + 1.5) } ?? peak - 40
        guard let first = db.firstIndex(where: { $0 >= threshold }), let last = db.lastIndex(where: { $0 >= threshold }) else {
            return 0..<n
        }
        // from the centre of the first voiced frame to that of the last (a frame that only
        // overlaps the voice's edge does not take its noise along), widened by the hangover
        let hang = Int(Double(sampleRate) * hangoverMs / 1000)
        let lower = starts[first] + frame / 2 - hop / 2 - hang, upper = starts[last] + frame / 2 + hop / 2 + hang
        return max(0, lower)..<min(n, max(upper, lower + 1))
    }

    /// Frames of `frameMs` every `hopMs` over `x`: their length and step in samples, where
    /// each starts (0, hop, 2·hop, …; the last one moved back to end at the end of `x`) and
    /// its energy (the sum of squares: mean square × frame). Nil when `x` is not longer
    /// than one frame.
    static func frames(_ x: [Float], sampleRate: Int, frameMs: Double, hopMs: Double)
        -> (frame: Int, hop: Int, starts: [Int], energies: [Double])? {
        let n = x.count
        let frame = max(1, Int((Double(sampleRate) * frameMs / 1000).rounded()))
        let hop = max(1, Int((Double(sampleRate) * hopMs / 1000).rounded()))
        guard n > frame else { return nil }
        // prefix sums of squares, in Double so long files do not lose precision
        var prefix = [Double](repeating: 0, count: n + 1)
        for i in 0..<n { prefix[i + 1] = prefix[i] + Double(x[i]) * Double(x[i]) }
        var starts = Array(stride(from: 0, through: n - frame, by: hop))
        if let last = starts.last, last + frame < n { starts.append(n - frame) }
        return (frame, hop, starts, starts.map { prefix[$0 + frame] - prefix[$0] })
    }

    /// Where the content sits when `fit` pads or cuts.
    public enum Alignment: String, Sendable, CaseIterable {
        /// Keep the beginning: pad with zeros at the end, or cut the end.
        case start
        /// Centre the content: pad or cut equally at both ends (the odd sample at the end).
        case center
    }

    /// `x` padded with zeros or cut to exactly `length` samples.
    public static func fit(_ x: [Float], to length: Int, alignment: Alignment = .start) -> [Float] {
        let n = x.count
        if n == length { return x }
        var out = [Float](repeating: 0, count: length)
        switch alignment {
        case .start:
            let k = min(n, length)
            for i in 0..<k { out[i] = x[i] }
        case .center:
            if n < length {
                let offset = (length - n) / 2
                for i in 0..<n { out[offset + i] = x[i] }
            } else {
                let offset = (n - length) / 2
                for i in 0..<length { out[i] = x[offset + i] }
            }
        }
        return out
    }
}

/// 10^x
@inline(__always) func pow10(_ x: Double) -> Double {
    exp(x * 2.302585092994046)
}
