import ArgumentParser
import Foundation
import Communicators
import Plot
import Models
import NN
import Tensor
import TensorStream
import ToolKit

/// Trains a model on a stream and writes a checkpoint.
struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Train a recurrent model on a tensor stream and write a checkpoint.",
        discussion: """
            The task (classify, tag, lm, regress), vocabulary, classes and feature width come \
            from the stream's meta. A stream of examples is batched here (--batch, shuffled \
            each epoch unless --no-shuffle); a stream of batches is used as it is.

            Presets (--model):
            \(Presets.help)

            Or a spec: --cell gru --hidden 128,128 --bidirectional --embed 64 --head last.

            --resume CKPT goes on exactly where CKPT stopped. The checkpoint fixes the model \
            (--model, --cell, --hidden, --embed, --bidirectional, --head, --dropout, --stateful, \
            --init-embed), the optimiser (--optimizer) and the seed: giving one of those is an \
            error. --lr, --lr-schedule, --momentum, --weight-decay, --clip, --batch, --shuffle and \
            --epochs may change; a changed learning rate, momentum or weight decay is reported.

            -o FILE and --log FILE are opened before training starts. A checkpoint is written \
            only when its parameters are finite and give a finite loss on the last batch; \
            when the loss becomes NaN the run stops and names the last checkpoint it wrote.

            The checkpoint keeps the training stream's front-end (sample rate, mel bands, \
            CMVN, vocabulary, classes, …): a --val stream, or the stream of a --resume, made \
            with another front-end is refused, naming the field.

            --log FILE appends one JSON object per line (seqplot draws them), by "event":
              step   after each step: epoch, step, loss, progress, seconds
                     (and allreduce_seconds under mpirun)
              epoch  after each epoch: epoch, step, train_loss, progress,
                     epoch_seconds, seconds
              valid  after each validation: epoch, step, loss, accuracy (null
                     for regressors), progress, seconds
            epoch counts from 1 (the epoch the event belongs to); progress is the epochs \
            done with the fraction of the current one; seconds count from the start of \
            the run. --log - writes the lines to standard output.

            Under mpirun (a build with the MPI trait), N processes train one model: --batch is \
            the global batch, each rank takes its share of every batch's rows, one all-reduce \
            per step sums the gradients, rank 0 logs and writes -o. N ranks give the parameters \
            of one (to rounding) and a checkpoint resumes with any N. The streams must be files. \
            SIGUSR1 to mpirun stops every rank at the same step with a checkpoint. A build \
            without MPI started by mpirun refuses.

            \(Help.examples([
                "wav2seq --length 4000 train/*.wav | fit --model rnn4 --epochs 5 -o digits.ckpt",
                "charidx --steps 35 train.txt | fit --model charlm --clip 5 --val valid.stream -o lm.ckpt",
                "fit --resume lm.ckpt --epochs 4 -o lm.ckpt train.stream",
                "mpirun -np 4 --hostfile hosts fit --model charlm --batch 128 -o lm.ckpt train.stream",
            ]))
            Interrupt (Ctrl-C) writes the checkpoint and exits; a NaN loss stops with the last good one kept.
            """,
        version: RecurVersion.line("fit"))

    @Argument(help: "Training streams; none or '-' reads standard input.") var inputs: [String] = []
    @Option(name: .shortAndLong, help: "Checkpoint file (written atomically; default: standard output at the end).")
    var output: String?
    @Option(help: "A preset model (see above).", completion: .list(Presets.names)) var model: String?
    @Option(help: "Recurrent cell: rnn_tanh, rnn_relu, gru, lstm.") var cell: CellKind?
    @Option(help: "Hidden size per layer, comma-separated (e.g. 128,128).") var hidden: String?
    @Option(help: "Embedding size (id inputs).") var embed: Int?
    @Flag(inversion: .prefixedNo, help: "Bidirectional layers.") var bidirectional: Bool?
    @Option(help: "Head: last (final state), mean (mean output over each sequence's steps), step (every step), flatten.") var head: ModelSpec.Head?
    @Option(parsing: .unconditional, help: "Dropout between recurrent layers.") var dropout: Float?
    @Flag(help: "Carry the recurrent state from batch to batch.") var stateful = false

    @Option(help: "Epochs (in all, counting those of a resumed checkpoint).") var epochs = 1
    @Option(help: "Optimiser: adam or sgd (default adam).") var optimizer: String?
    @Option(parsing: .unconditional, help: "Learning rate (default 0.001; with --resume, replaces the checkpoint's).") var lr: Float?
    @Option(help: ArgumentHelp("Learning-rate schedule: constant, or cosine (from --lr down to 0 at the end of the last epoch, as torch's CosineAnnealingLR stepped every batch). Default: constant, or the resumed run's.", valueName: "schedule"))
    var lrSchedule: LearningRateSchedule?
    @Option(parsing: .unconditional, help: "SGD momentum (default 0; with --resume, replaces the checkpoint's).") var momentum: Float?
    @Option(parsing: .unconditional, help: "Weight decay (L2, as torch.optim; default 0; with --resume, replaces the checkpoint's).") var weightDecay: Float?
    @Option(parsing: .unconditional, help: "Clip the gradient norm to this (default: none, or the resumed run's).") var clip: Float?
    @Option(help: "Examples per batch, when the stream holds examples (default: the stream's stripes, 32, or the resumed run's).") var batch: Int?
    @Flag(inversion: .prefixedNo, help: "Shuffle examples (or ready-made batches) each epoch (default: on for classify, off for lm/regress).")
    var shuffle: Bool?
    @Option(help: "Seed for initialisation, data order and dropout (default 0).") var seed: UInt64?
    @Option(help: ArgumentHelp("Float inputs: mask two bands of up to F features and two spans of up to T steps in every training example, drawn anew at each step (SpecAugment); never in evaluation.", valueName: "f,t"))
    var specAugment: String?
    @Option(help: "CPU threads.") var threads: Int?
    @Option(help: "Validation stream: loss and accuracy/perplexity after each epoch (and each --val-every).")
    var val: String?
    @Option(help: "Also validate every N steps.") var valEvery: Int?
    @Flag(help: "With --val: the checkpoint keeps the parameters of the best validation loss (early stopping).")
    var keepBest = false
    @Option(help: "Initialise the embedding from a GloVe-format text file (word v1 … vD).") var initEmbed: String?
    @Option(help: ArgumentHelp("Start from the parameters in FILE: safetensors with recur's names (torch's save_file(model.state_dict()) of recur's RecurModel), or a checkpoint; a fresh optimiser.", valueName: "file"))
    var initFrom: String?
    @Option(help: "Continue training from this checkpoint (optimiser moments, step, data position).")
    var resume: String?
    @Option(help: "Also write the checkpoint every N steps.") var saveEvery: Int?
    @Option(help: "Append metrics as JSON lines to FILE (step: loss, seconds since the start, allreduce_seconds under mpirun; epoch; valid).") var log: String?
    @Option(help: "Stop after this many steps in all.") var maxSteps: Int?
    @Option(help: "Device: cpu or cuda.") var device: Device = .cpu

    func validate() throws {
        if model == nil && cell == nil && resume == nil { throw ValidationError("give --model NAME, a spec (--cell …), or --resume CKPT") }
        if let model, !Presets.names.contains(model) { throw ValidationError("unknown model '\(model)'; presets: \(Presets.names.joined(separator: ", "))") }
        guard (1...1_000_000).contains(epochs) else { throw ValidationError("--epochs must be between 1 and 1000000") }
        if let batch, !(1...Limits.maxBatch).contains(batch) { throw ValidationError("--batch must be between 1 and \(Limits.maxBatch)") }
        if let optimizer, !["adam", "sgd"].contains(optimizer) { throw ValidationError("--optimizer is adam or sgd") }
        if let lr, !(lr.isFinite && lr > 0) { throw ValidationError("--lr must be a positive number") }
        if let momentum, !(momentum.isFinite && momentum >= 0 && momentum < 1) { throw ValidationError("--momentum must be at least 0 and below 1") }
        if let weightDecay, !(weightDecay.isFinite && weightDecay >= 0) { throw ValidationError("--weight-decay must be 0 or more") }
        if let clip, !(clip.isFinite && clip > 0) { throw ValidationError("--clip must be a positive number") }
        if let dropout, !(dropout.isFinite && dropout >= 0 && dropout < 1) { throw ValidationError("--dropout must be at least 0 and below 1") }
        if let embed, !(1...Limits.maxWidth).contains(embed) { throw ValidationError("--embed must be between 1 and \(Limits.maxWidth)") }
        if let hidden {
            let h = hidden.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            guard !h.isEmpty, h.count <= Limits.maxLayers, h.allSatisfy({ $0.map { (1...Limits.maxWidth).contains($0) } ?? false }) else {
                throw ValidationError("--hidden takes sizes between 1 and \(Limits.maxWidth), comma-separated (e.g. 128 or 128,128), at most \(Limits.maxLayers) layers")
            }
        }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be between 1 and 256") }
        if let valEvery, valEvery < 1 { throw ValidationError("--val-every must be at least 1") }
        if let saveEvery, saveEvery < 1 { throw ValidationError("--save-every must be at least 1") }
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1") }
        if keepBest && val == nil { throw ValidationError("--keep-best needs --val") }
        if let specAugment, Self.parseSpecAugment(specAugment) == nil {
            throw ValidationError("--spec-augment takes F,T: the widest band of features and span of steps to mask (e.g. 8,10)")
        }
        if initFrom != nil && resume != nil { throw ValidationError("--init-from starts a new run; --resume goes on with one: give one of them") }
        if valEvery != nil && val == nil { throw ValidationError("--val-every needs --val") }
        if saveEvery != nil && output == nil { throw ValidationError("--save-every needs -o FILE") }
        if log == "-" && output == nil { throw ValidationError("--log - writes to standard output, where the checkpoint goes without -o FILE") }
        if let resume {
            // One policy: the checkpoint fixes the model, the optimiser and the seed; the
            // learning rate, momentum, weight decay, clipping, batch size, shuffling and
            // epochs may change (and the change is reported).
            let fixed: [(String, Bool)] = [("--model", model != nil), ("--cell", cell != nil), ("--hidden", hidden != nil),
                                           ("--embed", embed != nil), ("--bidirectional", bidirectional != nil), ("--head", head != nil),
                                           ("--dropout", dropout != nil), ("--stateful", stateful), ("--init-embed", initEmbed != nil),
                                           ("--optimizer", optimizer != nil), ("--seed", seed != nil)]
            if let (option, _) = fixed.first(where: { $0.1 }) {
                throw ValidationError("\(option) cannot change when resuming: \(resume) fixes the model, the optimiser and the seed")
            }
        }
    }

    func run() throws {
        let world = try Communicators.world()
        let outcome: TrainingOutcome
        do {
            outcome = try train(on: world)
        } catch where world.size > 1 {
            // NaN and diverged replicas are seen by every process at the same step: rank 0
            // reports, all end alike. Anything else happened here alone: end the job.
            if error is NonFiniteTraining || error is ReplicasDiverged || error is CollectiveFailure {
                world.finish()
                if world.rank == 0 { throw error }
                throw ExitCode(ExitStatus.dataError)
            }
            let message = (error as? ToolError)?.message ?? (error as? StreamError)?.message ?? "\(error)"
            FileHandle.standardError.write(Data("fit: \(world.place): \(message)\n".utf8))
            world.abort(ExitStatus.dataError)
        }
        world.finish()
        // a signal after the last step still ends the run as interrupted (after its checkpoint)
        if outcome == .interrupted || Interrupt.flag != 0 { throw ExitCode(130) }
    }

    /// The run: read the data, build or resume the model, train it on `world`'s processes.
    func train(on world: any Communicator) throws -> TrainingOutcome {
        let rank0 = world.rank == 0
        let say: (String) -> Void = { if rank0 { note($0) } }
        let backend = try device.backend()  // a clear error where the device is missing
        if let threads { CPUBackend.shared.threads = max(1, threads) }
        if world.size > 1 {
            if inputs.isEmpty || inputs.contains("-") || val == "-" {
                throw ToolError("with \(world.size) processes the streams must be files: standard input reaches rank 0 only")
            }
            if output == nil { throw ToolError("with \(world.size) processes give -o FILE for the checkpoint") }
        }
        // Where the results go is checked before any training: a run must not be lost at the end.
        if rank0, let output { try Self.checkWritable(output) }
        if rank0, output == nil || output == "-" { try ByteOutput.refuseTerminal() }  // before training, not after
        let logFile = rank0 ? try log.map { try LogFile($0) } : nil
        let data = try Dataset(try StreamReader(try openInputs(inputs)))
        let valData = try val.map { try Dataset(try StreamReader(try openInputs([$0]))) }
        if let valData, let d = FrontEnd.difference(model: data.meta.fields, stream: valData.meta.fields, modelName: "training stream's") {
            throw ToolError("\(val!): the validation stream's front-end differs from the training stream's: \(d)")
        }
        if let valData, (valData.isExamples ? valData.examples.first : valData.batches.first)?["y"] == nil {
            throw ToolError("\(val!): the validation stream has no targets y (made with --no-label?)")
        }
        var checkpoint = try resume.map { try Checkpoint.load($0) } ?? Checkpoint(
            model: SequenceModel(try buildSpec(data), seed: seed ?? 0), optimizer: optimizerConfig(), train: trainState(),
            dataMeta: data.meta.fields)
        if resume != nil {
            var changed = [String]()
            if let lr, lr != checkpoint.optimizer.lr { changed.append("--lr \(checkpoint.optimizer.lr) → \(lr)"); checkpoint.optimizer.lr = lr }
            if let momentum, momentum != checkpoint.optimizer.momentum {
                changed.append("--momentum \(checkpoint.optimizer.momentum) → \(momentum)"); checkpoint.optimizer.momentum = momentum
            }
            if let weightDecay, weightDecay != checkpoint.optimizer.weightDecay {
                changed.append("--weight-decay \(checkpoint.optimizer.weightDecay) → \(weightDecay)"); checkpoint.optimizer.weightDecay = weightDecay
            }
            if !changed.isEmpty { say("fit: resuming with " + changed.joined(separator: ", ")) }
        }
        if resume != nil, let d = FrontEnd.difference(model: checkpoint.dataMeta, stream: data.meta.fields) {
            throw ToolError("\(data.source): the training stream's front-end differs from that of the model in \(resume!): \(d)")
        }
        let net = checkpoint.model
        net.move(to: backend)  // initialised (or loaded) on the CPU, trained on the device
        if let initFrom {
            try net.load(parameters: try RecordReader.safetensors(initFrom), source: initFrom)
            say("fit: --init-from: \(net.namedParameters.count) parameters from \(initFrom)")
        }
        if let initEmbed, resume == nil { try loadEmbedding(initEmbed, into: net, vocab: data.meta.vocab ?? [], say: say) }
        let opt = checkpoint.restoredOptimizer()
        var state = checkpoint.train
        let spec = net.spec
        if resume == nil { state.shuffle = shuffle ?? (spec.task == "classify") }
        else if let shuffle { state.shuffle = shuffle }
        let stripes = data.isExamples ? data.stripes : nil
        if let batch { state.batchSize = batch } else if resume == nil, let stripes { state.batchSize = stripes }
        if spec.stateful, let stripes, stripes != state.batchSize {
            say("fit: warning: the stream's windows are striped for batches of \(stripes) rows; batches of \(state.batchSize) break the state carried from row to row")
        }
        if spec.stateful, !data.isExamples, data.meta.fields["sampling"] == "sequential", !data.batchesContinue {
            say("fit: warning: the stream's batches do not continue each other row by row (batch --size must equal the stripes, with no --shuffle, --buffer, --bucket or --sort)")
        }
        if spec.stateful, state.shuffle, data.meta.fields["sampling"] == "sequential" {
            say("fit: warning: shuffling a sequentially sampled stream breaks the state carried from batch to batch (--no-shuffle)")
        }
        if let clip { state.clip = clip }
        if let lrSchedule { state.lrSchedule = lrSchedule }

        var plan = TrainingPlan(epochs: epochs)
        plan.maxSteps = maxSteps
        plan.valEvery = valEvery
        plan.saveEvery = output == nil ? nil : saveEvery
        plan.saveEachEpoch = output != nil
        plan.keepBest = keepBest
        plan.writeBestOnFailure = output != nil
        plan.pad = Int32(data.meta.fields["pad_id"] ?? "0") ?? 0
        plan.specAugment = specAugment.flatMap(Self.parseSpecAugment)
        if plan.specAugment != nil && spec.input != .floats { throw ValidationError("--spec-augment masks float inputs; model \(spec.name) takes ids") }
        let trainer = Trainer(checkpoint: checkpoint, optimizer: opt, state: state, data: data, validation: valData,
                              plan: plan, communicator: world)
        let interrupt = Interrupt()
        let progress = Progress(enabled: rank0 && isatty(2) != 0)
        let runStart = Date()
        trainer.hooks.stopRequested = { interrupt.happened }
        trainer.hooks.writeCheckpoint = { record in
            let out = try ByteOutput(path: output, binary: true)
            try out.write(Codec.encode(record))
            try out.commit()
        }
        var losses = [Double]()  // for the sparkline at the end
        trainer.hooks.afterStep = { t, r in
            let left = (r.batches - r.batch) + (epochs - r.epoch) * r.batches
            progress.show(epoch: r.epoch, of: epochs, batch: r.batch, of: r.batches, loss: r.epochLoss, examples: r.examples,
                          stepsLeft: maxSteps.map { min(left, max(0, $0 - r.step)) } ?? left)
            losses.append(Double(r.loss))
            var fields: [String: Any] = ["event": "step", "epoch": r.epoch, "step": r.step, "loss": Double(r.loss),
                                         "progress": r.progress, "seconds": Date().timeIntervalSince(runStart),
                                         "lr": Double(t.learningRate)]
            if world.size > 1 { fields["allreduce_seconds"] = r.communicationSeconds }
            try logFile?.write(fields)
        }
        trainer.hooks.afterEpoch = { _, r in
            progress.clear()
            say("epoch \(r.epoch)/\(epochs): train loss \(String(format: "%.4f", r.trainLoss))"
                + (spec.task == "lm" ? String(format: " (ppl %.2f)", exp(r.trainLoss)) : "")
                + String(format: ", %.1f s", r.seconds))
            try logFile?.write(["event": "epoch", "epoch": r.epoch, "step": r.step, "train_loss": r.trainLoss,
                                "progress": Double(r.epoch), "epoch_seconds": r.seconds, "seconds": Date().timeIntervalSince(runStart)])
        }
        trainer.hooks.atValidation = { _, r in
            progress.clear()
            say("  \(r.label) valid: \(describe(r.metrics, spec))")
            try logFile?.write(["event": "valid", "epoch": r.epoch, "step": r.step, "loss": r.metrics.loss,
                                "accuracy": spec.loss == .mse ? Double.nan : r.metrics.accuracy,
                                "progress": r.progress, "seconds": Date().timeIntervalSince(runStart)])
        }

        say("fit: \(spec.name) (\(spec.cell.rawValue), \(net.parameterCount) parameters), \(data.count) training examples"
            + (valData.map { ", \($0.count) validation" } ?? "") + ", task \(spec.task)"
            + (world.size > 1 ? ", \(world.size) processes" : ""))
        let outcome: TrainingOutcome
        do {
            outcome = try trainer.run()
        } catch let e as NonFiniteTraining {
            progress.clear()
            throw CollectiveFailure(e.description + "; "
                                    + (e.savedAtStep.flatMap { step in output.map { "\($0) keeps this run's checkpoint of step \(step)" } } ?? "no checkpoint written")
                                    + " (try a lower --lr or --clip)")
        }
        progress.clear()
        switch outcome {
        case .interrupted:
            say("fit: interrupted at step \(trainer.state.step); checkpoint written" + (output.map { " to \($0)" } ?? ""))
            if let output {
                let streams = (inputs + (val.map { ["--val", $0] } ?? [])).joined(separator: " ")
                say("fit: resume with: fit --resume \(output) --epochs \(epochs) -o \(output) \(streams)")
            }
        case .reachedMaxSteps: say("fit: reached --max-steps")
        case .finished: break
        }
        if trainer.best != nil { say(String(format: "fit: kept the best validation loss %.4f", trainer.state.bestValidLoss ?? .nan)) }
        if progress.enabled, losses.count >= 2 {
            say(String(format: "loss %@  %.4f → %.4f over %d steps", sparkline(losses), losses.first!, losses.last!, losses.count))
        }
        return outcome
    }

    /// "8,10" → SpecAugment(frequency: 8, time: 10).
    static func parseSpecAugment(_ text: String) -> SpecAugment? {
        let v = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard v.count == 2, let f = v[0], let t = v[1], (0...4096).contains(f), (0...100_000).contains(t) else { return nil }
        return SpecAugment(frequency: f, time: t)
    }

    /// Checks that the checkpoint can be written at `path` before training: a regular file
    /// gets its temporary file created (and removed) beside it; a FIFO or device must be
    /// writable (opening a FIFO here would consume its reader).
    static func checkWritable(_ path: String) throws {
        var st = stat()
        if path != "-", stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            if (st.st_mode & S_IFMT) == S_IFDIR { throw StreamError("\(path): is a directory") }
            guard access(path, W_OK) == 0 else { throw StreamError("\(path): \(String(cString: strerror(errno)))") }
            return
        }
        _ = try ByteOutput(path: path)
    }

    func buildSpec(_ data: Dataset) throws -> ModelSpec {
        let meta = data.meta
        let vocab = meta.vocab?.count ?? 0, classes = meta.classes?.count ?? 0
        let first = data.isExamples ? data.examples[0] : data.batches[0]
        let x = first["x"]
        let features = meta.features ?? (x?.dtype == .f32 ? (x!.shape.count >= (data.isExamples ? 2 : 3) ? x!.shape.last! : 1) : 0)
        var spec: ModelSpec
        if let model {
            spec = Presets.spec(model, vocab: vocab, classes: classes, features: features)!
        } else {
            spec = ModelSpec(name: "custom", task: meta.task ?? "classify", input: x?.dtype == .f32 ? .floats : .ids,
                             vocabSize: vocab, embed: 64, features: features, cell: cell!, hidden: [128], head: .last,
                             outputs: classes, loss: .crossEntropy)
            switch spec.task {
            case "lm", "tag": spec.head = .step; spec.outputs = vocab
            case "regress": spec.head = .step; spec.outputs = max(features, 1); spec.loss = .mse
            default: break
            }
        }
        if let cell { spec.cell = cell }
        if let hidden {
            spec.hidden = hidden.split(separator: ",").compactMap { Int($0) }
        }
        if let embed { spec.embed = embed }
        if let bidirectional { spec.bidirectional = bidirectional }
        if let head { spec.head = head }
        if let dropout { spec.dropout = dropout }
        if stateful { spec.stateful = true }
        if let initEmbed, spec.input == .ids { spec.embed = try gloveDimension(initEmbed) }
        // checks against the data
        if spec.input == .ids && vocab == 0 { throw ToolError("\(data.source): model \(spec.name) takes ids, but the stream's meta has no vocab") }
        if spec.input == .floats && x?.dtype != .f32 { throw ToolError("\(data.source): model \(spec.name) takes float features, the stream holds ids") }
        if spec.input == .ids && x?.dtype == .f32 { throw ToolError("\(data.source): model \(spec.name) takes ids, the stream holds floats") }
        if spec.task == "classify" && spec.loss != .bce && classes < 2 { throw ToolError("\(data.source): a classifier needs the meta's classes (found \(classes))") }
        if spec.loss == .bce && classes != 2 { throw ToolError("\(data.source): model \(spec.name) is a binary classifier; the stream has \(classes) classes") }
        if spec.head == .flatten {
            let t = x.map { data.isExamples ? $0.shape[0] : $0.shape[1] } ?? 0
            spec.flattenSteps = spec.pooledSteps(t)
            guard spec.flattenSteps >= 1 else { throw ToolError("\(data.source): inputs of \(t) steps are too short for \(spec.name)'s pooling") }
            // a flatten head reads a fixed number of steps: every input must have the first one's length
            let lengths = data.isExamples ? data.examples.map { $0["x"]?.shape.first ?? 0 } : data.batches.map { $0["x"]?.shape.dropFirst().first ?? 0 }
            if let other = lengths.first(where: { $0 != t }) {
                throw ToolError("\(data.source): head flatten needs inputs of one length, the stream has \(t) and \(other) steps (wav2seq --length, tok --length)")
            }
        }
        do { try spec.validate() } catch let e as LimitError { throw ToolError("\(data.source): \(e.message)") }
        return spec
    }

    func optimizerConfig() -> OptimizerConfig {
        var c = OptimizerConfig()
        c.name = optimizer ?? c.name; c.lr = lr ?? c.lr; c.momentum = momentum ?? c.momentum; c.weightDecay = weightDecay ?? c.weightDecay
        return c
    }

    func trainState() -> TrainState {
        var s = TrainState()
        s.seed = seed ?? 0
        return s
    }

    func gloveDimension(_ path: String) throws -> Int {
        var lines = TextLines(try openInputs([path]))
        guard let first = try lines.nextLine() else { throw ToolError("\(path): empty") }
        let n = first.text.split(separator: " ").count - 1
        guard n >= 1 else { throw ToolError("\(first.place): not a GloVe line (word v1 … vD)") }
        return n
    }

    func loadEmbedding(_ path: String, into net: SequenceModel, vocab: [String], say: (String) -> Void) throws {
        guard let emb = net.embedding else { throw ToolError("--init-embed: model \(net.spec.name) has no embedding") }
        var index = [String: Int]()
        for (i, w) in vocab.enumerated() { index[w] = i }
        var values = emb.weight.values
        let d = emb.dimension
        var found = 0
        var lines = TextLines(try openInputs([path]))
        while let line = try lines.nextLine() {
            guard let sp = line.text.firstIndex(of: " ") else { continue }
            let word = String(line.text[..<sp])
            guard let i = index[word] ?? index[word.lowercased()], values.count >= (i + 1) * d else { continue }
            let nums = line.text[line.text.index(after: sp)...].split(separator: " ").compactMap { Float($0) }
            guard nums.count == d else { throw ToolError("\(line.place): \(nums.count) values, expected \(d)") }
            values.replaceSubrange((i * d)..<((i + 1) * d), with: nums)
            index[word] = nil
            found += 1
        }
        emb.weight.assign(values)
        say("fit: --init-embed: \(found) of \(vocab.count) vocabulary words found in \(path)")
    }

    func describe(_ m: Metrics, _ spec: ModelSpec) -> String {
        switch spec.task {
        case "lm": return String(format: "loss %.4f, perplexity %.2f", m.loss, exp(m.loss))
        case "regress": return String(format: "MSE %.5f", m.loss)
        default: return String(format: "loss %.4f, accuracy %.2f%% (%d/%d)", m.loss, 100 * m.accuracy, m.correct, m.count)
        }
    }
}

extension CellKind: ExpressibleByArgument {}
extension ModelSpec.Head: ExpressibleByArgument {}
extension Device: ExpressibleByArgument {}

extension LearningRateSchedule: ExpressibleByArgument {}
