import ArgumentParser
import Foundation
import Models
import NN
import Tensor
import TensorStream
import ToolKit

/// Applies a checkpoint to a stream: classes, probabilities, tags or values as TSV.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Apply a trained model to a stream; write predictions as TSV, accuracy on stderr.",
        usage: "predict [options] <checkpoint> [<inputs> ...]",
        discussion: """
            The TSV starts with a header line naming its columns. Classifiers print: id, \
            predicted class, its probability, the true class when the stream has labels, and \
            with --probs every class's probability (a column per class name). Taggers print: \
            id, the tags (and the true tags). Regressors print: id, the values (--forecast N: \
            then N more, each fed back as the next input). Streams without labels (wav2seq \
            --no-label, charidx or tok lines without a label column) are predicted; with \
            labels, accuracy and a confusion matrix (rows: true class) go to stderr, and \
            --json writes the metrics as one JSON object on standard output.

            The stream must be made with the model's front-end (sample rate, features, \
            trimming, vocabulary, classes, …): make it with wav2seq --like CKPT or charidx/tok \
            --vocab-from CKPT. Another front-end is refused, naming the field.

            From a pipe, each example is answered as soon as it arrives; from a file, in \
            batches.

            \(Help.examples([
                "wav2seq --like digits.ckpt --no-label myclip.wav | predict digits.ckpt",
                "wav2seq --like digits.ckpt test/*.wav | predict digits.ckpt --json > metrics.json",
                "tail -f queries.txt | charidx --vocab-from names.ckpt | predict names.ckpt",
                "charidx --vocab-from names.ckpt --labels test.tsv | predict names.ckpt --probs > probs.tsv",
                "num2seq --series sine.csv --window 49 | predict sine.ckpt --forecast 49",
            ]))
            """,
        version: RecurVersion.line("predict"))

    @Argument(help: "The checkpoint.") var checkpoint: String
    @Argument(help: "Streams; none or '-' reads standard input.") var inputs: [String] = []
    @Flag(help: "Print every class's probability.") var probs = false
    @Flag(help: "Classifiers: print the raw outputs (logits), a column per class, at full float precision.") var logits = false
    @Option(help: "Regressors: continue each sequence N steps, feeding predictions back.") var forecast: Int?
    @Option(help: "Examples per forward pass.") var batch = 64
    @Flag(help: "Do not print the confusion matrix.") var noConfusion = false
    @Flag(help: "Write the metrics as one JSON object on standard output (the predictions go to -o FILE, if given).")
    var json = false
    @Option(name: .shortAndLong, help: "Write the predictions TSV to FILE (atomically).") var output: String?
    @Option(help: "Device: cpu or cuda.") var device: Device = .cpu

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        if let forecast, forecast < 1 { throw ValidationError("--forecast must be at least 1") }
    }

    func run() throws {
        let backend = try device.backend()
        let ckpt = try Checkpoint.load(checkpoint)
        let net = ckpt.model, spec = net.spec
        net.move(to: backend)
        try net.prepareForInference()
        net.training = false
        if forecast != nil && spec.loss != .mse { throw ValidationError("--forecast is for regressors") }
        let reader = try StreamReader(try openInputs(inputs))
        if let d = FrontEnd.difference(model: ckpt.dataMeta, stream: reader.meta.metadata) {
            throw ToolError("\(reader.inputName): the stream's front-end differs from the model's: \(d) (\(FrontEnd.remedy(model: ckpt.dataMeta, path: checkpoint)))")
        }
        let meta = StreamMeta(ckpt.dataMeta)
        var report = Report(spec: spec, classes: meta.classes ?? [], vocab: meta.vocab ?? [])
        // Predictions: to -o FILE, or to standard output unless it carries the JSON.
        let out: ByteOutput? = output != nil || !json ? try ByteOutput(path: output) : nil
        var headerWritten = false
        let evaluation = StreamEvaluation(reader, net: net, batch: batch)
        evaluation.afterIdle = { try out?.flush() }
        try evaluation.run { b, m, logits in
            let labelled = b.labels != nil || b.targets != nil
            if !headerWritten {
                try out?.write(report.header(labelled: labelled, probs: probs, logits: self.logits, forecast: forecast != nil) + "\n")
                headerWritten = true
            }
            if labelled { report.total.add(m) }
            for line in try report.lines(b, logits.values, probs: probs, logits: self.logits, forecast: forecast, net: net) {
                try out?.write(line + "\n")
            }
        }
        try out?.commit()
        if json {
            let data = try JSONSerialization.data(withJSONObject: report.json(), options: [.sortedKeys, .withoutEscapingSlashes])
            try writeStandardOutput(String(decoding: data, as: UTF8.self) + "\n")
        }
        for line in report.summary(confusion: !noConfusion) { note(line) }
    }
}

extension Device: ExpressibleByArgument {}
