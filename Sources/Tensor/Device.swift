/// Where a tensor's storage lives.
public enum Device: String, Sendable, CaseIterable, CustomStringConvertible {
    case cpu
    case cuda

    public var description: String { rawValue }

    /// The backend that runs kernels on this device.
    /// - Throws: `TensorError.deviceUnavailable` when the device cannot be used here.
    public func backend() throws -> any Backend {
        switch self {
        case .cpu: return CPUBackend.shared
        case .cuda: throw TensorError.deviceUnavailable("cuda: the CUDA backend is not built into this binary yet")
        }
    }
}

/// Errors raised by the tensor library (never traps on user input).
public enum TensorError: Error, CustomStringConvertible, Equatable {
    case deviceUnavailable(String)
    case shapeMismatch(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .deviceUnavailable(let s), .shapeMismatch(let s), .invalidArgument(let s): return s
        }
    }
}
