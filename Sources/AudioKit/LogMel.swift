import Foundation

/// The mel scale a filterbank is spaced on.
public enum MelScale: String, Sendable, CaseIterable {
    /// mel = 2595 · log10(1 + f/700), triangles of peak 1 (torchaudio's MelSpectrogram default).
    case htk
    /// Slaney's Auditory Toolbox scale: linear below 1 kHz, logarithmic above, triangles
    /// scaled to equal area (librosa.filters.mel's default, norm="slaney").
    case slaney

    public func mel(_ hz: Double) -> Double {
        switch self {
        case .htk: return 2595 * log10(1 + hz / 700)
        case .slaney:
            let fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp, logStep = log(6.4) / 27
            return hz < minLogHz ? hz / fSp : minLogMel + log(hz / minLogHz) / logStep
        }
    }

    public func hz(_ mel: Double) -> Double {
        switch self {
        case .htk: return 700 * (pow(10, mel / 2595) - 1)
        case .slaney:
            let fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp, logStep = log(6.4) / 27
            return mel < minLogMel ? mel * fSp : minLogHz * exp(logStep * (mel - minLogMel))
        }
    }
}

/// Triangular mel filters over the bins of a real FFT: bands + 2 edge frequencies
/// equally spaced in mel between fmin and fmax; filter m rises from edge m to
/// edge m+1 and falls to edge m+2, evaluated at bin frequencies k·rate/fftSize.
public struct MelFilterbank: Sendable {
    public let bands: Int
    public let bins: Int
    public let scale: MelScale
    public let fmin: Double
    public let fmax: Double
    /// Filter m's nonzero weights start at bin firstBin[m].
    let firstBin: [Int]
    let weights: [[Float]]

    /// `warp`: vocal tract length perturbation (Jaitly & Hinton 2013): the filters see bin
    /// frequency f at w(f) = warp·f up to a boundary (0.85·fmax·min(warp, 1)/warp), then a
    /// straight line to fmax, so a formant at f falls in the band of warp·f.
    public init(bands: Int, fftSize: Int, sampleRate: Int, fmin: Double, fmax: Double, scale: MelScale, warp: Double = 1) {
        precondition(bands >= 1 && fftSize >= 2 && fmax > fmin && fmin >= 0)
        self.bands = bands
        bins = fftSize / 2 + 1
        self.scale = scale
        self.fmin = fmin
        self.fmax = fmax
        let lo = scale.mel(fmin), hi = scale.mel(fmax)
        let edges = (0..<(bands + 2)).map { scale.hz(lo + (hi - lo) * Double($0) / Double(bands + 1)) }
        var firstBin = [Int](), weights = [[Float]]()
        for m in 0..<bands {
            let (left, centre, right) = (edges[m], edges[m + 1], edges[m + 2])
            let norm = scale == .slaney ? 2 / (right - left) : 1
            var first = -1
            var w = [Float]()
            for k in 0..<bins {
                let f = Self.warped(Double(k) * Double(sampleRate) / Double(fftSize), warp: warp, fmax: fmax)
                let v = max(0, min((f - left) / (centre - left), (right - f) / (right - centre))) * norm
                if v > 0 {
                    if first < 0 { first = k }
                    // keep interior zeros so the weights stay contiguous
                    while first + w.count < k { w.append(0) }
                    w.append(Float(v))
                }
            }
            firstBin.append(max(first, 0))
            weights.append(w)
        }
        self.firstBin = firstBin
        self.weights = weights
    }

    /// The VTLP warp of frequency `f` (see `init`).
    public static func warped(_ f: Double, warp: Double, fmax: Double) -> Double {
        guard warp != 1 else { return f }
        let boundary = 0.85 * fmax * min(warp, 1) / warp
        if f <= boundary { return warp * f }
        return fmax - (fmax - warp * boundary) * (fmax - f) / (fmax - boundary)
    }

    /// Bands whose triangle covers no FFT bin (they always read zero).
    public var emptyBands: Int { weights.filter(\.isEmpty).count }

    /// The filter weights as a dense [bands, bins] matrix (for tests and inspection).
    public var dense: [[Float]] {
        (0..<bands).map { m in
            var row = [Float](repeating: 0, count: bins)
            for (j, v) in weights[m].enumerated() { row[firstBin[m] + j] = v }
            return row
        }
    }

    /// mel[m] = Σ_k W[m,k] · power[k].
    /// - Parameters:
    ///   - power: [bins]
    ///   - mel: out [bands]
    func apply(_ power: UnsafePointer<Float>, into mel: UnsafeMutablePointer<Float>) {
        for m in 0..<bands {
            let w = weights[m]
            mel[m] = w.isEmpty ? 0 : w.withUnsafeBufferPointer { dot($0.baseAddress!, power + firstBin[m], w.count) }
        }
    }
}

/// Log-mel spectrogram settings and the tables they need.
///
/// Frames of `win` samples start every `hop` samples with no padding at the
/// start (torchaudio's center=False); the last frame is the last that fits, so
/// T samples give 1 + ⌊(T − win)/hop⌋ frames (one zero-padded frame when
/// 0 < T < win, none when T = 0). Each frame is multiplied by a periodic Hann
/// window (torch.hann_window's default), zero-padded to `fftSize` (the next
/// power of two ≥ win), transformed, and its power spectrum |X|² passed
/// through the mel filterbank; the output is log(mel + 1e-6).
public struct LogMel: Sendable {
    public let sampleRate: Int
    public let win: Int
    public let hop: Int
    public let fftSize: Int
    public let filterbank: MelFilterbank
    let window: [Float]
    let fft: RealFFT

    public static let floor: Float = 1e-6

    public init(bands: Int, sampleRate: Int, win: Int, hop: Int, fmin: Double = 0, fmax: Double? = nil,
                scale: MelScale = .htk, warp: Double = 1) {
        precondition(win >= 1 && hop >= 1)
        self.sampleRate = sampleRate
        self.win = win
        self.hop = hop
        var size = 2
        while size < win { size *= 2 }
        fftSize = size
        fft = RealFFT(size: size)
        window = (0..<win).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(win))) }
        filterbank = MelFilterbank(bands: bands, fftSize: size, sampleRate: sampleRate, fmin: fmin,
                                   fmax: fmax ?? Double(sampleRate) / 2, scale: scale, warp: warp)
    }

    public var bands: Int { filterbank.bands }

    /// The same settings with the filterbank warped by `warp` (VTLP).
    public func warped(_ warp: Double) -> LogMel {
        LogMel(bands: bands, sampleRate: sampleRate, win: win, hop: hop, fmin: filterbank.fmin, fmax: filterbank.fmax,
               scale: filterbank.scale, warp: warp)
    }

    /// Frames produced for `count` samples.
    public func frameCount(_ count: Int) -> Int {
        count <= 0 ? 0 : count < win ? 1 : 1 + (count - win) / hop
    }

    /// x [T] → log-mel features [frames, bands], row-major.
    public func features(_ x: [Float]) -> [Float] {
        let frames = frameCount(x.count)
        let bands = self.bands, bins = fft.bins, n = fftSize
        var out = [Float](repeating: 0, count: frames * bands)
        var frame = [Float](repeating: 0, count: n)
        var power = [Float](repeating: 0, count: bins)
        var scratch = [Float](repeating: 0, count: n)
        x.withUnsafeBufferPointer { xp in
            window.withUnsafeBufferPointer { wp in
                frame.withUnsafeMutableBufferPointer { fp in
                    power.withUnsafeMutableBufferPointer { pp in
                        scratch.withUnsafeMutableBufferPointer { sp in
                            out.withUnsafeMutableBufferPointer { op in
                                for t in 0..<frames {
                                    let start = t * hop
                                    let avail = min(win, x.count - start)
                                    for j in 0..<avail { fp[j] = xp[start + j] * wp[j] }
                                    for j in avail..<n { fp[j] = 0 }
                                    fft.powerSpectrum(fp.baseAddress!, into: pp.baseAddress!, scratch: sp.baseAddress!)
                                    let row = op.baseAddress! + t * bands
                                    filterbank.apply(pp.baseAddress!, into: row)
                                    for m in 0..<bands { row[m] = log(row[m] + Self.floor) }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// A one-line description for the stream's meta record.
    public var summary: String {
        "log-mel bands=\(bands) win=\(win) hop=\(hop) fft=\(fftSize) scale=\(filterbank.scale.rawValue) fmin=\(number(filterbank.fmin)) fmax=\(number(filterbank.fmax))"
    }
}

/// A number as a short string: 4000 rather than 4000.0.
func number(_ d: Double) -> String {
    d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
}
