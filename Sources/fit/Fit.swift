import ArgumentParser
import Foundation
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
            error. --lr, --momentum, --weight-decay, --clip, --batch, --shuffle and --epochs \
            may change; a changed learning rate, momentum or weight decay is reported.

            -o FILE and --log FILE are opened before training starts. A checkpoint is written \
            only when its parameters are finite and give a finite loss on the last batch; \
            when the loss becomes NaN the run stops and names the last checkpoint it wrote.

            The checkpoint keeps the training stream's front-end (sample rate, mel bands, \
            CMVN, vocabulary, classes, …): a --val stream, or the stream of a --resume, made \
            with another front-end is refused, naming the field.

            Examples:
              wav2seq --length 4000 train/*.wav | fit --model rnn4 --epochs 5 -o digits.ckpt
              charidx --steps 35 train.txt | fit --model charlm --clip 5 --val valid.stream -o lm.ckpt
              fit --resume lm.ckpt --epochs 4 -o lm.ckpt train.stream
            Interrupt (Ctrl-C) writes the checkpoint and exits; a NaN loss stops with the last good one kept.
            """)

    @Argument(help: "Training streams; none or '-' reads standard input.") var inputs: [String] = []
    @Option(name: .shortAndLong, help: "Checkpoint file (written atomically; default: standard output at the end).")
    var output: String?
    @Option(help: "A preset model (see above).") var model: String?
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
    @Option(parsing: .unconditional, help: "SGD momentum (default 0; with --resume, replaces the checkpoint's).") var momentum: Float?
    @Option(parsing: .unconditional, help: "Weight decay (L2, as torch.optim; default 0; with --resume, replaces the checkpoint's).") var weightDecay: Float?
    @Option(parsing: .unconditional, help: "Clip the gradient norm to this (default: none, or the resumed run's).") var clip: Float?
    @Option(help: "Examples per batch, when the stream holds examples (default: the stream's stripes, 32, or the resumed run's).") var batch: Int?
    @Flag(inversion: .prefixedNo, help: "Shuffle examples (or ready-made batches) each epoch (default: on for classify, off for lm/regress).")
    var shuffle: Bool?
    @Option(help: "Seed for initialisation, data order and dropout (default 0).") var seed: UInt64?
    @Option(help: "CPU threads.") var threads: Int?
    @Option(help: "Validation stream: loss and accuracy/perplexity after each epoch (and each --val-every).")
    var val: String?
    @Option(help: "Also validate every N steps.") var valEvery: Int?
    @Flag(help: "With --val: the checkpoint keeps the parameters of the best validation loss (early stopping).")
    var keepBest = false
    @Option(help: "Initialise the embedding from a GloVe-format text file (word v1 … vD).") var initEmbed: String?
    @Option(help: "Continue training from this checkpoint (optimiser moments, step, data position).")
    var resume: String?
    @Option(help: "Also write the checkpoint every N steps.") var saveEvery: Int?
    @Option(help: "Append metrics as JSON lines to FILE.") var log: String?
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
        let backend = try device.backend()  // a clear error where the device is missing
        if let threads { CPUBackend.shared.threads = max(1, threads) }
        // Where the results go is checked before any training: a run must not be lost at the end.
        if let output { try Self.checkWritable(output) }
        let logFile = try log.map { try LogFile($0) }
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
            if !changed.isEmpty { note("fit: resuming with " + changed.joined(separator: ", ")) }
        }
        if resume != nil, let d = FrontEnd.difference(model: checkpoint.dataMeta, stream: data.meta.fields) {
            throw ToolError("\(data.source): the training stream's front-end differs from that of the model in \(resume!): \(d)")
        }
        let net = checkpoint.model
        net.move(to: backend)  // initialised (or loaded) on the CPU, trained on the device
        if let initEmbed, resume == nil { try loadEmbedding(initEmbed, into: net, vocab: data.meta.vocab ?? []) }
        let opt = checkpoint.restoredOptimizer()
        var state = checkpoint.train
        let spec = net.spec
        if resume == nil { state.shuffle = shuffle ?? (spec.task == "classify") }
        else if let shuffle { state.shuffle = shuffle }
        let stripes = data.isExamples ? data.stripes : nil
        if let batch { state.batchSize = batch } else if resume == nil, let stripes { state.batchSize = stripes }
        if spec.stateful, let stripes, stripes != state.batchSize {
            note("fit: warning: the stream's windows are striped for batches of \(stripes) rows; batches of \(state.batchSize) break the state carried from row to row")
        }
        if spec.stateful, !data.isExamples, data.meta.fields["sampling"] == "sequential", !data.batchesContinue {
            note("fit: warning: the stream's batches do not continue each other row by row (batch --size must equal the stripes, with no --shuffle, --buffer, --bucket or --sort)")
        }
        if spec.stateful, state.shuffle, data.meta.fields["sampling"] == "sequential" {
            note("fit: warning: shuffling a sequentially sampled stream breaks the state carried from batch to batch (--no-shuffle)")
        }
        if let clip { state.clip = clip }
        let shuffling = state.shuffle, batch = state.batchSize, clip = state.clip
        let pad = Int32(data.meta.fields["pad_id"] ?? "0") ?? 0
        let interrupt = Interrupt()
        let progress = Progress(enabled: isatty(2) != 0)

        var savedAtStep: Int? = nil  // the step of the last checkpoint this run wrote
        var lastBatch: Batch? = nil   // to check that the parameters about to be saved give a finite loss
        var best: Checkpoint? = nil
        /// With --keep-best, the best checkpoint so far is written even when the run stops on NaN.
        func saveBest() throws {
            guard let best, output != nil else { return }
            let out = try ByteOutput(path: output)
            try out.write(Codec.encode(try best.record(optimizerState: best.restoredOptimizer())))
            try out.commit()
            savedAtStep = best.train.step
        }
        func save() throws {
            // one forward pass without dropout, the carried state put back: the run goes on as if unchecked
            let finiteParameters = net.parameters.allSatisfy { $0.values.allSatisfy(\.isFinite) }
            let finiteLoss = try finiteParameters && {
                let carried = net.state, training = net.training
                net.training = false
                defer { net.training = training; net.state = carried }  // before the record below reads the state
                return try lastBatch.map { b in try noGrad { try net.loss(try net.forward(b), b).item.isFinite } } ?? true
            }()
            guard finiteLoss else {
                try saveBest()
                throw ToolError("\(finiteParameters ? "the loss of the parameters to save is NaN or infinite" : "the parameters became NaN or infinite") by step \(state.step) (epoch \(state.epoch + 1)); "
                                + (savedAtStep.map { "\(output!) keeps this run's checkpoint of step \($0)" } ?? "no checkpoint written")
                                + " (try a lower --lr or --clip)")
            }
            checkpoint.train = state
            let record = try checkpoint.record(optimizerState: opt)
            let out = try ByteOutput(path: output)
            try out.write(Codec.encode(record))
            try out.commit()
            if output != nil { savedAtStep = state.step }
        }
        func validate(_ label: String) throws {
            guard let valData else { return }
            let carried = net.state
            net.training = false
            let m = try valData.evaluate(net, batch: batch, pad: pad)
            net.training = true
            net.state = carried
            note("  \(label) valid: \(describe(m, spec))")
            try logFile?.write(["event": "valid", "epoch": state.epoch, "step": state.step, "loss": m.loss,
                                "accuracy": spec.loss == .mse ? Double.nan : m.accuracy])
            if keepBest, m.loss < (state.bestValidLoss ?? .infinity) {
                state.bestValidLoss = m.loss
                checkpoint.train = state
                best = try Checkpoint(try checkpoint.record(optimizerState: opt), source: "memory")
            }
        }

        note("fit: \(spec.name) (\(spec.cell.rawValue), \(net.parameterCount) parameters), \(data.count) training examples"
             + (valData.map { ", \($0.count) validation" } ?? "") + ", task \(spec.task)")
        net.training = true
        var stopped = false
        epochLoop: while state.epoch < epochs {
            let batches: [Record]
            do { batches = try data.epoch(state.epoch, size: batch, shuffle: shuffling, seed: state.seed, pad: pad) }
            catch { throw ToolError("\(data.source): \(error)") }
            if state.batchInEpoch == 0 { net.resetState() }
            let start = Date()
            var sum = 0.0, seen = 0
            while state.batchInEpoch < batches.count {
                let b: Batch, loss: Float
                do {
                    b = try Batch(batches[state.batchInEpoch], spec: spec)
                    loss = try net.trainStep(b, optimizer: opt, clip: clip)
                } catch {
                    throw ToolError("\(data.source): batch \(state.batchInEpoch + 1) of epoch \(state.epoch + 1): \(error)")
                }
                lastBatch = b
                guard loss.isFinite else {
                    try saveBest()
                    throw ToolError("loss became \(loss) at epoch \(state.epoch + 1), step \(state.step + 1); "
                                    + (savedAtStep.map { "\(output!) keeps this run's checkpoint of step \($0)" } ?? "no checkpoint written")
                                    + " (try a lower --lr or --clip)")
                }
                state.batchInEpoch += 1
                state.step += 1
                sum += Double(loss); seen += 1
                progress.show(epoch: state.epoch + 1, of: epochs, batch: state.batchInEpoch, of: batches.count,
                              loss: sum / Double(seen), since: start)
                try logFile?.write(["event": "step", "epoch": state.epoch, "step": state.step, "loss": Double(loss)])
                if let saveEvery, output != nil, state.step % saveEvery == 0 { try save() }
                if let valEvery, state.step % valEvery == 0 { progress.clear(); try validate("step \(state.step)") }
                if interrupt.happened || (maxSteps.map { state.step >= $0 } ?? false) { stopped = true; break epochLoop }
            }
            progress.clear()
            state.epoch += 1
            state.batchInEpoch = 0
            let secs = Date().timeIntervalSince(start)
            note("epoch \(state.epoch)/\(epochs): train loss \(String(format: "%.4f", sum / Double(max(seen, 1))))"
                 + (spec.task == "lm" ? String(format: " (ppl %.2f)", exp(sum / Double(max(seen, 1)))) : "")
                 + String(format: ", %.1f s", secs))
            try logFile?.write(["event": "epoch", "epoch": state.epoch, "step": state.step,
                                "train_loss": sum / Double(max(seen, 1)), "seconds": secs])
            try validate("epoch \(state.epoch)")
            if output != nil && state.epoch < epochs { try save() }
        }
        if stopped { note(interrupt.happened ? "fit: interrupted at step \(state.step); writing the checkpoint" : "fit: reached --max-steps") }
        if let best {
            let out = try ByteOutput(path: output)
            try out.write(Codec.encode(try best.record(optimizerState: best.restoredOptimizer())))
            try out.commit()
            note(String(format: "fit: kept the best validation loss %.4f", best.train.bestValidLoss ?? .nan))
        } else {
            try save()
        }
        if interrupt.happened { throw ExitCode(130) }
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

    func loadEmbedding(_ path: String, into net: SequenceModel, vocab: [String]) throws {
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
        note("fit: --init-embed: \(found) of \(vocab.count) vocabulary words found in \(path)")
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
