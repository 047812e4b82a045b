/// A dense, row-major float32 tensor with an optional gradient.
///
/// `Tensor` is a reference type, like a PyTorch tensor: parameters are shared
/// by the layers and optimisers that hold them. Operations make new tensors
/// and, while recording (see `Autograd`), put their backward on the tape.
public final class Tensor: @unchecked Sendable {
    /// The size of each axis.
    public let shape: [Int]
    /// The values (replaced, not changed, by `move(to:)`).
    public private(set) var storage: Storage
    /// Whether gradients are accumulated for this tensor.
    public var requiresGrad: Bool
    /// ∂loss/∂self after `backward()`, same shape; nil until a gradient arrives.
    public var grad: Tensor?

    /// Number of elements.
    @inlinable public var count: Int { shape.reduce(1, *) }
    /// The backend that owns the storage.
    public var backend: any Backend { storage.backend }
    public var device: Device { storage.backend.device }
    /// Base address of the storage (device address off the CPU).
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    /// A tensor over an existing storage (no copy).
    public init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) <= storage.count, "shape \(shape) larger than storage")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// Zeros of the given shape.
    public convenience init(zeros shape: [Int], on backend: any Backend = CPUBackend.shared, requiresGrad: Bool = false) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *), backend: backend), requiresGrad: requiresGrad)
    }

    /// Uninitialised memory; every element must be written before it is read.
    public convenience init(uninitialized shape: [Int], on backend: any Backend = CPUBackend.shared) {
        self.init(shape: shape, storage: Storage(uninitializedCount: shape.reduce(1, *), backend: backend))
    }

    /// A tensor holding `values` (count must match the shape).
    public convenience init(_ values: [Float], shape: [Int], on backend: any Backend = CPUBackend.shared,
                            requiresGrad: Bool = false) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.init(uninitialized: shape, on: backend)
        values.withUnsafeBufferPointer { backend.upload($0, to: storage.pointer) }
        self.requiresGrad = requiresGrad
    }

    /// A copy of the values on the host.
    public var values: [Float] {
        let n = count
        return [Float](unsafeUninitializedCapacity: n) { buf, initialized in
            backend.download(storage.pointer, n, into: buf)
            initialized = n
        }
    }

    /// The single value of a one-element tensor.
    public var item: Float { values[0] }

    /// Overwrites the values from the host.
    public func assign(_ values: [Float]) {
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { backend.upload($0, to: storage.pointer) }
    }

    /// Copies another tensor's values into this one (same element count).
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "shape \(other.shape) into \(shape)")
        backend.copy(other.pointer, pointer, count)
    }

    /// Adds `g` (same element count) into `grad`, creating it on first use.
    public func accumulateGrad(_ g: UnsafePointer<Float>) {
        if let grad {
            backend.axpy(count, 1, g, grad.pointer)
        } else {
            let t = Tensor(uninitialized: shape, on: backend)
            backend.copy(g, t.pointer, count)
            grad = t
        }
    }

    /// Adds `scale · g` (same shape) into `grad`. When there is none yet, `g` itself,
    /// scaled in place, becomes it: no zero-filled buffer, no second pass. For a
    /// backward step's own temporary, which it must not use afterwards.
    public func accumulateGrad(consuming g: Tensor, scale: Float = 1) {
        precondition(g.shape == shape && g.backend === backend, "gradient \(g.shape) for shape \(shape)")
        if let grad {
            backend.axpy(count, scale, g.pointer, grad.pointer)
        } else {
            if scale != 1 { backend.scale(count, scale, g.pointer) }
            grad = g
        }
    }

    /// The gradient buffer, created zero-filled if missing, for kernels that accumulate into it.
    public func gradBuffer() -> UnsafeMutablePointer<Float> {
        if let grad { return grad.pointer }
        let t = Tensor(zeros: shape, on: backend)
        grad = t
        return t.pointer
    }

    /// Moves the values (and the gradient) to `backend`, in place, so that every layer
    /// and optimiser holding this tensor finds it there (PyTorch's `module.to(device)`).
    /// Parameters are initialised on the CPU from the seed and moved: one seed gives
    /// the same weights on every device.
    public func move(to backend: any Backend) {
        guard backend !== self.backend else { return }
        let v = values
        let s = Storage(uninitializedCount: max(count, 1), backend: backend)
        v.withUnsafeBufferPointer { backend.upload($0, to: s.pointer) }
        storage = s
        grad?.move(to: backend)
    }

    /// A copy of this tensor on `backend` (this tensor itself when it is there already).
    public func on(_ backend: any Backend) -> Tensor {
        guard backend !== self.backend else { return self }
        return Tensor(values, shape: shape, on: backend)
    }

    /// An operation's operands must live on one device: mixing them is a programming
    /// error (the tools move the model and each batch to one device), stopped here with
    /// the operation's name rather than a kernel reading another device's memory.
    public func requireDevice(of others: Tensor..., in operation: String) {
        for o in others {
            precondition(o.backend === backend, "\(operation): operands on \(device) and \(o.device); move them to one device first")
        }
    }

    /// A new tensor with the same values that is not on the tape.
    public func detached() -> Tensor {
        let t = Tensor(uninitialized: shape, on: backend)
        t.assign(self)
        return t
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let v = values
        let shown = v.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(shown)\(v.count > 8 ? ", …" : "")])"
    }
}
