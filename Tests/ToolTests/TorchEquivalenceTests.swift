import Foundation
import Models
import Testing
import TensorStream

/// The Python that has torch: $RECUR_TORCH_PYTHON, else python3.
let torchPython: String = ProcessInfo.processInfo.environment["RECUR_TORCH_PYTHON"] ?? "python3"

let torchAvailable: Bool = {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [torchPython, "-c", "import torch, safetensors"]
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}()

/// A checkpoint written by `fit` loads into the equivalent torch.nn module
/// (scripts/reference_model.py) with load_state_dict(strict=True) and gives the same outputs.
@Suite("Checkpoints load into PyTorch")
struct TorchEquivalenceTests {
    static let cases: [(name: String, make: [(String, [String])], fit: [String])] = [
        ("packed bidirectional GRU classifier",
         [("charidx", ["--labels"]), ("batch", ["--size", "4", "--sort"])],
         ["--cell", "gru", "--hidden", "8,8", "--bidirectional", "--embed", "5", "--epochs", "2"]),
        ("LSTM language model", [("charidx", ["--steps", "6"]), ("batch", ["--size", "3"])],
         ["--model", "charlm", "--hidden", "12", "--embed", "7", "--epochs", "1"]),
        ("stacked RNNs of different sizes, per-step tags", [("charidx", ["--pairs"]), ("batch", ["--size", "2"])],
         ["--cell", "rnn_tanh", "--hidden", "6,4", "--embed", "3", "--epochs", "3"]),
        ("mean-pooled packed LSTM classifier", [("charidx", ["--labels"]), ("batch", ["--size", "4"])],
         ["--cell", "lstm", "--hidden", "6", "--embed", "4", "--head", "mean", "--epochs", "2"]),
        ("mean-pooled stacked GRUs of different sizes", [("charidx", ["--labels"]), ("batch", ["--size", "4"])],
         ["--cell", "gru", "--hidden", "6,4", "--embed", "4", "--head", "mean", "--epochs", "2"]),
    ]

    static let text = [
        "Russian\tIvanov", "German\tMüller", "Russian\tPetrov", "French\tDubois", "German\tSchmidt",
        "French\tLefèvre", "Russian\tSmirnov", "German\tBauer",
    ].joined(separator: "\n")
    static let pairs = ["hello\tohlol", "world\tdlrow", "abcde\tedcba", "cab\tbac"].joined(separator: "\n")

    @Test(.enabled(if: torchAvailable, "torch cannot be imported (set RECUR_TORCH_PYTHON to a python with torch)"),
          arguments: 0..<5)
    func sameOutputs(index: Int) throws {
        let c = Self.cases[index]
        let input = Data((c.make[0].1.contains("--pairs") ? Self.pairs : Self.text).utf8)
        let made = try Pipeline.chain(c.make, input: input)
        #expect(made.status == 0, "\(made.stderr)")
        let stream = Pipeline.tempPath("batches.stream"), ckpt = Pipeline.tempPath("model.ckpt")
        FileManager.default.createFile(atPath: stream, contents: made.stdout)
        let fit = try Pipeline.run("fit", c.fit + ["-o", ckpt, stream])
        #expect(fit.status == 0, "\(fit.stderr)")

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/reference_model.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [torchPython, script, ckpt, stream]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let json = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(errText)")
        let torchLogits = try JSONDecoder().decode([Float].self, from: json)

        let model = try Checkpoint.load(ckpt).model
        model.training = false
        let reader = try StreamReader(try ByteInput(path: stream))
        let first = try #require(try reader.next())
        let ours = try model.evaluate(Batch(first, spec: model.spec)).logits.values
        #expect(ours.count == torchLogits.count)
        let worst = zip(ours, torchLogits).map { abs($0 - $1) - (1e-6 + 1e-5 * abs($1)) }.max() ?? 0
        #expect(worst <= 0, "\(c.name): logits differ by up to \(worst)")
    }
}
