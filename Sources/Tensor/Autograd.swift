#if canImport(Glibc)
import Glibc
#endif

/// Reverse-mode automatic differentiation on a tape.
///
/// Every differentiable operation appends one closure to the tape when it
/// runs with recording on and some input requires a gradient. `backward()`
/// runs the closures in reverse order; each reads its output's `grad` and
/// accumulates into its inputs' `grad`. The tape is then cleared.
///
/// Each thread has its own tape, so independent models can train on
/// different threads (parallel kernels run inside a single operation).
public enum Autograd {
    final class Tape {
        var steps: [() -> Void] = []
        var enabled = true
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { if let p = $0 { Unmanaged<Tape>.fromOpaque(p).release() } }
        return key
    }()

    /// This thread's tape.
    static var tape: Tape {
        if let p = pthread_getspecific(key) { return Unmanaged<Tape>.fromOpaque(p).takeUnretainedValue() }
        let t = Tape()
        pthread_setspecific(key, Unmanaged.passRetained(t).toOpaque())
        return t
    }

    /// Whether operations are being recorded now (on this thread).
    public static var isRecording: Bool { tape.enabled }

    /// Number of operations on this thread's tape (for tests and diagnostics).
    public static var tapeLength: Int { tape.steps.count }

    /// Records `backward` if recording is on and any input requires a gradient;
    /// marks `output` as requiring a gradient in that case.
    /// - Returns: whether the operation was recorded.
    @discardableResult
    public static func record(_ inputs: [Tensor], _ output: Tensor, backward: @escaping () -> Void) -> Bool {
        let t = tape
        guard t.enabled, inputs.contains(where: { $0.requiresGrad }) else { return false }
        output.requiresGrad = true
        t.steps.append(backward)
        return true
    }

    /// Forgets everything recorded (e.g. after a forward pass whose gradient is not wanted).
    public static func reset() { tape.steps.removeAll(keepingCapacity: true) }
}

/// Runs `body` without recording operations (inference).
public func noGrad<R>(_ body: () throws -> R) rethrows -> R {
    let tape = Autograd.tape
    let was = tape.enabled
    tape.enabled = false
    defer { tape.enabled = was }
    return try body()
}

extension Autograd {
    /// Back-propagates from several outputs at once: each output's gradient
    /// is seeded with its paired tensor (∂loss/∂output), then the tape runs in
    /// reverse and is cleared.
    public static func backward(_ seeds: [(output: Tensor, seed: Tensor)]) {
        for (o, s) in seeds { o.accumulateGrad(s.pointer) }
        let t = tape
        let steps = t.steps
        t.steps = []
        for step in steps.reversed() { step() }
    }
}

extension Tensor {
    /// Back-propagates from this tensor, seeding its gradient with ones
    /// (a scalar loss) or with `seed`.
    public func backward(seed: Tensor? = nil) {
        let s = seed ?? {
            let ones = Tensor(uninitialized: shape, on: backend)
            backend.fill(ones.pointer, count, 1)
            return ones
        }()
        Autograd.backward([(self, s)])
    }
}
