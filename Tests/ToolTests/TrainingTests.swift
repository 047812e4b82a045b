import Foundation
import Models
import Testing
import TensorStream

@Suite("fit: resume, interrupts, failures")
struct TrainingTests {
    static let names = (0..<40).map { i in ["Russian\tIvanov\(i % 7)", "German\tMüller\(i % 5)", "French\tDubois"][i % 3] }
        .joined(separator: "\n")

    func namesStream() throws -> String {
        let r = try Pipeline.run("charidx", ["--labels"], input: Data(Self.names.utf8))
        let path = Pipeline.tempPath("names.stream")
        FileManager.default.createFile(atPath: path, contents: r.stdout)
        return path
    }

    static let spec = ["--cell", "gru", "--hidden", "8,8", "--dropout", "0.3", "--embed", "4", "--batch", "8", "--seed", "5"]

    @Test func resumeGivesTheSameBytesAsOneRun() throws {
        let data = try namesStream()
        let whole = Pipeline.tempPath("whole.ckpt"), parts = Pipeline.tempPath("parts.ckpt")
        #expect(try Pipeline.run("fit", Self.spec + ["--epochs", "4", "-o", whole, data]).status == 0)
        #expect(try Pipeline.run("fit", Self.spec + ["--epochs", "2", "-o", parts, data]).status == 0)
        let more = try Pipeline.run("fit", ["--resume", parts, "--epochs", "4", "-o", parts, data])
        #expect(more.status == 0, "\(more.stderr)")
        let a = FileManager.default.contents(atPath: whole), b = FileManager.default.contents(atPath: parts)
        #expect(a != nil && a == b)
        #expect(try Checkpoint.load(parts).train.epoch == 4)
    }

    @Test func resumeMidEpochAfterMaxSteps() throws {
        let data = try namesStream()
        let whole = Pipeline.tempPath("whole.ckpt"), parts = Pipeline.tempPath("parts.ckpt")
        #expect(try Pipeline.run("fit", Self.spec + ["--epochs", "2", "-o", whole, data]).status == 0)
        #expect(try Pipeline.run("fit", Self.spec + ["--epochs", "2", "--max-steps", "3", "-o", parts, data]).status == 0)
        #expect(try Checkpoint.load(parts).train.batchInEpoch == 3)
        #expect(try Pipeline.run("fit", ["--resume", parts, "--epochs", "2", "-o", parts, data]).status == 0)
        #expect(FileManager.default.contents(atPath: whole) == FileManager.default.contents(atPath: parts))
    }

    /// The cosine rate is torch's CosineAnnealingLR (eta_min 0): base at the start, half
    /// way down at the middle, 0 at the end, 0.5·(1 + cos(π·t/T)) between.
    @Test func cosineRateIsTorchs() {
        let c = LearningRateSchedule.cosine
        #expect(c.rate(base: 0.1, step: 0, total: 10) == 0.1)
        #expect(abs(c.rate(base: 0.1, step: 5, total: 10) - 0.05) < 1e-7)
        #expect(abs(c.rate(base: 0.1, step: 3, total: 10) - 0.0793893) < 1e-6)
        #expect(c.rate(base: 0.1, step: 10, total: 10) == 0)
        #expect(LearningRateSchedule.constant.rate(base: 0.1, step: 7, total: 10) == 0.1)
    }

    /// A cosine schedule changes the run, is kept in the checkpoint, and a run stopped
    /// early and resumed (without naming the schedule again) ends in the same bytes.
    @Test func cosineScheduleResumesExactly() throws {
        let data = try namesStream()
        let constant = Pipeline.tempPath("constant.ckpt"), whole = Pipeline.tempPath("whole.ckpt"), parts = Pipeline.tempPath("parts.ckpt")
        let cosine = Self.spec + ["--lr", "0.01", "--lr-schedule", "cosine"]
        #expect(try Pipeline.run("fit", Self.spec + ["--lr", "0.01", "--epochs", "2", "-o", constant, data]).status == 0)
        #expect(try Pipeline.run("fit", cosine + ["--epochs", "2", "-o", whole, data]).status == 0)
        #expect(try Pipeline.run("fit", cosine + ["--epochs", "2", "--max-steps", "4", "-o", parts, data]).status == 0)
        #expect(try Checkpoint.load(parts).train.lrSchedule == .cosine)
        let more = try Pipeline.run("fit", ["--resume", parts, "--epochs", "2", "-o", parts, data])
        #expect(more.status == 0, "\(more.stderr)")
        #expect(FileManager.default.contents(atPath: whole) == FileManager.default.contents(atPath: parts))
        #expect(FileManager.default.contents(atPath: whole) != FileManager.default.contents(atPath: constant))
    }

    /// Starts fit on a long run and signals it once it has saved a checkpoint.
    func interrupted(_ signal: Int32, saveEvery: Bool) throws -> (status: Int32, path: String, before: Data?) {
        let data = try namesStream()
        let path = Pipeline.tempPath("run.ckpt")
        #expect(try Pipeline.run("fit", Self.spec + ["--epochs", "1", "-o", path, data]).status == 0)
        let before = FileManager.default.contents(atPath: path)
        let p = Process()
        p.executableURL = Pipeline.binDir.appendingPathComponent("fit")
        p.arguments = Self.spec + ["--epochs", "2000", "-o", path, data] + (saveEvery ? ["--save-every", "1"] : [])
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 1.5)
        kill(p.processIdentifier, signal)
        p.waitUntilExit()
        return (p.terminationStatus, path, before)
    }

    @Test func sigintWritesALoadableCheckpoint() throws {
        let (status, path, before) = try interrupted(SIGINT, saveEvery: false)
        #expect(status == 130)
        let ck = try Checkpoint.load(path)
        #expect(ck.train.step > 3)
        #expect(FileManager.default.contents(atPath: path) != before)
    }

    @Test func kill9LeavesACompleteCheckpoint() throws {
        let (_, path, _) = try interrupted(SIGKILL, saveEvery: true)
        _ = try Checkpoint.load(path)  // the old one or a newer complete one, never a torn file
        let dir = (path as NSString).deletingLastPathComponent
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
            $0.hasPrefix((path as NSString).lastPathComponent + ".tmp-")
        }
        for f in leftovers { try? FileManager.default.removeItem(atPath: dir + "/" + f) }
    }

    @Test func badChoicesAreClearErrors() throws {
        let data = try namesStream()
        let noModel = try Pipeline.run("fit", [data])
        #expect(noModel.status == 2 && noModel.stderr.hasPrefix("fit: give --model"))
        let wrongInput = try Pipeline.run("fit", ["--model", "mnist-lstm", data])
        #expect(wrongInput.status == 1)
        #expect(wrongInput.stderr == "fit: \(data): model mnist-lstm takes float features, the stream holds ids\n")
        // A ReLU RNN overflows at lr 1e30; saturating cells (GRU, LSTM, tanh) reach gates of
        // exactly 0 and ±1 there, whose gradients are 0, and train on with a finite loss (as in PyTorch).
        let blowUp = ["--cell", "rnn_relu", "--hidden", "8,8", "--embed", "4", "--batch", "8", "--seed", "5", "--lr", "1e30", "--epochs", "3"]
        let nan = try Pipeline.run("fit", blowUp + [data])
        #expect(nan.status == 1)
        #expect(nan.stderr.contains("loss became"))
        // with --keep-best and no -o, the best checkpoint has nowhere to go: one line, no trap, nothing on stdout
        let best = try Pipeline.run("fit", blowUp + ["--val", data, "--keep-best", data])
        #expect(best.status == 1 && best.stdout.isEmpty, "\(best.stderr)")
        #expect(best.stderr.contains("no checkpoint written"), "\(best.stderr)")
    }

    @Test func helloBecomesOhlol() throws {
        let ckpt = Pipeline.tempPath("hello.ckpt")
        let made = try Pipeline.run("charidx", ["--pairs"], input: Data("hello\tohlol\n".utf8))
        let stream = Pipeline.tempPath("hello.stream")
        FileManager.default.createFile(atPath: stream, contents: made.stdout)
        #expect(try Pipeline.run("fit", ["--model", "hello", "--epochs", "15", "--batch", "1", "--lr", "0.05",
                                         "-o", ckpt, stream]).status == 0)
        let p = try Pipeline.run("predict", [ckpt, stream])
        #expect(String(decoding: p.stdout, as: UTF8.self) == "id\ttags\ttrue\nstdin:1\tohlol\tohlol\n")
    }
}
