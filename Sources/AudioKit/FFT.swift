import Foundation

/// Iterative radix-2 decimation-in-time FFT of one fixed power-of-two size,
/// on split real and imaginary arrays, in place:
///     X[k] = Σ_{m<n} x[m] · e^{−2πi·km/n}
/// Twiddles and the bit-reversal permutation are tabulated at init, so a
/// transform is n/2·log2(n) butterflies with no trigonometry.
public struct FFT: Sendable {
    /// Transform size, a power of two ≥ 1.
    public let n: Int
    let logN: Int
    /// cos and −sin of 2πk/n for k < n/2.
    let cosT: [Float]
    let sinT: [Float]
    /// bit-reversed index of each index < n.
    let reversed: [Int32]

    public init(size n: Int) {
        precondition(n >= 1 && n & (n - 1) == 0, "FFT size must be a power of two")
        self.n = n
        logN = n.trailingZeroBitCount
        cosT = (0..<(n / 2)).map { Float(cos(2 * Double.pi * Double($0) / Double(n))) }
        sinT = (0..<(n / 2)).map { Float(-sin(2 * Double.pi * Double($0) / Double(n))) }
        var rev = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            var r = 0, v = i
            for _ in 0..<logN { r = (r << 1) | (v & 1); v >>= 1 }
            rev[i] = Int32(r)
        }
        reversed = rev
    }

    /// In-place forward transform.
    /// - Parameters:
    ///   - re: real parts [n], replaced by Re X
    ///   - im: imaginary parts [n], replaced by Im X
    public func forward(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>) {
        for i in 0..<n {
            let j = Int(reversed[i])
            if j > i {
                swap(&re[i], &re[j])
                swap(&im[i], &im[j])
            }
        }
        // first stage (len 2): the twiddle is 1, so no products
        var a = 0
        while a + 1 < n {
            let (br, bi) = (re[a + 1], im[a + 1])
            re[a + 1] = re[a] - br; im[a + 1] = im[a] - bi
            re[a] += br; im[a] += bi
            a += 2
        }
        cosT.withUnsafeBufferPointer { c in
            sinT.withUnsafeBufferPointer { s in
                var len = 4
                while len <= n {
                    let halfLen = len / 2
                    let stride = n / len          // twiddle index step for this stage
                    var start = 0
                    while start < n {
                        for k in 0..<halfLen {
                            let wr = c[k * stride], wi = s[k * stride]
                            let a = start + k, b = a + halfLen
                            // t = w · x[b]
                            let tr = wr * re[b] - wi * im[b]
                            let ti = wr * im[b] + wi * re[b]
                            re[b] = re[a] - tr; im[b] = im[a] - ti
                            re[a] += tr; im[a] += ti
                        }
                        start += len
                    }
                    len *= 2
                }
            }
        }
    }

    /// Forward transform of arrays (convenience for tests and small uses).
    public func forward(re: inout [Float], im: inout [Float]) {
        precondition(re.count == n && im.count == n)
        re.withUnsafeMutableBufferPointer { r in
            im.withUnsafeMutableBufferPointer { i in forward(r.baseAddress!, i.baseAddress!) }
        }
    }
}

/// The spectrum of a real signal of power-of-two length n, computed with one
/// complex FFT of size n/2: pack z[m] = x[2m] + i·x[2m+1], transform, then
///     E_k = (Z_k + conj Z_{n/2−k}) / 2,   O_k = (Z_k − conj Z_{n/2−k}) / 2i,
///     X_k = E_k + e^{−2πik/n} · O_k        for k = 0 … n/2.
public struct RealFFT: Sendable {
    /// Real input length, a power of two ≥ 2.
    public let n: Int
    let complex: FFT
    /// cos and −sin of 2πk/n for k ≤ n/2.
    let cosT: [Float]
    let sinT: [Float]

    public init(size n: Int) {
        precondition(n >= 2 && n & (n - 1) == 0, "real FFT size must be a power of two ≥ 2")
        self.n = n
        complex = FFT(size: n / 2)
        cosT = (0...(n / 2)).map { Float(cos(2 * Double.pi * Double($0) / Double(n))) }
        sinT = (0...(n / 2)).map { Float(-sin(2 * Double.pi * Double($0) / Double(n))) }
    }

    /// Number of non-negative frequency bins: n/2 + 1.
    public var bins: Int { n / 2 + 1 }

    /// |X_k|² for k = 0 … n/2.
    /// - Parameters:
    ///   - x: the signal [n]
    ///   - power: out [n/2 + 1]
    ///   - scratch: work space [n] (n/2 real parts, then n/2 imaginary parts)
    public func powerSpectrum(_ x: UnsafePointer<Float>, into power: UnsafeMutablePointer<Float>,
                              scratch: UnsafeMutablePointer<Float>) {
        let h = n / 2
        let zr = scratch, zi = scratch + h
        for m in 0..<h { zr[m] = x[2 * m]; zi[m] = x[2 * m + 1] }
        complex.forward(zr, zi)
        // k = 0 and k = n/2 use Z_0 alone: X_0 = Re Z_0 + Im Z_0, X_{n/2} = Re Z_0 − Im Z_0 (both real)
        let x0 = zr[0] + zi[0], xh = zr[0] - zi[0]
        power[0] = x0 * x0
        power[h] = xh * xh
        cosT.withUnsafeBufferPointer { c in
            sinT.withUnsafeBufferPointer { s in
                for k in 1..<max(h, 1) {
                    let b = h - k                         // Z_k and Z_{n/2−k}
                    let er = 0.5 * (zr[k] + zr[b]), ei = 0.5 * (zi[k] - zi[b])
                    // O_k = (Z_k − conj Z_{n/2−k}) / 2i
                    let or = 0.5 * (zi[k] + zi[b]), oi = -0.5 * (zr[k] - zr[b])
                    let wr = c[k], wi = s[k]
                    let xr = er + wr * or - wi * oi
                    let xi = ei + wr * oi + wi * or
                    power[k] = xr * xr + xi * xi
                }
            }
        }
    }

    /// |X_k|² of an array [n] (convenience for tests).
    public func powerSpectrum(_ x: [Float]) -> [Float] {
        precondition(x.count == n)
        var out = [Float](repeating: 0, count: bins)
        var scratch = [Float](repeating: 0, count: n)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                scratch.withUnsafeMutableBufferPointer { sp in
                    powerSpectrum(xp.baseAddress!, into: op.baseAddress!, scratch: sp.baseAddress!)
                }
            }
        }
        return out
    }
}
