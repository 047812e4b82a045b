import Foundation
import NN
import Tensor
import TensorStream

/// What a training run does, beyond the model and the data.
public struct TrainingPlan: Sendable {
    /// Epochs in all (counting those of a resumed run).
    public var epochs: Int
    /// Stop after this many steps in all.
    public var maxSteps: Int?
    /// Validate every N steps (and after each epoch).
    public var valEvery: Int?
    /// Checkpoint every N steps.
    public var saveEvery: Int?
    /// Checkpoint after each epoch but the last (the last is written at the end in any case).
    public var saveEachEpoch = false
    /// Keep (and write at the end) the parameters of the best validation loss.
    public var keepBest = false
    /// When training stops on NaN, write the best checkpoint so far (where it has a place to go).
    public var writeBestOnFailure = true
    /// Padding id of the stream.
    public var pad: Int32 = 0
    /// Masking of float inputs in training (SpecAugment).
    public var specAugment: SpecAugment?

    public init(epochs: Int) { self.epochs = epochs }
}

/// After each step: where training stands, and the step's loss over the whole batch.
public struct StepReport: Sendable {
    /// The epoch in progress, counted from 1; the step count; the batch of the epoch
    /// just taken (from 1) and the epoch's batches.
    public let epoch: Int, step: Int, batch: Int, batches: Int
    /// Epochs done, with the fraction of this one (1.5: half-way through the second).
    public var progress: Double { Double(epoch - 1) + Double(batch) / Double(max(batches, 1)) }
    public let loss: Float
    /// Examples (rows) in the step's batch, over all processes.
    public let examples: Int
    /// Mean loss of the epoch's steps so far.
    public let epochLoss: Double
    /// Seconds the step spent in the all-reduce (0 for one process).
    public let communicationSeconds: Double
}

/// After a validation pass.
public struct ValidationReport: Sendable {
    /// "epoch 3" or "step 200".
    public let label: String
    /// The epoch the pass belongs to, counted from 1 (the one just finished, or in progress).
    public let epoch: Int
    public let step: Int
    /// Epochs done, with the fraction of the one in progress.
    public let progress: Double
    /// Summed over the processes.
    public let metrics: Metrics
}

/// After each epoch.
public struct EpochReport: Sendable {
    /// Epochs finished.
    public let epoch: Int
    public let step: Int
    /// Mean loss of the epoch's steps (those of this run).
    public let trainLoss: Double
    public let seconds: Double
}

/// How a run ended.
public enum TrainingOutcome: Sendable {
    case finished, reachedMaxSteps, interrupted
}

/// Training stopped because the loss or the parameters stopped being finite. Every
/// process reaches it at the same step.
public struct NonFiniteTraining: Error, CustomStringConvertible {
    public let description: String
    /// The step of the last checkpoint this run wrote, if any.
    public let savedAtStep: Int?
}

/// The replicas of a data-parallel run no longer hold the same parameters.
public struct ReplicasDiverged: Error, CustomStringConvertible {
    public let description: String
}

/// Where a trainer calls out: the tool reports and writes, the library trains.
public struct TrainingHooks {
    /// After the gradients of a step are complete (summed over the processes), before
    /// clipping and the update.
    public var afterBackward: ((Trainer) throws -> Void)?
    /// After each step.
    public var afterStep: ((Trainer, StepReport) throws -> Void)?
    /// After each epoch, before its validation.
    public var afterEpoch: ((Trainer, EpochReport) throws -> Void)?
    /// After a validation pass.
    public var atValidation: ((Trainer, ValidationReport) throws -> Void)?
    /// Writes a checkpoint record. Called on rank 0 only, after every process has
    /// checked that the parameters are finite and agree.
    public var writeCheckpoint: ((Record) throws -> Void)?
    /// Whether this process has been asked to stop (a signal). Every process stops at
    /// the same step: the flag rides in the step's all-reduce.
    public var stopRequested: () -> Bool = { false }

    public init() {}
}

/// The training loop: epochs of shuffled (or ordered) batches, a step per batch,
/// validation, checkpoints, early stopping, a clean stop on request or on NaN.
///
/// Data-parallel over a `Communicator`: every process builds the same batches and takes
/// its share of each batch's rows (`RowShare`), weights its gradient by its share of the
/// counted targets, and one all-reduce per step sums the gradients (with the loss and the
/// stop flag). Every process then clips and updates alike, so the replicas stay equal
/// and the result does not depend on the number of processes.
public final class Trainer {
    public let model: SequenceModel
    public let optimizer: Optimizer
    /// The run's checkpoint: model, optimiser settings, data meta (its `train` is `state`
    /// at each record).
    public private(set) var checkpoint: Checkpoint
    /// Where training stands.
    public var state: TrainState
    public let data: Dataset
    public let validation: Dataset?
    public let plan: TrainingPlan
    public let communicator: any Communicator
    public let share: RowShare
    public var hooks = TrainingHooks()
    /// The record of the best validation loss so far (with `keepBest`).
    public private(set) var best: Record?
    private var bestStep: Int?
    /// The step of the last checkpoint this run wrote.
    public private(set) var savedAtStep: Int?

    /// The learning rate of the last update.
    public private(set) var learningRate: Float = 0

    /// Steps of the whole run (epochs × batches: a run stopped early by --max-steps and
    /// resumed follows the same schedule), for the learning-rate schedule; nil outside `run()`.
    private var totalSteps: Int?

    /// This process's rows of the last step's batch (nil when it held none).
    private var lastBatch: Batch?
    /// Rows of the batch the carried state belongs to (stateful models), nil when no state is carried.
    private var stateRows: Int?
    private var stopAgreed = false
    private var communicationSeconds = 0.0
    /// The all-reduce buffer: gradients, flags, loss, stop.
    private var fused: Tensor?

    public init(checkpoint: Checkpoint, optimizer: Optimizer, state: TrainState, data: Dataset, validation: Dataset?,
                plan: TrainingPlan, communicator: any Communicator = SingleProcess()) {
        self.checkpoint = checkpoint
        model = checkpoint.model
        self.optimizer = optimizer
        self.state = state
        self.data = data
        self.validation = validation
        self.plan = plan
        self.communicator = communicator
        share = RowShare(rank: communicator.rank, ranks: communicator.size)
        // A resumed stateful run: the checkpoint holds the whole batch's state; keep this process's rows.
        if let st = model.state {
            let total = st.h.shape[1], rows = share.rows(of: total)
            stateRows = total
            if rows.isEmpty { model.state = nil }
            else if rows.count != total { model.state = (st.h.rowSlice(rows), st.c?.rowSlice(rows)) }
        }
    }

    private var isParallel: Bool { communicator.size > 1 }

    /// Trains until the plan's epochs (or steps) are done or a stop is requested, then
    /// writes the final checkpoint (the best one with `keepBest`).
    public func run() throws -> TrainingOutcome {
        model.training = true
        var outcome = TrainingOutcome.finished
        epochLoop: while state.epoch < plan.epochs {
            let batches: [Record]
            do { batches = try data.epoch(state.epoch, size: state.batchSize, shuffle: state.shuffle, seed: state.seed, pad: plan.pad) }
            catch { throw StreamError("\(data.source): \(error)") }
            if state.batchInEpoch == 0 { resetState() }
            totalSteps = plan.epochs * batches.count
            let start = Date()
            var sum = 0.0, seen = 0
            while state.batchInEpoch < batches.count {
                let b: Batch
                do { b = try Batch(batches[state.batchInEpoch], spec: model.spec) }
                catch { throw StreamError("\(data.source): batch \(state.batchInEpoch + 1) of epoch \(state.epoch + 1): \(error)") }
                let loss: Float
                do { loss = try step(b) }
                catch { throw StreamError("\(data.source): batch \(state.batchInEpoch + 1) of epoch \(state.epoch + 1): \(error)") }
                guard loss.isFinite else {
                    try writeBest()
                    throw NonFiniteTraining(description: "loss became \(loss) at epoch \(state.epoch + 1), step \(state.step + 1)",
                                            savedAtStep: savedAtStep)
                }
                state.batchInEpoch += 1
                state.step += 1
                sum += Double(loss); seen += 1
                try hooks.afterStep?(self, StepReport(epoch: state.epoch + 1, step: state.step, batch: state.batchInEpoch,
                                                      batches: batches.count, loss: loss, examples: b.batchSize, epochLoss: sum / Double(seen),
                                                      communicationSeconds: communicationSeconds))
                if let every = plan.saveEvery, state.step % every == 0 { try save() }
                if let every = plan.valEvery, state.step % every == 0 {
                    try validate("step \(state.step)", epoch: state.epoch + 1,
                                 progress: Double(state.epoch) + Double(state.batchInEpoch) / Double(batches.count))
                }
                // one process reads the flag after the step's checkpoint and validation too
                if isParallel ? stopAgreed : hooks.stopRequested() { outcome = .interrupted; break epochLoop }
                if let maxSteps = plan.maxSteps, state.step >= maxSteps { outcome = .reachedMaxSteps; break epochLoop }
            }
            state.epoch += 1
            state.batchInEpoch = 0
            try hooks.afterEpoch?(self, EpochReport(epoch: state.epoch, step: state.step, trainLoss: sum / Double(max(seen, 1)),
                                                    seconds: Date().timeIntervalSince(start)))
            try validate("epoch \(state.epoch)", epoch: state.epoch, progress: Double(state.epoch))
            if plan.saveEachEpoch && state.epoch < plan.epochs { try save() }
        }
        if let best {
            if communicator.rank == 0 { try hooks.writeCheckpoint?(best) }
        } else {
            try save()
        }
        return outcome
    }

    /// One step on a batch: this process's rows forward and backward, the gradients
    /// weighted and summed over the processes, clipping, the update. Returns the loss of
    /// the whole batch.
    public func step(_ batch: Batch) throws -> Float {
        var batch = batch
        if let sa = plan.specAugment, let x = batch.floats, x.shape.count == 3 {
            batch.floats = sa.apply(x, lengths: batch.lengths, seed: state.seed, step: state.step)
        }
        // a carried state belongs to a batch of as many rows (one process starts afresh on
        // another size because the state's shape differs; a share's shape may not)
        if model.spec.stateful, let previous = stateRows, previous != batch.batchSize { model.state = nil }
        let rows = share.rows(of: batch.batchSize)
        let local = rows.isEmpty ? nil : batch.rows(rows)
        model.batchRows = isParallel ? (rows.lowerBound, batch.batchSize) : nil
        model.zeroGrad()
        var loss: Float = 0
        if let local {
            let l = try model.loss(try model.forward(local), local)
            l.backward()
            loss = l.item
        } else {
            for layer in model.layers { layer.skipDropoutMasks(steps: batch.steps, rows: batch.batchSize) }
        }
        lastBatch = local
        if model.spec.stateful { stateRows = batch.batchSize }
        if isParallel {
            let counted = batch.countedTargets(model.spec.loss)
            let weight = counted > 0 ? Float(local?.countedTargets(model.spec.loss) ?? 0) / Float(counted) : 0
            (loss, stopAgreed) = try reduceGradients(weight: weight, loss: loss)
        } else {
            stopAgreed = hooks.stopRequested()
        }
        try hooks.afterBackward?(self)
        if let clip = state.clip { clipGradNorm(model.parameters, maxNorm: clip) }
        setLearningRate()
        optimizer.update()
        return loss
    }

    /// The rate of this step's update, from the checkpoint's base rate and the schedule.
    private func setLearningRate() {
        let base = checkpoint.optimizer.lr
        let lr = totalSteps.map { state.lrSchedule.rate(base: base, step: state.step, total: $0) } ?? base
        learningRate = lr
        switch optimizer {
        case .adam(let a): a.lr = lr
        case .sgd(let s): s.lr = lr
        }
    }

    /// One all-reduce of [gradients × weight …, has-gradient flags …, loss × weight, stop]
    /// (a fused buffer on the model's device); the sums replace the gradients.
    private func reduceGradients(weight: Float, loss: Float) throws -> (loss: Float, stop: Bool) {
        let parameters = model.parameters, be = model.backend
        let total = parameters.reduce(0) { $0 + $1.count }, tail = parameters.count + 2
        // one buffer for the run (steps all reduce the same parameters)
        if fused?.count != total + tail || fused?.device != be.device { fused = Tensor(uninitialized: [total + tail], on: be) }
        let fused = self.fused!
        var offset = 0
        for p in parameters {
            if let g = p.grad { be.copy(g.pointer, fused.pointer + offset, p.count) } else { be.fill(fused.pointer + offset, p.count, 0) }
            offset += p.count
        }
        be.scale(total, weight, fused.pointer)
        let flags = parameters.map { $0.grad == nil ? Float(0) : 1 } + [loss * weight, hooks.stopRequested() ? 1 : 0]
        flags.withUnsafeBufferPointer { be.upload($0, to: fused.pointer + total) }
        let started = DispatchTime.now().uptimeNanoseconds
        try communicator.allReduceSum(fused)
        communicationSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        var sums = [Float](repeating: 0, count: tail)
        sums.withUnsafeMutableBufferPointer { be.download(fused.pointer + total, tail, into: $0) }
        offset = 0
        for (i, p) in parameters.enumerated() {
            if sums[i] > 0 { be.copy(fused.pointer + offset, p.gradBuffer(), p.count) } else { p.grad = nil }
            offset += p.count
        }
        return (sums[tail - 2], sums[tail - 1] > 0)
    }

    /// Evaluates the validation stream (each process its rows of each batch, the sums
    /// all-reduced), reports it, and keeps the best record with `keepBest`.
    public func validate(_ label: String, epoch: Int, progress: Double) throws {
        guard let validation else { return }
        let carried = model.state
        model.training = false
        defer { model.training = true; model.state = carried }
        var m = try validation.evaluate(model, batch: state.batchSize, pad: plan.pad, share: share)
        if isParallel {
            var sums = [m.lossSum, Double(m.count), Double(m.correct)]
            try communicator.allReduceSum(&sums)
            m.lossSum = sums[0]; m.count = Int(sums[1].rounded()); m.correct = Int(sums[2].rounded())
        }
        model.training = true
        model.state = carried
        try hooks.atValidation?(self, ValidationReport(label: label, epoch: epoch, step: state.step, progress: progress, metrics: m))
        if plan.keepBest, m.loss < (state.bestValidLoss ?? .infinity) {
            state.bestValidLoss = m.loss
            best = try record()
            bestStep = state.step
        }
    }

    /// Checks that the parameters are finite and give a finite loss on the last batch (one
    /// forward pass without dropout, the carried state put back) and that the replicas
    /// agree, then has rank 0 write the checkpoint.
    public func save() throws {
        let finiteParameters = model.parameters.allSatisfy { $0.values.allSatisfy(\.isFinite) }
        var finite = try finiteParameters && {
            let carried = model.state, training = model.training
            model.training = false
            defer { model.training = training; model.state = carried }
            return try lastBatch.map { b in try noGrad { try model.loss(try model.forward(b), b).item.isFinite } } ?? true
        }()
        if isParallel {
            var bad = [finite ? 0.0 : 1.0]
            try communicator.allReduceSum(&bad)
            finite = bad[0] == 0
        }
        guard finite else {
            try writeBest()
            throw NonFiniteTraining(description: (finiteParameters ? "the loss of the parameters to save is NaN or infinite" : "the parameters became NaN or infinite")
                                    + " by step \(state.step) (epoch \(state.epoch + 1))", savedAtStep: savedAtStep)
        }
        try checkReplicas()
        let r = try record()
        if communicator.rank == 0 { try hooks.writeCheckpoint?(r) }
        savedAtStep = state.step
    }

    /// The checkpoint record of the run as it stands; a stateful model's carried state is
    /// gathered from every process's rows first (so the checkpoint resumes with any number
    /// of processes).
    public func record() throws -> Record {
        checkpoint.train = state
        guard isParallel, model.spec.stateful, !model.spec.separateLayers, let total = stateRows else {
            return try checkpoint.record(optimizerState: optimizer)
        }
        let spec = model.spec
        let shape = [(spec.separateLayers ? 1 : spec.hidden.count) * spec.directions, total, spec.hidden.last!]
        let carried = model.state
        defer { model.state = carried }
        let h = try communicator.gatherRows(carried?.h, shape: shape, share: share)
        let c = spec.cell == .lstm ? try communicator.gatherRows(carried?.c, shape: shape, share: share) : nil
        model.state = (h, c)
        return try checkpoint.record(optimizerState: optimizer)
    }

    /// Compares a fingerprint of every replica's parameters with rank 0's.
    private func checkReplicas() throws {
        guard isParallel else { return }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a over the parameters' bits
        for p in model.parameters { for v in p.values { hash = (hash ^ UInt64(v.bitPattern)) &* 0x100_0000_01b3 } }
        let all = try communicator.allGather([Double(hash >> 32), Double(hash & 0xffff_ffff)])
        if let r = all.firstIndex(where: { $0 != all[0] }) {
            throw ReplicasDiverged(description: "the replicas' parameters differ at step \(state.step): rank \(r)'s are not rank 0's")
        }
    }

    private func writeBest() throws {
        guard let best, plan.writeBestOnFailure else { return }
        if communicator.rank == 0 { try hooks.writeCheckpoint?(best) }
        savedAtStep = bestStep
    }

    private func resetState() {
        model.resetState()
        stateRows = nil
    }
}

extension Tensor {
    /// Rows `rows` of axis 1 of a tensor [A, B, W…], as a new tensor [A, rows.count, W…].
    func rowSlice(_ rows: Range<Int>) -> Tensor {
        let (a, b) = (shape[0], shape[1]), width = count / max(a * b, 1)
        let v = values
        var out = [Float]()
        out.reserveCapacity(a * rows.count * width)
        for i in 0..<a { out += v[((i * b + rows.lowerBound) * width)..<((i * b + rows.upperBound) * width)] }
        return Tensor(out, shape: [a, rows.count] + shape.dropFirst(2), on: backend)
    }
}
