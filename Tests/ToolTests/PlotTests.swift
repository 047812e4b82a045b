import Foundation
import Testing
@testable import Plot

/// Pictures of training: ticks, sparklines, fit's log read back, seqplot end to end.
@Suite("seqplot and the training log")
struct PlotTests {
    @Test func ticksAreNiceAndCoverTheRange() {
        let t = Ticks(0.37, 2.91)
        #expect(t.values.first! <= 0.37 && t.values.last! >= 2.91)
        #expect([0.2, 0.5, 1].contains(t.step))
        #expect(Ticks(5, 5).values.count >= 2, "a flat series still gets an axis")
        #expect(Ticks(0, 1000).label(250) == "250")
        #expect(Ticks(0, 0.01).label(0.004) == "0.004")
    }

    @Test func sparklineFollowsTheValues() {
        #expect(sparkline([3, 2, 1, 0], width: 4) == "█▆▃▁")
        #expect(sparkline((0..<100).map(Double.init), width: 10).count == 10)
        #expect(sparkline([.nan, 1, 1]) == "▄▄")
    }

    @Test func logSplitsRunsAndKeepsEvents() throws {
        let text = """
            {"event":"step","epoch":1,"step":1,"loss":2.0,"progress":0.5,"seconds":0.1}
            {"event":"step","epoch":1,"step":2,"loss":1.5,"progress":1,"seconds":0.2}
            {"event":"epoch","epoch":1,"step":2,"train_loss":1.75,"progress":1,"epoch_seconds":0.2,"seconds":0.2}
            {"event":"valid","epoch":1,"step":2,"loss":1.6,"accuracy":0.5,"progress":1,"seconds":0.3}
            {"event":"step","epoch":2,"step":3,"loss":1.2,"progress":1.5,"seconds":0.4}
            {"event":"step","epoch":1,"step":1,"loss":2.2,"progress":0.5,"seconds":0.1}
            """
        let runs = try TrainingLog.runs(text, source: "x.jsonl")
        #expect(runs.count == 2, "a log with steps starting again holds two runs")
        #expect(runs[0].steps.map(\.step) == [1, 2, 3] && runs[0].validations.first?.accuracy == 0.5)
        #expect(runs[0].epochs.first?.loss == 1.75)
        #expect(throws: LogError.self) { try TrainingLog.runs("{\"event\":\"step\"}\nnot json", source: "y") }
    }

    func file(_ name: String, _ text: String) -> String {
        let path = Pipeline.tempPath(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test func fitLogsAndSeqplotDraws() throws {
        let names = (0..<40).map { i in ["Russian\tIvanov\(i % 7)", "German\tMüller\(i % 5)"][i % 2] }.joined(separator: "\n")
        let stream = file("names.stream", "")
        FileManager.default.createFile(atPath: stream, contents: try Pipeline.run("charidx", ["--labels"], input: Data(names.utf8)).stdout)
        let log = Pipeline.tempPath("run.jsonl")
        let fit = try Pipeline.run("fit", ["--cell", "gru", "--hidden", "8", "--embed", "4", "--batch", "8", "--epochs", "2",
                                           "--val", stream, "--val-every", "3", "--log", log, "-o", Pipeline.tempPath("m.ckpt"), stream])
        #expect(fit.status == 0, "\(fit.stderr)")
        let events = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let steps = events.filter { $0["event"] as? String == "step" }
        #expect(steps.first?["epoch"] as? Int == 1, "epochs count from 1")
        #expect(steps.count == 10 && (steps.last?["progress"] as? Double) == 2)
        let valid = events.filter { $0["event"] as? String == "valid" }
        #expect(valid.count == 5 && valid.allSatisfy { $0["seconds"] != nil && $0["accuracy"] != nil })
        #expect(valid.first?["epoch"] as? Int == 1 && (valid.first?["progress"] as? Double ?? 0) < 1)
        let epochs = events.filter { $0["event"] as? String == "epoch" }
        #expect(epochs.map { $0["epoch"] as? Int } == [1, 2])

        let svg = try Pipeline.run("seqplot", ["--labels", "gru", log])
        #expect(svg.status == 0, "\(svg.stderr)")
        let text = String(decoding: svg.stdout, as: UTF8.self)
        #expect(text.hasPrefix("<svg") && text.contains("gru train") && text.contains("gru valid"))
        #expect(text.components(separatedBy: "<polyline").count == 3)
        let accuracy = try Pipeline.run("seqplot", ["--metric", "accuracy", "--x", "epoch", log])
        #expect(String(decoding: accuracy.stdout, as: UTF8.self).contains("validation accuracy (%)"))
    }

    @Test func badLogsAreOneLineErrors() throws {
        let bad = file("bad.jsonl", "{\"event\":\"step\",\"epoch\":1,\"step\":1,\"loss\":1}\nhello\n")
        let r = try Pipeline.run("seqplot", [bad])
        #expect(r.status == 1 && r.stderr == "seqplot: \(bad):2: not a fit --log line (a JSON object with an \"event\")\n", "\(r.stderr)")
        let empty = try Pipeline.run("seqplot", [file("empty.jsonl", "\n")])
        #expect(empty.status == 1 && empty.stderr.contains("no events"))
        let noAccuracy = try Pipeline.run("seqplot", ["--metric", "accuracy", file("steps.jsonl", "{\"event\":\"step\",\"epoch\":1,\"step\":1,\"loss\":1}\n")])
        #expect(noAccuracy.status == 1 && noAccuracy.stderr.contains("fit --val"))
        let labels = try Pipeline.run("seqplot", ["--labels", "a,b", bad])
        #expect(labels.status == 2)
    }
}

/// A binary stream is not written to a terminal (as gzip refuses): one line, exit 1.
@Suite("Binary output and terminals")
struct TerminalTests {
    static let script: String? = ["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// `script` (util-linux) runs the tool with its output on a pseudo-terminal.
    @Test(.enabled(if: script != nil, "no script(1) to make a terminal"))
    func streamToATerminalIsRefused() throws {
        let input = Pipeline.tempPath("in.tsv")
        _ = FileManager.default.createFile(atPath: input, contents: Data("a\tb\n".utf8))
        for (tool, args) in [("charidx", ["--labels", input]), ("fit", ["--cell", "gru", "--epochs", "1", "/dev/null"])] {
            let r = try Pipeline.exec(Self.script!, ["-qec", Pipeline.binDir.appendingPathComponent(tool).path + " " + args.joined(separator: " "), "/dev/null"])
            let text = String(decoding: r.stdout, as: UTF8.self)  // script(1) puts the terminal's output on its stdout
            #expect(r.status == 1, "\(tool): \(text)")
            #expect(text.hasPrefix("\(tool): not writing a binary stream to a terminal"), "\(tool): \(text)")
        }
    }
}
