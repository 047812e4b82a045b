import ArgumentParser
import CKernels
import TensorStream

/// Language-model windows over one long sequence of token ids (characters for
/// charidx, words or word pieces for tok): example k has x = ids[s..<s+N] and
/// y = ids[s+1...s+N] for its start s.
public struct LanguageModelWindows {
    /// How windows are ordered (d2l's two ways of reading a long sequence).
    public enum Sampling: String, Sendable, CaseIterable {
        /// A random offset in 0..<N, then non-overlapping windows in a shuffled order.
        case random
        /// A random offset, then windows in reading order; with `stripes` B the
        /// sequence is cut into B stripes whose windows are interleaved, so that
        /// batches of B rows continue each other row by row (state carrying).
        case sequential
    }

    public let steps: Int
    public let sampling: Sampling
    public let stripes: Int?

    public init(steps: Int, sampling: Sampling, stripes: Int?) {
        precondition(steps >= 1 && (stripes ?? 1) >= 1)
        self.steps = steps; self.sampling = sampling; self.stripes = stripes
    }

    /// The window starts for a sequence of `n` ids, in output order.
    @inlinable
    public func starts(_ n: Int, _ rng: inout some RandomNumberGenerator) -> [Int] {
        guard n > steps else { return [] }
        let offset = Int(rng.next() % UInt64(steps))
        switch sampling {
        case .random:
            var starts = Array(stride(from: offset, through: n - steps - 1, by: steps))
            for i in stride(from: starts.count - 1, to: 0, by: -1) { starts.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            return starts
        case .sequential:
            let b = stripes ?? 1
            let usable = (n - offset - 1) / b / steps * steps  // ids per stripe, whole windows
            guard usable > 0 else { return [] }
            var out = [Int]()
            out.reserveCapacity(usable / steps * b)
            for w in 0..<(usable / steps) { for row in 0..<b { out.append(offset + row * usable + w * steps) } }
            return out
        }
    }

    /// Records the meta of such a stream: task lm, `steps`, `sampling`, and `stripes`
    /// when the windows are striped (evaluation then carries state across B rows).
    public func describe(_ meta: inout StreamMeta) {
        meta.task = "lm"
        meta.fields["steps"] = String(steps)
        meta.fields["sampling"] = sampling.rawValue
        if let stripes, sampling == .sequential { meta.fields["stripes"] = String(stripes) }
    }

    /// Writes the windows of `ids` that start at `starts` (from `starts(ids.count, _)`) as
    /// example records (id "`unit` start", pos = the window's place in the stream);
    /// returns how many.
    public func write(_ ids: [Int32], starts: [Int], unit: String, to writer: StreamWriter) throws -> Int {
        try writeWindows(ids, starts, unit: unit, to: writer)
    }

    /// The same for ids held as bytes (a vocabulary of up to 256): each window's ids
    /// are widened to int32 as they are written.
    public func write(_ ids: [UInt8], starts: [Int], unit: String, to writer: StreamWriter) throws -> Int {
        try writeWindows(ids, starts, unit: unit, to: writer)
    }

    // x: int32 [steps] = ids[s..<s+steps], y: int32 [steps] = ids[s+1...s+steps] for each start s.
    func writeWindows<ID: FixedWidthInteger>(_ ids: [ID], _ all: [Int], unit: String, to writer: StreamWriter) throws -> Int {
        let (prefix, steps, bytes) = (unit + " ", steps, 4 * steps)
        precondition(all.allSatisfy { $0 >= 0 && $0 + steps < ids.count }, "a window past the end of the ids")
        // Every window's header is the same but for its start and position.
        let template = RecordTemplate(.example) { e in
            e.meta("id", prefix: prefix, number: RecordTemplate.hole)
            e.meta("pos", prefix: "", number: RecordTemplate.hole)
            e.entry("x", dtype: .i32, shape: [steps], begin: 0, end: bytes)
            e.entry("y", dtype: .i32, shape: [steps], begin: bytes, end: 2 * bytes)
        }
        let output = writer.output
        var numbers = [0, 0]
        try ids.withUnsafeBufferPointer { ids in
            let perLine = 64 / MemoryLayout<ID>.stride  // ids in a cache line
            for (pos, start) in all.enumerated() {
                // shuffled windows are scattered over the ids: ask for one a few records ahead
                if pos + 8 < all.count {
                    let ahead = ids.baseAddress! + all[pos + 8]
                    for k in stride(from: 0, to: min(steps, 4 * perLine), by: perLine) { rk_prefetch(ahead + k) }
                    rk_prefetch(ahead + min(steps, 4 * perLine))
                }
                numbers[0] = start
                numbers[1] = pos
                try template.write(numbers, to: output)
                let p = UnsafeMutableRawPointer(try output.room(2 * bytes))
                let window = ids.baseAddress! + start
                if ID.self == Int32.self {
                    p.copyMemory(from: window, byteCount: bytes)
                    (p + bytes).copyMemory(from: window + 1, byteCount: bytes)
                } else {
                    for k in 0..<steps {
                        p.storeBytes(of: Int32(truncatingIfNeeded: window[k]), toByteOffset: 4 * k, as: Int32.self)
                        p.storeBytes(of: Int32(truncatingIfNeeded: window[k + 1]), toByteOffset: bytes + 4 * k, as: Int32.self)
                    }
                }
                output.advance(2 * bytes)
            }
        }
        return all.count
    }
}

extension LanguageModelWindows.Sampling: ExpressibleByArgument {}
