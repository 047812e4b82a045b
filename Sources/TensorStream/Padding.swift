import Foundation
/// Stacking examples into one padded batch record.
public enum Padding {
    /// The machine's memory (bytes), read once.
    private static let memory = ProcessInfo.processInfo.physicalMemory

    /// x [T,…] → [B, Tmax, …]; y [1] → [B]; y [T,…] → [B, Tmax, …]; len [B].
    public static func batch(_ group: [Record], pad: Int32) throws -> Record {
        guard let x0 = group[0]["x"] else { throw StreamError("example \(group[0].metadata["id"] ?? "?") has no x") }
        let inner = Array(x0.shape.dropFirst())
        guard let innerCount = Codec.elementCount(inner) else {
            throw StreamError("example \(group[0].metadata["id"] ?? "?"): x \(x0.shape) has too many elements a step")
        }
        let lengths = try group.map { r -> Int32 in
            guard let x = r["x"], x.dtype == x0.dtype, Array(x.shape.dropFirst()) == inner, !x.shape.isEmpty else {
                throw StreamError("example \(r.metadata["id"] ?? "?"): x \(r["x"].map { "\($0.dtype.rawValue) \($0.shape)" } ?? "missing") does not match the first example's \(x0.dtype.rawValue) [T, \(inner.map(String.init).joined(separator: ", "))]")
            }
            guard let t = Int32(exactly: x.shape[0]), t <= 1 << 24, inner.allSatisfy({ $0 >= 1 }) else {
                throw StreamError("example \(r.metadata["id"] ?? "?"): x \(x.shape) has too many steps or an empty axis")
            }
            guard x.dtype == .f32 || x.ints != nil else {
                throw StreamError("example \(r.metadata["id"] ?? "?"): x holds a value outside the 32-bit integer range")
            }
            return t
        }
        let tMax = Int(lengths.max() ?? 0)
        try checkSize(examples: group.count, steps: tMax, inner: innerCount)
        var out = Record(kind: .batch, metadata: ["ids": StreamMeta.list(group.map { $0.metadata["id"] ?? "" })])
        out["x"] = stack(group.map { $0["x"]! }, tMax: tMax, intPad: pad)
        out["len"] = StreamTensor(lengths, shape: [group.count])
        if let y0 = group[0]["y"] {
            // a class per example when every y is [1]; else per step, each y [T_i, …] with T_i ≤ tMax
            let perExample = group.allSatisfy { $0["y"]?.shape == [1] }
            if !perExample {
                guard let yInner = Codec.elementCount(y0.shape.dropFirst()) else {
                    throw StreamError("example \(group[0].metadata["id"] ?? "?"): y \(y0.shape) has too many elements a step")
                }
                try checkSize(examples: group.count, steps: tMax, inner: yInner)
            }
            let ys = try group.map { r -> StreamTensor in
                guard let y = r["y"], y.dtype == y0.dtype, y.shape.count == y0.shape.count,
                      perExample || (y.shape.count >= 1 && y.shape.dropFirst() == y0.shape.dropFirst() && y.shape[0] <= tMax) else {
                    throw StreamError("example \(r.metadata["id"] ?? "?"): y does not match the first example's")
                }
                guard y.dtype == .f32 || y.ints != nil || (perExample && group.count == 1) else {
                    throw StreamError("example \(r.metadata["id"] ?? "?"): y holds a value outside the 32-bit integer range")
                }
                return y
            }
            if perExample {
                out["y"] = ys.count == 1 ? StreamTensor(shape: [1], values: y0.values)
                    : concatenated(ys, shape: [group.count])
            } else {
                out["y"] = stack(ys, tMax: tMax, intPad: -100)
            }
        }
        return out
    }

    /// Refuses a padded batch of more than half the machine's memory (4-byte elements).
    public static func checkSize(examples: Int, steps: Int, inner: Int) throws {
        let bytes = Double(examples) * Double(steps) * Double(max(inner, 1)) * 4
        if bytes > 0.5 * Double(memory) {
            throw StreamError("a padded batch of \(examples) × \(steps) steps needs \(Int(bytes / 1e9)) GB; this machine has \(memory / 1_000_000_000) GB (a smaller --batch)")
        }
    }

    public static func concatenated(_ ts: [StreamTensor], shape: [Int]) -> StreamTensor {
        switch ts[0].values {
        case .f32: return StreamTensor(shape: shape, values: .f32(ts.flatMap(\.floats)))
        default: return StreamTensor(shape: shape, values: .i32(ts.flatMap { $0.ints ?? [] }))
        }
    }

    /// [T_i, …] each → [B, tMax, …], padded at the end.
    public static func stack(_ ts: [StreamTensor], tMax: Int, intPad: Int32) -> StreamTensor {
        let inner = ts[0].shape.dropFirst().reduce(1, *)
        let shape = [ts.count, tMax] + Array(ts[0].shape.dropFirst())
        if case .f32 = ts[0].values {
            var v = [Float](repeating: 0, count: ts.count * tMax * inner)
            for (i, t) in ts.enumerated() { v.replaceSubrange((i * tMax * inner)..<(i * tMax * inner + t.count), with: t.floats) }
            return StreamTensor(shape: shape, values: .f32(v))
        }
        var v = [Int32](repeating: intPad, count: ts.count * tMax * inner)
        for (i, t) in ts.enumerated() { v.replaceSubrange((i * tMax * inner)..<(i * tMax * inner + t.count), with: t.ints ?? []) }
        return StreamTensor(shape: shape, values: .i32(v))
    }
}
