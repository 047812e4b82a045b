import Foundation
import Tensor

/// What data-parallel training needs from the processes it runs on: how many there are,
/// which one this is, sums over all of them, and a way to end them all. `Trainer` calls
/// only this, so a communicator over MPI (CPU buffers) and one over NCCL (device buffers)
/// plug into the same loop.
///
/// Every process calls the collective operations (`allReduceSum`) in the same order with
/// buffers of the same size.
public protocol Communicator: AnyObject {
    /// This process's rank, 0..<size.
    var rank: Int { get }
    /// Number of processes.
    var size: Int { get }
    /// Replaces `tensor`'s values by their elementwise sum over every process (an
    /// all-reduce, in place). The tensor may live on any device.
    func allReduceSum(_ tensor: Tensor) throws
    /// Replaces `values` by their elementwise sum over every process (counts and metrics).
    func allReduceSum(_ values: inout [Double]) throws
    /// Ends every process of the job with `status` (after an error on this one).
    func abort(_ status: Int32) -> Never
    /// Ends this process's part in the job; called once, by every process, after a run
    /// that ended the same way everywhere.
    func finish()
}

/// One process: sums are the values themselves.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allReduceSum(_ tensor: Tensor) throws {}
    public func allReduceSum(_ values: inout [Double]) throws {}
    public func abort(_ status: Int32) -> Never { exit(status) }
    public func finish() {}
}

extension Communicator {
    /// "rank r of N", for messages.
    public var place: String { "rank \(rank) of \(size)" }

    /// Every process's `values` (all of one count), in rank order: each process fills
    /// its own slots of a zero buffer and the buffers are summed.
    public func allGather(_ values: [Double]) throws -> [[Double]] {
        let n = values.count
        var all = [Double](repeating: 0, count: n * size)
        all.replaceSubrange((rank * n)..<((rank + 1) * n), with: values)
        try allReduceSum(&all)
        return (0..<size).map { Array(all[($0 * n)..<(($0 + 1) * n)]) }
    }

    /// The whole of a tensor whose axis 1 is split into rows across the processes: each
    /// process's `local` [A, b, W…] holds rows `share.rows(of: shape[1])` (nil where it
    /// holds none); the result, of `shape` [A, B, W…], is the same on every process and
    /// lives on `local`'s device (the CPU where `local` is nil).
    public func gatherRows(_ local: Tensor?, shape: [Int], share: RowShare) throws -> Tensor {
        let (a, total) = (shape[0], shape[1]), width = shape.dropFirst(2).reduce(1, *)
        let rows = share.rows(of: total)
        let be = local?.backend ?? Backends.cpu
        let whole = Tensor(zeros: shape, on: be)
        if let local, !rows.isEmpty {
            precondition(local.shape == [a, rows.count] + shape.dropFirst(2), "gatherRows: local \(local.shape) is not this share of \(shape)")
            for i in 0..<a {
                be.copy(local.pointer + i * rows.count * width, whole.pointer + (i * total + rows.lowerBound) * width, rows.count * width)
            }
        }
        try allReduceSum(whole)
        return whole
    }
}
