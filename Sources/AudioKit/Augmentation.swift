import Foundation

/// Random perturbations of training audio, as extra copies of each file (like speed
/// perturbation): vocal tract length perturbation (a warp of the mel filterbank's
/// frequency axis), additive white or pink noise at a signal-to-noise ratio, a gain, and
/// silence added before and after. Each copy draws its own values from a generator
/// seeded by (seed, file, copy), so the result does not depend on threads or order.
public struct Augmentation: Sendable, Equatable {
    /// VTLP warp factors drawn from this range (about 0.9…1.1; above 1 raises formants).
    public var vtlp: ClosedRange<Double>?
    /// Additive noise at a signal-to-noise ratio (dB) drawn from this range.
    public var snr: ClosedRange<Double>?
    public var noise: NoiseColor = .white
    /// Gain drawn from −gain…+gain dB.
    public var gain: Double?
    /// Silence (or the noise) added before and after the speech: up to this many seconds each.
    public var pad: Double?

    public enum NoiseColor: String, Sendable, CaseIterable { case white, pink }

    public init() {}

    /// Whether anything is drawn.
    public var isEmpty: Bool { vtlp == nil && snr == nil && gain == nil && pad == nil }

    /// What one copy does.
    public struct Draw: Sendable, Equatable {
        public var warp = 1.0
        public var snr: Double?
        public var gainDB = 0.0
        public var lead = 0.0, trail = 0.0
        /// Seed of the copy's noise.
        public var noiseSeed: UInt64 = 0

        /// "vtlp=1.06 snr=18.5 gain=-3.2 pad=0.12/0.31", for the example's metadata.
        public var description: String {
            var parts = [String]()
            if warp != 1 { parts.append(String(format: "vtlp=%.3f", warp)) }
            if let snr { parts.append(String(format: "snr=%.1f", snr)) }
            if gainDB != 0 { parts.append(String(format: "gain=%.1f", gainDB)) }
            if lead > 0 || trail > 0 { parts.append(String(format: "pad=%.3f/%.3f", lead, trail)) }
            return parts.joined(separator: " ")
        }
    }

    /// The draw of copy `copy` of file `file` under `seed`.
    public func draw(seed: UInt64, file: Int, copy: Int) -> Draw {
        // the key hashed first: keys of neighbouring files must not give overlapping sequences
        var key = SplitMix(seed ^ (UInt64(truncatingIfNeeded: file) &* 0xD6E8_FEB8_6659_FD93) ^ (UInt64(truncatingIfNeeded: copy) &* 0xC2B2_AE3D_27D4_EB4F))
        var g = SplitMix(key.next())
        var d = Draw()
        if let vtlp { d.warp = vtlp.lowerBound + (vtlp.upperBound - vtlp.lowerBound) * g.unit() }
        if let snr { d.snr = snr.lowerBound + (snr.upperBound - snr.lowerBound) * g.unit() }
        if let gain { d.gainDB = (2 * g.unit() - 1) * gain }
        if let pad { d.lead = pad * g.unit(); d.trail = pad * g.unit() }
        d.noiseSeed = g.next()
        return d
    }

    /// The waveform part of a draw, on samples at `rate`: silence padded before and
    /// after, the gain, then noise at the SNR measured against the speech's power (a
    /// silent clip gets none).
    public static func apply(_ d: Draw, to x: [Float], rate: Int, color: NoiseColor) -> [Float] {
        let lead = Int(d.lead * Double(rate)), trail = Int(d.trail * Double(rate))
        var y = [Float](repeating: 0, count: lead) + x + [Float](repeating: 0, count: trail)
        let g = Float(pow(10, d.gainDB / 20))
        if g != 1 { for i in y.indices { y[i] *= g } }
        if let snr = d.snr {
            // the speech's power: its frames within 40 dB of the loudest (a clip's own silence left out)
            let speech = x[Shaping.nonSilentRange(x, sampleRate: rate, db: 40)]
            let power = speech.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(speech.count, 1)) * Double(g * g)
            let sigma = Float((power / pow(10, snr / 10)).squareRoot())
            var n = noise(count: y.count, color: color, seed: d.noiseSeed)
            for i in y.indices { y[i] += sigma * n[i] }
            n.removeAll()
        }
        return y
    }

    /// Unit-variance noise: white (Gaussian) or pink (1/f, Paul Kellet's filter of white noise).
    public static func noise(count: Int, color: NoiseColor, seed: UInt64) -> [Float] {
        var g = SplitMix(seed)
        var out = [Float](repeating: 0, count: count)
        var b = [Double](repeating: 0, count: 7)
        for i in 0..<count {
            // Box–Muller
            let u1 = max(g.unit(), 1e-300), u2 = g.unit()
            let w = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            switch color {
            case .white: out[i] = Float(w)
            case .pink:
                b[0] = 0.99886 * b[0] + w * 0.0555179; b[1] = 0.99332 * b[1] + w * 0.0750759
                b[2] = 0.96900 * b[2] + w * 0.1538520; b[3] = 0.86650 * b[3] + w * 0.3104856
                b[4] = 0.55000 * b[4] + w * 0.5329522; b[5] = -0.7616 * b[5] - w * 0.0168980
                out[i] = Float(b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362)
                b[6] = w * 0.115926
            }
        }
        if color == .pink {  // to unit variance
            let v = out.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(count, 1))
            let s = Float(1 / max(v.squareRoot(), 1e-12))
            for i in out.indices { out[i] *= s }
        }
        return out
    }
}

/// SplitMix64: a small, fast generator whose streams are fixed by their seed.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }
}
