import Foundation

/// Axis ticks at "nice" values (1, 2, 5 × 10ⁿ), about `count` of them over `low…high`.
public struct Ticks: Sendable {
    public let values: [Double]
    /// The axis range, widened to whole ticks.
    public let low: Double, high: Double
    public let step: Double

    public init(_ low: Double, _ high: Double, count: Int = 6) {
        var (lo, hi) = (low, high)
        if !(lo.isFinite && hi.isFinite) { (lo, hi) = (0, 1) }
        if hi - lo < 1e-12 * max(abs(lo), 1) { lo -= max(abs(lo) * 0.05, 0.5); hi += max(abs(hi) * 0.05, 0.5) }
        let raw = (hi - lo) / Double(max(count, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = floor(lo / step) * step, last = ceil(hi / step) * step
        var v = [Double]()
        var x = first
        while x <= last + step * 1e-9 { v.append(abs(x) < step * 1e-9 ? 0 : x); x += step }
        values = v
        self.low = first; self.high = last; self.step = step
    }

    /// A tick's label: as few decimals as the step needs.
    public func label(_ v: Double) -> String {
        let decimals = max(0, -Int(floor(log10(step) + 1e-9)))
        if abs(v) >= 1e5 || (abs(v) < 1e-3 && v != 0) { return String(format: "%.1e", v) }
        return String(format: "%.\(decimals)f", v)
    }
}
