import Foundation
import Models

/// The processes a run is started on.
public enum Communicators {
    /// Whether an MPI launcher (mpirun, mpiexec, srun) started this process.
    public static var launched: Bool {
        let env = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].contains { env[$0] != nil }
    }

    /// The communicator of this run: MPI's world when a launcher started it (in a build
    /// with the MPI trait), else this process alone. A build without MPI started by a
    /// launcher refuses: N independent runs would race on the same output.
    public static func world() throws -> any Communicator {
        guard launched else { return SingleProcess() }
        #if MPI
        return try MPICommunicator()
        #else
        throw CommunicatorError("this build has no MPI, but an MPI launcher started it; build with "
                                + "'swift build -c release --traits MPI --build-path .build-mpi' (needs libopenmpi-dev or libmpich-dev)")
        #endif
    }
}

/// A failure to set up or use the processes of a run.
public struct CommunicatorError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
