import Foundation
import NN

/// What a model spec, a training state and an optimiser may hold. A checkpoint's
/// metadata is data from outside: every field is checked against these limits
/// (and the model's memory against the machine's) before anything is allocated.
public enum Limits {
    public static let maxWidth = 1 << 16          // hidden, embedding sizes
    public static let maxLayers = 64
    public static let maxVocabulary = 1 << 24
    public static let maxFeatures = 1 << 20
    public static let maxBatch = 1 << 20
    public static let maxSteps = 1 << 24          // time steps of a flatten head

    /// Physical memory of this machine, in bytes.
    public static var physicalMemory: Double { Double(ProcessInfo.processInfo.physicalMemory) }

    /// Throws when `bytes` would not fit in 80 % of this machine's memory.
    public static func checkMemory(_ bytes: Double, for what: String) throws {
        let have = physicalMemory
        guard bytes <= 0.8 * have else {
            throw LimitError("\(what) needs about \(gigabytes(bytes)) of memory; this machine has \(gigabytes(have))")
        }
    }

    static func gigabytes(_ b: Double) -> String {
        b >= 1e9 ? String(format: "%.1f GB", b / 1e9) : String(format: "%.0f MB", b / 1e6)
    }
}

/// A value outside `Limits`, named: the tools report it as one line, exit 1 (or 2 for an option).
public struct LimitError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension ModelSpec {
    public static let tasks = ["classify", "tag", "lm", "regress"]

    /// Parameters of the model this spec builds (as a Double: it is checked before it is trusted).
    public var parameterEstimate: Double {
        let gates: Double
        switch cell {
        case .lstm: gates = 4
        case .gru: gates = 3
        case .rnnTanh, .rnnReLU: gates = 1
        }
        var total = input == .ids ? Double(vocabSize) * Double(embed) : 0
        var inSize = Double(input == .ids ? embed : features)
        let d = Double(directions)
        for h in hidden.map(Double.init) {
            total += d * (gates * h * inSize + gates * h * h + 2 * gates * h)
            inSize = h * d
        }
        let last = Double(hidden.last ?? 0) * d
        let headIn = head == .flatten ? last * Double(flattenSteps) : last
        return total + headIn * Double(outputs) + Double(outputs)
    }

    /// Checks every field against `Limits` and against each other, and the memory the
    /// model needs: 16 bytes a parameter to train (gradients, Adam's moments), 4 to use it.
    public func validate(bytesPerParameter: Double = 16) throws {
        func bad(_ s: String) -> LimitError { LimitError("model spec: \(s)") }
        guard Self.tasks.contains(task) else { throw bad("unknown task '\(task)' (\(Self.tasks.joined(separator: ", ")))") }
        guard !hidden.isEmpty, hidden.count <= Limits.maxLayers else { throw bad("\(hidden.count) layers (1…\(Limits.maxLayers))") }
        for h in hidden where h < 1 || h > Limits.maxWidth { throw bad("hidden size \(h) (1…\(Limits.maxWidth))") }
        switch input {
        case .ids:
            guard (1...Limits.maxVocabulary).contains(vocabSize) else { throw bad("vocabulary of \(vocabSize) (1…\(Limits.maxVocabulary))") }
            guard (1...Limits.maxWidth).contains(embed) else { throw bad("embedding size \(embed) (1…\(Limits.maxWidth))") }
        case .floats:
            guard (1...Limits.maxFeatures).contains(features) else { throw bad("\(features) features (1…\(Limits.maxFeatures))") }
        }
        guard (1...Limits.maxVocabulary).contains(outputs) else { throw bad("\(outputs) outputs (1…\(Limits.maxVocabulary))") }
        guard dropout.isFinite, dropout >= 0, dropout < 1 else { throw bad("dropout \(dropout) (0 ≤ p < 1)") }
        if let pool {
            guard pool.count == 2, (1...Limits.maxSteps).contains(pool[0]), (1...Limits.maxSteps).contains(pool[1]) else {
                throw bad("pool \(pool) ([kernel, stride], each at least 1)")
            }
        }
        if head == .flatten {
            guard (1...Limits.maxSteps).contains(flattenSteps) else { throw bad("flatten head over \(flattenSteps) steps (1…\(Limits.maxSteps))") }
        }
        if loss == .bce && outputs != 1 { throw bad("a BCE head has 1 output, not \(outputs)") }
        if loss == .mse && task != "regress" { throw bad("MSE loss on task \(task)") }
        if (task == "lm" || task == "tag" || task == "regress") && head != .step { throw bad("task \(task) needs head step, not \(head.rawValue)") }
        try Limits.checkMemory(parameterEstimate * bytesPerParameter,
                               for: "model \(name) (\(String(format: "%.3g", parameterEstimate)) parameters\(bytesPerParameter > 4 ? ", with gradients and optimiser state" : ""))")
    }
}

extension TrainState {
    /// Checks the counters and settings a checkpoint brings.
    public func validate() throws {
        func bad(_ s: String) -> LimitError { LimitError("training state: \(s)") }
        guard epoch >= 0, batchInEpoch >= 0, step >= 0 else { throw bad("negative epoch, batch or step (\(epoch), \(batchInEpoch), \(step))") }
        guard epoch < 1 << 40, batchInEpoch < 1 << 40, step < 1 << 40 else { throw bad("epoch, batch or step beyond 2^40 (\(epoch), \(batchInEpoch), \(step))") }
        guard (1...Limits.maxBatch).contains(batchSize) else { throw bad("batch size \(batchSize) (1…\(Limits.maxBatch))") }
        if let clip, !(clip.isFinite && clip > 0) { throw bad("clip \(clip) (a positive number)") }
        if let bestValidLoss, bestValidLoss.isNaN { throw bad("best validation loss is NaN") }
    }
}

extension OptimizerConfig {
    /// Checks the optimiser's name and hyper-parameters.
    public func validate() throws {
        func bad(_ s: String) -> LimitError { LimitError("optimizer: \(s)") }
        guard ["adam", "sgd"].contains(name) else { throw bad("unknown optimizer '\(name)' (adam, sgd)") }
        guard lr.isFinite, lr > 0 else { throw bad("learning rate \(lr) (a positive number)") }
        guard momentum.isFinite, momentum >= 0, momentum < 1 else { throw bad("momentum \(momentum) (0 ≤ m < 1)") }
        guard weightDecay.isFinite, weightDecay >= 0 else { throw bad("weight decay \(weightDecay) (0 or more)") }
        guard beta1.isFinite, beta1 >= 0, beta1 < 1, beta2.isFinite, beta2 >= 0, beta2 < 1 else { throw bad("betas (\(beta1), \(beta2)) (each 0 ≤ β < 1)") }
        guard eps.isFinite, eps > 0 else { throw bad("eps \(eps) (a positive number)") }
    }
}
