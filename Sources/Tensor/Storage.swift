/// A flat buffer of float32 values owned by one backend.
///
/// Tensors share storages (a reshape is a new `Tensor` over the same storage).
/// The memory is freed by the backend that allocated it when the last
/// reference goes away.
public final class Storage: @unchecked Sendable {
    /// Base address. On the CPU it can be read and written directly; on other
    /// devices it is an opaque device address handed to that backend's kernels.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of floats.
    public let count: Int
    /// The backend that owns the memory.
    public let backend: any Backend

    /// Allocates `count` floats on `backend`, zero-filled.
    public init(count: Int, backend: any Backend) {
        self.count = count
        self.backend = backend
        self.pointer = backend.allocate(count)
        backend.fill(pointer, count, 0)
    }

    /// Allocates `count` floats on `backend` without initialising them.
    public init(uninitializedCount count: Int, backend: any Backend) {
        self.count = count
        self.backend = backend
        self.pointer = backend.allocate(count)
    }

    deinit { backend.deallocate(pointer, count) }
}
