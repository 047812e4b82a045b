/// A one-line picture of a series with block characters ▁▂▃▄▅▆▇█: the values averaged
/// into at most `width` buckets, scaled between their minimum and maximum.
public func sparkline(_ values: [Double], width: Int = 40) -> String {
    let v = values.filter(\.isFinite)
    guard !v.isEmpty, width > 0 else { return "" }
    let buckets = min(width, v.count)
    let means = (0..<buckets).map { b -> Double in
        let part = v[(b * v.count / buckets)..<((b + 1) * v.count / buckets)]
        return part.reduce(0, +) / Double(part.count)
    }
    let blocks = Array("▁▂▃▄▅▆▇█")
    let (lo, hi) = (means.min()!, means.max()!)
    return String(means.map { m in blocks[hi > lo ? min(7, Int((m - lo) / (hi - lo) * 7.999)) : 3] })
}
