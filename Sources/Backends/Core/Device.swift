/// Where a tensor's storage lives.
public enum Device: String, Sendable, CaseIterable, CustomStringConvertible {
    case cpu
    case cuda

    public var description: String { rawValue }
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
