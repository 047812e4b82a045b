import Foundation
import NN
import Tensor
import TensorStream

/// How training stands, stored in a checkpoint so that `fit --resume` goes on
/// exactly where it stopped.
public struct TrainState: Codable, Sendable, Equatable {
    /// Epochs finished.
    public var epoch = 0
    /// Batches of the current epoch already taken.
    public var batchInEpoch = 0
    /// Optimiser steps taken.
    public var step = 0
    /// Seed of the data order and of the dropout masks.
    public var seed: UInt64 = 0
    /// Dropout generators of the recurrent layers, in layer order.
    public var dropoutRNG: [[UInt64]] = []
    /// Best validation loss so far (for keeping the best model), if any.
    public var bestValidLoss: Double?
    /// Batching and clipping of the run, kept so that a resumed run goes on alike.
    public var batchSize = 32
    public var shuffle = true
    public var clip: Float?
    /// How the learning rate moves over the run.
    public var lrSchedule = LearningRateSchedule.constant
    public init() {}

    /// Fields a checkpoint lacks (one written before they existed) keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainState()
        epoch = try c.decodeIfPresent(Int.self, forKey: .epoch) ?? d.epoch
        batchInEpoch = try c.decodeIfPresent(Int.self, forKey: .batchInEpoch) ?? d.batchInEpoch
        step = try c.decodeIfPresent(Int.self, forKey: .step) ?? d.step
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        dropoutRNG = try c.decodeIfPresent([[UInt64]].self, forKey: .dropoutRNG) ?? d.dropoutRNG
        bestValidLoss = try c.decodeIfPresent(Double.self, forKey: .bestValidLoss)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        shuffle = try c.decodeIfPresent(Bool.self, forKey: .shuffle) ?? d.shuffle
        clip = try c.decodeIfPresent(Float.self, forKey: .clip)
        lrSchedule = try c.decodeIfPresent(LearningRateSchedule.self, forKey: .lrSchedule) ?? d.lrSchedule
    }
}

/// Optimiser settings and which one.
public struct OptimizerConfig: Codable, Sendable, Equatable {
    public var name = "adam"          // adam or sgd
    public var lr: Float = 1e-3
    public var momentum: Float = 0
    public var weightDecay: Float = 0
    public var beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
    public init() {}

    /// Fields a checkpoint lacks keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = OptimizerConfig()
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? d.name
        lr = try c.decodeIfPresent(Float.self, forKey: .lr) ?? d.lr
        momentum = try c.decodeIfPresent(Float.self, forKey: .momentum) ?? d.momentum
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
        beta1 = try c.decodeIfPresent(Float.self, forKey: .beta1) ?? d.beta1
        beta2 = try c.decodeIfPresent(Float.self, forKey: .beta2) ?? d.beta2
        eps = try c.decodeIfPresent(Float.self, forKey: .eps) ?? d.eps
    }
}

/// An optimiser over a model's parameters.
public enum Optimizer {
    case adam(Adam)
    case sgd(SGD)

    public init(_ c: OptimizerConfig, parameters: [Tensor]) {
        switch c.name {
        case "sgd": self = .sgd(SGD(parameters, lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay))
        default: self = .adam(Adam(parameters, lr: c.lr, betas: (c.beta1, c.beta2), eps: c.eps, weightDecay: c.weightDecay))
        }
    }
    public func update() {
        switch self {
        case .adam(let a): a.update()
        case .sgd(let s): s.update()
        }
    }
}

/// A trained model as one `model` record (one safetensors document): the
/// parameters under their PyTorch state_dict names, optimiser moments under
/// `optim.`, carried state under `state.`, and in the metadata the model spec,
/// the data's vocabulary/classes and the training state.
public struct Checkpoint {
    public var model: SequenceModel
    public var optimizer: OptimizerConfig
    public var moments: [String: [Float]]
    public var train: TrainState
    /// The training data's meta fields (vocab, classes, task, sample_rate, …).
    public var dataMeta: [String: String]

    public static let format = "recur-checkpoint-1"

    public init(model: SequenceModel, optimizer: OptimizerConfig, moments: [String: [Float]] = [:],
                train: TrainState, dataMeta: [String: String]) {
        self.model = model; self.optimizer = optimizer; self.moments = moments; self.train = train; self.dataMeta = dataMeta
    }

    /// The record to write.
    public func record(optimizerState: Optimizer?) throws -> Record {
        var r = Record(kind: .model)
        for (k, v) in dataMeta where k != "tools" { r.metadata[k] = v }
        r.metadata["format"] = Self.format
        r.metadata["recur_version"] = RecurVersion.description
        r.metadata["spec"] = try json(model.spec)
        r.metadata["optimizer"] = try json(optimizer)
        var train = self.train
        train.dropoutRNG = model.layers.map { $0.rng.state }
        r.metadata["train"] = try json(train)
        let named = model.namedParameters
        for (name, t) in named { r[name] = StreamTensor(t.values, shape: t.shape) }
        switch optimizerState {
        case .adam(let a):
            r.metadata["optim_step"] = String(a.step)
            for (i, (name, t)) in named.enumerated() {
                r["optim.exp_avg." + name] = StreamTensor(a.m[i].values, shape: t.shape)
                r["optim.exp_avg_sq." + name] = StreamTensor(a.v[i].values, shape: t.shape)
            }
        case .sgd(let s):
            for (i, (name, t)) in named.enumerated() {
                if let b = s.buffers[i] { r["optim.momentum_buffer." + name] = StreamTensor(b.values, shape: t.shape) }
            }
        case nil: break
        }
        if let st = model.state {
            r["state.h"] = StreamTensor(st.h.values, shape: st.h.shape)
            if let c = st.c { r["state.c"] = StreamTensor(c.values, shape: c.shape) }
        }
        return r
    }

    /// Rebuilds model, optimiser state and training state from a record.
    public init(_ r: Record, source: String) throws {
        func fail(_ s: String) -> StreamError { StreamError("\(source): \(s)") }
        guard r.kind == .model else { throw fail("not a checkpoint (a \(r.kind.rawValue) record)") }
        guard r.metadata["format"] == Self.format else { throw fail("unknown checkpoint format \(r.metadata["format"] ?? "(none)")") }
        let dec = JSONDecoder()
        guard let specText = r.metadata["spec"], let spec = try? dec.decode(ModelSpec.self, from: Data(specText.utf8)) else {
            throw fail("checkpoint has no readable model spec")
        }
        func decoded<T: Decodable>(_ key: String, _: T.Type) throws -> T? {
            guard let text = r.metadata[key] else { return nil }
            guard let v = try? dec.decode(T.self, from: Data(text.utf8)) else { throw fail("the checkpoint's \(key) metadata is unreadable") }
            return v
        }
        let optimizer = try decoded("optimizer", OptimizerConfig.self) ?? OptimizerConfig()
        let train = try decoded("train", TrainState.self) ?? TrainState()
        do {
            try spec.validate(bytesPerParameter: 4)  // fit checks the memory to train before it does
            try optimizer.validate()
            try train.validate()
        } catch let e as LimitError { throw fail(e.message) }
        for (name, t) in r.tensors where !name.hasPrefix("optim.") && !name.hasPrefix("state.") {
            if case .f32(let v) = t.values, !v.allSatisfy({ $0.isFinite }) { throw fail("\(name) holds NaN or infinite values") }
        }
        model = SequenceModel(spec, seed: 0)
        for (name, t) in model.namedParameters {
            guard let v = r[name] else { throw fail("checkpoint lacks \(name)") }
            guard v.shape == t.shape, case .f32(let values) = v.values else {
                throw fail("\(name) is \(v.dtype.rawValue) \(v.shape), the model needs F32 \(t.shape)")
            }
            t.assign(values)
        }
        self.optimizer = optimizer
        self.train = train
        for (layer, state) in zip(model.layers, train.dropoutRNG) where state.count == 4 { layer.rng.state = state }
        moments = [:]
        let sizes = Dictionary(model.namedParameters.map { ($0.name, $0.tensor.count) }, uniquingKeysWith: { a, _ in a })
        for (name, t) in r.tensors where name.hasPrefix("optim.") {
            let parameter = name.split(separator: ".", maxSplits: 2).last.map(String.init) ?? ""
            guard sizes[parameter] == t.count, t.dtype == .f32 else { throw fail("\(name) \(t.shape) does not fit the parameter \(parameter)") }
            moments[name] = t.floats
        }
        guard let step = Int(r.metadata["optim_step"] ?? "0"), step >= 0, step < 1 << 40 else { throw fail("optim_step '\(r.metadata["optim_step"]!)' is not a step count") }
        moments["step"] = [Float(step)]
        if let h = r["state.h"] {
            let rows = (spec.separateLayers ? 1 : spec.hidden.count) * spec.directions, width = spec.hidden.last!
            let fits = { (t: StreamTensor) in t.dtype == .f32 && t.shape.count == 3 && t.shape[0] == rows && t.shape[1] >= 1 && t.shape[2] == width }
            guard fits(h), r["state.c"].map({ fits($0) && $0.shape == h.shape }) ?? (spec.cell != .lstm) else {
                throw fail("the carried state state.h \(h.shape) does not fit the model ([\(rows), B, \(width)]\(spec.cell == .lstm ? " and state.c alike" : ""))")
            }
            model.state = (Tensor(h.floats, shape: h.shape), r["state.c"].map { Tensor($0.floats, shape: $0.shape) })
        }
        dataMeta = r.metadata.filter { !["format", "spec", "optimizer", "train", "optim_step", "kind"].contains($0.key) }
    }

    /// Loads the checkpoint file at `path`.
    public static func load(_ path: String) throws -> Checkpoint { try Checkpoint(RecordReader.single(path), source: path) }

    /// An optimiser for the model with the saved moments restored.
    public func restoredOptimizer() -> Optimizer {
        let named = model.namedParameters
        let opt = Optimizer(optimizer, parameters: named.map(\.tensor))
        switch opt {
        case .adam(let a):
            let m = named.map { moments["optim.exp_avg." + $0.name] ?? [Float](repeating: 0, count: $0.tensor.count) }
            let v = named.map { moments["optim.exp_avg_sq." + $0.name] ?? [Float](repeating: 0, count: $0.tensor.count) }
            a.restore(step: Int(moments["step"]?.first ?? 0), m: m, v: v)
        case .sgd(let s):
            s.restore(named.map { moments["optim.momentum_buffer." + $0.name] })
        }
        return opt
    }

    private func json<T: Encodable>(_ v: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(v), as: UTF8.self)
    }
}

extension SequenceModel {
    /// Sets every parameter from a record's tensors of the same names (a recur checkpoint,
    /// or a safetensors file of a PyTorch `state_dict`): every parameter must be there, as
    /// float32 of its shape and finite; a tensor the model has no parameter for is an error
    /// (optimiser moments `optim.*` and carried state `state.*` are left out).
    public func load(parameters record: Record, source: String) throws {
        let named = namedParameters
        let names = Set(named.map(\.name))
        if let extra = record.tensors.map(\.name).sorted().first(where: { !names.contains($0) && !$0.hasPrefix("optim.") && !$0.hasPrefix("state.") }) {
            throw StreamError("\(source): holds \(extra), which model \(spec.name) has no parameter for (its parameters: \(named.map(\.name).joined(separator: ", ")))")
        }
        for (name, t) in named {
            guard let v = record[name] else { throw StreamError("\(source): lacks \(name) \(t.shape) of model \(spec.name)") }
            guard v.shape == t.shape, case .f32(let values) = v.values else {
                throw StreamError("\(source): \(name) is \(v.dtype.rawValue) \(v.shape), model \(spec.name) needs F32 \(t.shape)")
            }
            guard values.allSatisfy(\.isFinite) else { throw StreamError("\(source): \(name) holds NaN or infinite values") }
            t.assign(values)
        }
    }
}
