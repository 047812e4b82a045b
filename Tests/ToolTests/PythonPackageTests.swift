import Foundation
import Models
import Testing
import TestFiles

/// The Python package (python/recur): a checkpoint loads as a torch.nn.Module, saves back
/// as a checkpoint that predict and fit --resume take, and exports to ONNX; onnxruntime's
/// and torch's logits equal predict's to 1e-5. Skipped without a Python that has torch,
/// onnx and onnxruntime (RECUR_TORCH_PYTHON names one).
@Suite("Python package", .serialized)
struct PythonPackageTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func python(_ exe: String, _ args: [String]) -> (status: Int32, stdout: String, stderr: String) {
        guard let r = try? Pipeline.exec(exe, args, environment: ["PYTHONPATH": root.appendingPathComponent("python").path]) else {
            return (127, "", "cannot start \(exe)")
        }
        return (r.status, String(decoding: r.stdout, as: UTF8.self), r.stderr)
    }

    static let interpreter: String? = {
        let candidates = [ProcessInfo.processInfo.environment["RECUR_TORCH_PYTHON"], "/usr/bin/python3"].compactMap { $0 }
        return candidates.first { python($0, ["-c", "import torch, onnx, onnxruntime, safetensors, numpy"]).status == 0 }
    }()

    static let text = (0..<24).map { i in
        ["pos\ta great and funny film", "neg\tdull slow and far too long", "pos\twarm witty and wise",
         "neg\ta mess of a plot"][i % 4] + (i % 3 == 0 ? " indeed" : "")
    }.joined(separator: "\n") + "\n"

    /// predict --logits: the id column and the logits of each row.
    static func predicted(_ ckpt: String, _ stream: String) throws -> (ids: [String], logits: [[Double]], text: Data) {
        let r = try Pipeline.run("predict", ["--logits", "--no-confusion", ckpt, stream])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        let header = lines[0]
        let first = header.firstIndex { $0.hasPrefix("logit") }!
        return (lines.dropFirst().map { String($0[0]) }, lines.dropFirst().map { $0[first...].map { Double($0)! } }, r.stdout)
    }

    @Test(.enabled(if: interpreter != nil, "no Python with torch, onnx and onnxruntime (set RECUR_TORCH_PYTHON)"),
          arguments: [["--cell", "lstm", "--hidden", "12", "--embed", "6", "--epochs", "3"],
                      ["--model", "imdb-bilstm", "--epochs", "1"],
                      ["--cell", "gru", "--hidden", "10,10", "--bidirectional", "--head", "mean", "--embed", "5", "--epochs", "2"]])
    func checkpointRoundTripsAndONNXMatchesPredict(_ spec: [String]) throws {
        let made = try Pipeline.run("tok", ["--labels", "--length", "8"], input: Data(Self.text.utf8))
        let stream = Pipeline.tempPath("reviews.stream")
        _ = FileManager.default.createFile(atPath: stream, contents: made.stdout)
        let ckpt = Pipeline.tempPath("model.ckpt")
        let fit = try Pipeline.run("fit", spec + ["--batch", "6", "-o", ckpt, stream])
        #expect(fit.status == 0, "\(fit.stderr)")
        let outdir = TestFiles.path("py")
        try FileManager.default.createDirectory(atPath: outdir, withIntermediateDirectories: true)
        let script = Self.root.appendingPathComponent("python/tests/check_package.py").path
        let py = Self.python(Self.interpreter!, [script, ckpt, stream, outdir])
        try #require(py.status == 0, "\(py.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as! [String: Any]
        let reference = try Self.predicted(ckpt, stream)
        #expect(json["ids"] as? [String] == reference.ids)
        for key in ["torch", "onnx"] {
            let rows = json[key] as! [[Double]]
            #expect(rows.count == reference.logits.count)
            var worst = 0.0
            for (row, ref) in zip(rows, reference.logits) {
                for (a, b) in zip(row, ref) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
            }
            #expect(worst <= 1e-5, "\(spec): \(key) logits differ from predict's by \(worst)")
        }
        // saved back from torch: predict gives the same bytes, fit --resume goes on from it
        let roundtrip = outdir + "/roundtrip.ckpt"
        #expect(try Self.predicted(roundtrip, stream).text == reference.text)
        let resumed = try Pipeline.run("fit", ["--resume", roundtrip, "--epochs", "1", "--max-steps", "2", "-o", outdir + "/more.ckpt", stream])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }
}

/// `fit --init-from`: a plain safetensors file of a state_dict (what PyTorch's save_file
/// writes, no recur metadata) or a checkpoint gives the starting parameters.
@Suite("fit --init-from")
struct InitFromTests {
    /// A safetensors document of float32 tensors, with no metadata.
    static func safetensors(_ tensors: [(String, [Int], [Float])]) -> Data {
        var header = [String: Any](), data = Data(), at = 0
        for (name, shape, values) in tensors {
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [at, at + 4 * values.count]]
            values.withUnsafeBytes { data.append(contentsOf: $0) }
            at += 4 * values.count
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var length = UInt64(json.count).littleEndian
        return Data(bytes: &length, count: 8) + json + data
    }

    @Test func startsFromAStateDict() throws {
        let made = try Pipeline.run("tok", ["--labels", "--length", "8"], input: Data(PythonPackageTests.text.utf8))
        let stream = Pipeline.tempPath("r.stream")
        _ = FileManager.default.createFile(atPath: stream, contents: made.stdout)
        let spec = ["--cell", "gru", "--hidden", "6", "--embed", "4", "--batch", "6"]
        let trained = Pipeline.tempPath("trained.ckpt")
        #expect(try Pipeline.run("fit", spec + ["--epochs", "3", "--seed", "4", "-o", trained, stream]).status == 0)
        let params = try Checkpoint.load(trained).model.namedParameters.map { ($0.name, $0.tensor.shape, $0.tensor.values) }
        let weights = Pipeline.tempPath("w.safetensors")
        _ = FileManager.default.createFile(atPath: weights, contents: Self.safetensors(params))
        let started = Pipeline.tempPath("started.ckpt")
        let r = try Pipeline.run("fit", spec + ["--init-from", weights, "--lr", "1e-12", "--max-steps", "1", "-o", started, stream])
        #expect(r.status == 0, "\(r.stderr)")
        let after = try Checkpoint.load(started).model.namedParameters
        for ((name, _, values), p) in zip(params, after) {
            let worst = zip(values, p.tensor.values).map { abs($0 - $1) }.max() ?? 1
            #expect(worst <= 1e-6, "\(name) did not start from the file (differs by \(worst))")
        }
        // a checkpoint works too; a missing or an extra tensor is a clear error
        #expect(try Pipeline.run("fit", spec + ["--init-from", trained, "--max-steps", "1", "-o", started, stream]).status == 0)
        let missing = Pipeline.tempPath("missing.safetensors")
        _ = FileManager.default.createFile(atPath: missing, contents: Self.safetensors(Array(params.dropFirst())))
        let m = try Pipeline.run("fit", spec + ["--init-from", missing, "-o", started, stream])
        #expect(m.status == 1 && m.stderr.contains("lacks \(params[0].0)"), "\(m.stderr)")
        let extra = Pipeline.tempPath("extra.safetensors")
        _ = FileManager.default.createFile(atPath: extra, contents: Self.safetensors(params + [("head.bias", [2], [0, 0])]))
        let e = try Pipeline.run("fit", spec + ["--init-from", extra, "-o", started, stream])
        #expect(e.status == 1 && e.stderr.contains("holds head.bias"), "\(e.stderr)")
        let both = try Pipeline.run("fit", ["--resume", trained, "--init-from", weights, stream])
        #expect(both.status == 2)
    }
}
