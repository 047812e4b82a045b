import Foundation

/// Mel-frequency cepstral coefficients from log-mel frames: the first `coefficients`
/// outputs of the orthonormal type-II DCT of each frame's log-mel bands (what
/// torchaudio.transforms.MFCC and librosa.feature.mfcc compute with norm="ortho", here
/// of recur's natural-log mel energies):
///
///     c[k] = s_k · Σ_m log-mel[m] · cos(π·k·(m + ½) / M),   s_0 = √(1/M), s_k = √(2/M),
///
/// for k < coefficients ≤ M bands. Keeping the low coefficients keeps the spectral
/// envelope (formants) and drops its fine structure, the harmonics of the voice's
/// pitch, which the narrow low mel bands otherwise resolve: the features move less
/// from one speaker to another.
public struct Cepstrum: Sendable {
    /// Log-mel bands in (M).
    public let bands: Int
    /// Coefficients out (N ≤ M).
    public let coefficients: Int
    /// The DCT rows [N, M], row-major.
    let basis: [Float]

    public init(bands: Int, coefficients: Int) {
        precondition(bands >= 1 && (1...bands).contains(coefficients))
        self.bands = bands
        self.coefficients = coefficients
        let M = Double(bands)
        var basis = [Float](repeating: 0, count: coefficients * bands)
        for k in 0..<coefficients {
            let scale = (k == 0 ? 1 / M : 2 / M).squareRoot()
            for m in 0..<bands {
                let angle = Double.pi * Double(k) * (Double(m) + 0.5) / M
                basis[k * bands + m] = Float(scale * cos(angle))
            }
        }
        self.basis = basis
    }

    /// x [T, M] log-mel frames, row-major → [T, N] coefficients.
    public func apply(_ x: [Float]) -> [Float] {
        let M = bands, N = coefficients, T = x.count / M
        precondition(x.count == T * M, "log-mel frames must have \(M) bands")
        var out = [Float](repeating: 0, count: T * N)
        x.withUnsafeBufferPointer { xp in
            basis.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    for t in 0..<T {
                        let row = xp.baseAddress! + t * M
                        for k in 0..<N {
                            let b = bp.baseAddress! + k * M
                            var s: Float = 0
                            for m in 0..<M { s += b[m] * row[m] }
                            op[t * N + k] = s
                        }
                    }
                }
            }
        }
        return out
    }

    /// A one-line description for the stream's meta record.
    public var summary: String { "MFCC n=\(coefficients) (DCT-II, orthonormal)" }
}
