import ArgumentParser
import Foundation
import Plot
import TensorStream
import ToolKit

/// fit --log files → an SVG chart of loss, accuracy or perplexity.
struct SeqPlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seqplot",
        abstract: "Draw fit --log files as an SVG chart: loss, accuracy or perplexity.",
        usage: "seqplot [options] [<logs> ...]",
        discussion: """
            Each log is a run (a log that fit appended several runs to gives each of \
            them): its training loss at every step (a moving average, --smooth) as a \
            line, and its validation passes (fit --val) as a dashed line with points. \
            Several logs are drawn together to compare them, in distinguishable colours. \
            The x axis counts steps, epochs (fractions within an epoch) or seconds since \
            the start of the run.

            \(Help.examples([
                "fit --model charlm --val valid.stream --log lm.jsonl -o lm.ckpt train.stream",
                "seqplot lm.jsonl -o lm.svg",
                "seqplot --metric perplexity --x epoch --log-y lm.jsonl > ppl.svg",
                "seqplot --metric accuracy --labels rnn4,gru rnn4.jsonl gru.jsonl -o acc.svg",
            ]))
            """,
        version: RecurVersion.line("seqplot"))

    enum Metric: String, ExpressibleByArgument, CaseIterable { case loss, accuracy, perplexity }
    enum Axis: String, ExpressibleByArgument, CaseIterable { case step, epoch, seconds }

    @Argument(help: "fit --log files (JSON lines); none or '-' reads standard input.") var logs: [String] = []
    @Option(help: "What to draw.") var metric: Metric = .loss
    @Option(name: .customLong("x"), help: "The x axis.") var x: Axis = .step
    @Option(help: "Average the training loss over this many steps (default: about a 50th of the run).") var smooth: Int?
    @Option(help: "Names of the runs in the legend, comma-separated (default: the file names).") var labels: String?
    @Option(help: "The chart's title.") var title: String?
    @Flag(help: "A logarithmic y axis.") var logY = false
    @OptionGroup var out: OutputOptions

    func validate() throws {
        if let smooth, smooth < 1 { throw ValidationError("--smooth must be at least 1") }
    }

    func run() throws {
        let inputs = logs.isEmpty ? ["-"] : logs
        let names = labels.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        if let names, names.count != inputs.count {
            throw ValidationError("--labels gives \(names.count) names for \(inputs.count) logs")
        }
        var runs = [(name: String, log: TrainingLog)]()
        for (i, path) in inputs.enumerated() {
            let bytes = try ByteInput(path: path).readAll()
            let found = try TrainingLog.runs(String(decoding: bytes, as: UTF8.self), source: path == "-" ? "stdin" : path)
            guard !found.isEmpty else { throw ToolError("\(path): no events (is it a fit --log file?)") }
            let base = names?[i] ?? (path == "-" ? "stdin" : URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)
            for (k, log) in found.enumerated() { runs.append((found.count > 1 ? "\(base) #\(k + 1)" : base, log)) }
        }
        var series = [Series]()
        for (color, run) in runs.enumerated() {
            series += try self.series(run.log, name: run.name, color: color)
        }
        guard series.contains(where: { !$0.points.isEmpty }) else {
            throw ToolError(metric == .accuracy ? "no validation accuracy in the logs (fit --val makes it)" : "nothing to draw in the logs")
        }
        let yLabel: String
        switch metric {
        case .loss: yLabel = "loss (mean per target; nats for cross-entropy)"
        case .perplexity: yLabel = "perplexity (exp of the loss)"
        case .accuracy: yLabel = "validation accuracy (%)"
        }
        let xLabel = ["step": "step", "epoch": "epoch", "seconds": "time since the start (s)"][x.rawValue]!
        var chart = LineChart(title: title ?? "\(metric.rawValue) by \(x.rawValue)", xLabel: xLabel, yLabel: yLabel, series: series)
        chart.logY = logY
        let output = try ByteOutput(path: out.output)
        try output.write(chart.svg())
        try output.commit()
    }

    /// A run's lines: training (steps, or epochs' means when the log has no steps) and validation.
    func series(_ log: TrainingLog, name: String, color: Int) throws -> [Series] {
        func xValue(_ e: TrainingLog.Event) -> Double? {
            switch x {
            case .step: return Double(e.step)
            case .epoch: return e.progress ?? Double(e.epoch)
            case .seconds: return e.seconds
            }
        }
        func yValue(_ v: Double?) -> Double? {
            guard let v, v.isFinite else { return nil }
            return metric == .perplexity ? exp(v) : v
        }
        var out = [Series]()
        if metric != .accuracy {
            var train = [(x: Double, y: Double)]()
            if !log.steps.isEmpty {
                let w = smooth ?? max(1, log.steps.count / 50)
                var window = [Double]()
                for e in log.steps {
                    guard let l = e.loss, l.isFinite else { continue }
                    window.append(l)
                    if window.count > w { window.removeFirst() }
                    if let xv = xValue(e), let yv = yValue(window.reduce(0, +) / Double(window.count)) { train.append((xv, yv)) }
                }
            } else {
                for e in log.epochs { if let xv = xValue(e), let yv = yValue(e.loss) { train.append((xv, yv)) } }
            }
            // at most about 1,000 points a line: a chart of 100,000 steps stays small
            let every = max(1, train.count / 1000)
            if every > 1 { train = train.enumerated().filter { $0.offset % every == 0 || $0.offset == train.count - 1 }.map(\.element) }
            out.append(Series(name: "\(name) train", points: train, color: color))
        }
        let valid = log.validations.compactMap { e -> (x: Double, y: Double)? in
            guard let xv = xValue(e) else { return nil }
            if metric == .accuracy { return e.accuracy.flatMap { $0.isFinite ? (xv, 100 * $0) : nil } }
            return yValue(e.loss).map { (xv, $0) }
        }
        if !valid.isEmpty { out.append(Series(name: "\(name) valid", points: valid, dashed: true, color: color)) }
        return out
    }
}
