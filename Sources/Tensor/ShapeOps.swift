// Differentiable shape operations: reshape, slice, concatenate, transpose,
// element-wise add/scale. Each function computes its result and records its
// backward right beside it.

extension Tensor {
    /// The same values viewed with another shape (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var newShape = newShape
        if let i = newShape.firstIndex(of: -1) {
            newShape[i] = count / newShape.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
        }
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        let out = Tensor(shape: newShape, storage: storage)
        Autograd.record([self], out) {
            guard let g = out.grad else { return }
            self.accumulateGrad(g.pointer)
        }
        return out
    }

    /// Elements `start ..< start+length` along `axis` (like `x.narrow(axis, start, length)`).
    public func narrow(axis: Int, start: Int, length: Int) -> Tensor {
        precondition(axis >= 0 && axis < shape.count && start >= 0 && start + length <= shape[axis],
                     "narrow(\(axis), \(start), \(length)) of \(shape)")
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let n = shape[axis]
        var src = [Int32]()
        src.reserveCapacity(outer * length)
        for o in 0..<outer { for j in 0..<length { src.append(Int32(o * n + start + j)) } }
        var outShape = shape
        outShape[axis] = length
        let out = Tensor(uninitialized: outShape, on: backend)
        backend.gatherBlocks(pointer, width: inner, src: src, out.pointer)
        Autograd.record([self], out) {
            guard let g = out.grad else { return }
            self.accumulateGrad(rowsOf: g, width: inner, src: src) { (0..<outer * n).map { r in
                let (o, j) = (r / n, r % n)
                return j >= start && j < start + length ? Int32(o * length + j - start) : -1
            } }
        }
        return out
    }

    /// Index `i` along `axis`, removing that axis (negative counts from the end).
    public func select(axis: Int, index: Int) -> Tensor {
        let i = index < 0 ? shape[axis] + index : index
        var s = shape
        s.remove(at: axis)
        return narrow(axis: axis, start: i, length: 1).reshaped(s)
    }

    /// Concatenates tensors along `axis`; all other axes must agree.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty)
        let first = parts[0]
        for p in parts.dropFirst() { first.requireDevice(of: p, in: "concat") }
        let outer = first.shape[..<axis].reduce(1, *), inner = first.shape[(axis + 1)...].reduce(1, *)
        let total = parts.reduce(0) { $0 + $1.shape[axis] }
        var outShape = first.shape
        outShape[axis] = total
        let out = Tensor(uninitialized: outShape, on: first.backend)
        let be = first.backend
        var offset = 0
        var offsets = [Int]()
        for p in parts {
            precondition(p.shape.count == first.shape.count, "concat of \(p.shape) and \(first.shape)")
            let w = p.shape[axis] * inner
            for o in 0..<outer { be.copy(p.pointer + o * w, out.pointer + o * total * inner + offset * inner, w) }
            offsets.append(offset)
            offset += p.shape[axis]
        }
        Autograd.record(parts, out) {
            guard let g = out.grad else { return }
            for (p, off) in zip(parts, offsets) where p.requiresGrad {
                let w = p.shape[axis] * inner
                let dst = p.gradBuffer()
                for o in 0..<outer { be.axpy(w, 1, g.pointer + o * total * inner + off * inner, dst + o * w) }
            }
        }
        return out
    }

    /// Swaps the first two axes of a tensor of rank ≥ 2: [A, B, …] → [B, A, …]
    /// (batch-first ↔ time-major).
    public func swappingFirstAxes() -> Tensor {
        let a = shape[0], b = shape[1], inner = shape[2...].reduce(1, *)
        var src = [Int32](repeating: 0, count: a * b)
        for i in 0..<b { for j in 0..<a { src[i * a + j] = Int32(j * b + i) } }
        var outShape = shape
        outShape.swapAt(0, 1)
        let out = Tensor(uninitialized: outShape, on: backend)
        backend.gatherBlocks(pointer, width: inner, src: src, out.pointer)
        Autograd.record([self], out) {
            guard let g = out.grad else { return }
            // the inverse permutation is the same swap the other way
            self.accumulateGrad(rowsOf: g, width: inner, src: src) { (0..<a * b).map { r in Int32((r % b) * a + r / b) } }
        }
        return out
    }

    /// Adds g's rows into this tensor's gradient where `src` took them from: row i of g
    /// belongs to row src[i] of this tensor (viewed as [rows, width]), each row of this
    /// tensor taking at most one. On first use the gradient is gathered whole, zeros
    /// where `inverse()` (row r's row of g, or −1) has none, in one pass the backend
    /// splits, instead of zero-filled and scatter-added into.
    func accumulateGrad(rowsOf g: Tensor, width: Int, src: [Int32], inverse: () -> [Int32]) {
        if grad == nil {
            let t = Tensor(uninitialized: shape, on: backend)
            backend.gatherBlocks(g.pointer, width: width, src: inverse(), t.pointer)
            grad = t
        } else {
            backend.scatterAddBlocks(g.pointer, width: width, src: src, gradBuffer())
        }
    }

    /// Element-wise sum of two tensors of the same shape.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.count == b.count, "\(a.shape) + \(b.shape)")
        a.requireDevice(of: b, in: "+")
        let out = Tensor(uninitialized: a.shape, on: a.backend)
        out.assign(a)
        a.backend.axpy(a.count, 1, b.pointer, out.pointer)
        Autograd.record([a, b], out) {
            guard let g = out.grad else { return }
            if a.requiresGrad { a.accumulateGrad(g.pointer) }
            if b.requiresGrad { b.accumulateGrad(g.pointer) }
        }
        return out
    }

    /// Multiplies every element by `s`.
    public static func * (a: Tensor, s: Float) -> Tensor {
        let out = Tensor(uninitialized: a.shape, on: a.backend)
        out.assign(a)
        a.backend.scale(a.count, s, out.pointer)
        Autograd.record([a], out) {
            guard let g = out.grad else { return }
            a.backend.axpy(a.count, s, g.pointer, a.gradBuffer())
        }
        return out
    }

    /// x [B, T, H] → [B, H]: the mean over each sequence's own steps, t < lengths[b]
    /// (all T steps when `lengths` is nil). Padded steps get no gradient.
    public func meanOverSteps(lengths: [Int]?) -> Tensor {
        precondition(shape.count == 3, "meanOverSteps of \(shape)")
        let (B, T, H) = (shape[0], shape[1], shape[2])
        let lens = lengths ?? [Int](repeating: T, count: B)
        precondition(lens.count == B && lens.allSatisfy { $0 >= 1 && $0 <= T }, "lengths \(lens) for \(shape)")
        let out = Tensor(uninitialized: [B, H], on: backend)
        backend.fill(out.pointer, B * H, 0)
        for b in 0..<B {
            let w = 1 / Float(lens[b])
            for t in 0..<lens[b] { backend.axpy(H, w, pointer + (b * T + t) * H, out.pointer + b * H) }
        }
        Autograd.record([self], out) {
            guard let g = out.grad else { return }
            let dx = self.gradBuffer()
            for b in 0..<B {
                let w = 1 / Float(lens[b])
                for t in 0..<lens[b] { self.backend.axpy(H, w, g.pointer + b * H, dx + (b * T + t) * H) }
            }
        }
        return out
    }

    /// Sum of all elements, as a one-element tensor.
    public func sum() -> Tensor {
        let out = Tensor([Float(backend.sum(pointer, count))], shape: [1], on: backend)
        Autograd.record([self], out) {
            guard let g = out.grad else { return }
            let ones = Tensor(uninitialized: self.shape, on: self.backend)
            self.backend.fill(ones.pointer, self.count, g.item)
            self.accumulateGrad(ones.pointer)
        }
        return out
    }

    /// max(x, 0) element-wise.
    public func relu() -> Tensor {
        let out = Tensor(uninitialized: shape, on: backend)
        backend.relu(count, pointer, out.pointer)
        Autograd.record([self], out) {
            guard let g = out.grad else { return }
            self.backend.reluBackward(self.count, out.pointer, g.pointer, self.gradBuffer())
        }
        return out
    }
}
