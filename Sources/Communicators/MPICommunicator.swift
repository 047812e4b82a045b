#if MPI
import CMPI
import Foundation
import Models
import Tensor

/// The processes of an MPI job (`MPI_COMM_WORLD`), Open MPI or MPICH: sums by
/// `MPI_Allreduce` in place, ends by `MPI_Abort`. Device tensors go through host memory.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    private var finished = false

    public init() throws {
        var r: Int32 = 0, n: Int32 = 0
        guard MPI_Init(nil, nil) == MPI_SUCCESS else { throw CommunicatorError("MPI_Init failed") }
        MPI_Comm_rank(recur_mpi_comm_world(), &r)
        MPI_Comm_size(recur_mpi_comm_world(), &n)
        rank = Int(r); size = Int(n)
    }

    /// MPI counts are Int32: long buffers go in pieces.
    private static let piece = 1 << 30

    private func sum(_ base: UnsafeMutableRawPointer, count: Int, type: MPI_Datatype, width: Int) throws {
        var done = 0
        while done < count {
            let n = min(Self.piece, count - done)
            let rc = MPI_Allreduce(recur_mpi_in_place(), base + done * width, Int32(n), type, recur_mpi_sum(), recur_mpi_comm_world())
            guard rc == MPI_SUCCESS else { throw CommunicatorError("MPI_Allreduce failed (\(rc))") }
            done += n
        }
    }

    public func allReduceSum(_ tensor: Tensor) throws {
        if tensor.device == .cpu {
            try sum(tensor.pointer, count: tensor.count, type: recur_mpi_float(), width: 4)
        } else {
            var host = tensor.values
            try host.withUnsafeMutableBytes { try sum($0.baseAddress!, count: tensor.count, type: recur_mpi_float(), width: 4) }
            tensor.assign(host)
        }
    }

    public func allReduceSum(_ values: inout [Double]) throws {
        let n = values.count
        try values.withUnsafeMutableBytes { try sum($0.baseAddress!, count: n, type: recur_mpi_double(), width: 8) }
    }

    public func abort(_ status: Int32) -> Never {
        MPI_Abort(recur_mpi_comm_world(), status)
        exit(status)
    }

    public func finish() {
        guard !finished else { return }
        finished = true
        MPI_Finalize()
    }
}
#endif
