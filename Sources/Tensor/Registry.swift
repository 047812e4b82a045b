@_exported import TensorCore
@_exported import TensorCPU
import TensorCUDA

/// The backends this build has, one per device (ggml's registry in miniature): the
/// CPU always; others are looked up when first asked for, and one that cannot run
/// here (no driver, no library) says exactly what is missing.
public enum Backends {
    /// The CPU backend: where parameters are initialised and checkpoints are read.
    public static var cpu: any Backend { CPUBackend.shared }
}

extension Device {
    /// The CUDA backend: the kernels on the GPU through the driver, NVRTC and cuBLAS.
    static let cuda: Result<any Backend, TensorError> = CUDADevice.shared.map { KernelBackend($0) }

    /// The backend that runs kernels on this device.
    /// - Throws: `TensorError.deviceUnavailable` naming what is missing when the device cannot be used here.
    public func backend() throws -> any Backend {
        switch self {
        case .cpu: return CPUBackend.shared
        case .cuda: return try Self.cuda.get()
        }
    }
}
