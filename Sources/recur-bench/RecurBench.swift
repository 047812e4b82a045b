import ArgumentParser
import ToolKit
import TensorStream
import Foundation
import NN
import Tensor

/// The recur side of the PyTorch CPU anchor benchmark: same workloads, same
/// timing method, same JSON record per (workload, phase).
struct RecurBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recur-bench",
        abstract: "Time recur on the workloads of the PyTorch CPU anchor benchmark.",
        discussion: """
            Prints one JSON line per (workload, phase), with the fields of the anchor's bench.py.
            \(Help.examples([
                "recur-bench rnn4 lstm-mnist",
                "recur-bench all --threads 1 --phase train",
                "# the machine's matrix peak through recur's CPU backend",
                "recur-bench sgemm",
                "# recur and PyTorch, ratio table",
                "scripts/bench-side-by-side",
            ]))
            """,
        version: RecurVersion.line("recur-bench"))

    static let names = ["rnn4", "gru-sst", "gru-sst-fused", "lstm-mnist", "names-bigru", "char-lstm",
                        "char-lstm-sample", "imdb-bilstm-200", "imdb-bilstm-400", "sine", "hello"]

    @Argument(help: "Workloads, 'all' (every workload), or 'sgemm' (C = A·B, n = 1024 and 256).") var workloads: [String] = ["all"]
    @Option(help: "CPU threads.") var threads = 2
    @Option(help: "train, infer or both.") var phase = "both"
    @Option(help: "Timed blocks (at least).") var repeats = 5
    @Option(help: "Steps per timed block (default: the workload's).") var steps: Int?
    @Option(help: "Multiplier on the default steps per block.") var scale = 1.0
    @Option(help: "Untimed steps first (default max(2, steps/4)).") var warmup: Int?
    @Option(help: "Clean blocks wanted (other processes < 0.25 cores).") var minClean = 3
    @Option(help: "Most blocks per phase.") var maxBlocks = 12
    @Option(help: "Most seconds per phase before giving up on clean blocks.") var maxPhaseS = 20.0
    @Option(help: "Append JSON lines to this file too.") var out: String?
    @Option(help: "Free-form tag stored in each record.") var tag = ""
    @Flag(help: "List the workloads.") var list = false

    func run() throws {
        if list { print(Self.names.joined(separator: "\n")); return }
        CPUBackend.shared.threads = threads
        let chosen = workloads == ["all"] ? Self.names : workloads
        for name in chosen {
            if name == "sgemm" { for n in [1024, 256] { try emit(sgemm(n)) }; continue }
            guard Self.names.contains(name) else { throw ValidationError("unknown workload '\(name)'") }
            var rng = RandomSource(seed: 0)
            if name == "char-lstm-sample" { try emit(sample(&rng)); continue }
            let w = make(name, &rng)
            for ph in ["train", "infer"] where phase == "both" || phase == ph {
                try emit(time(name, w, ph))
            }
        }
    }

    func make(_ name: String, _ rng: inout RandomSource) -> Workload {
        switch name {
        case "rnn4": return RNN4(&rng)
        case "gru-sst": return GRUSST(fused: false, &rng)
        case "gru-sst-fused": return GRUSST(fused: true, &rng)
        case "lstm-mnist": return LSTMMnist(&rng)
        case "names-bigru": return NamesBiGRU(&rng)
        case "char-lstm": return CharLSTM(&rng)
        case "imdb-bilstm-200": return IMDBBiLSTM(seqLen: 200, &rng)
        case "imdb-bilstm-400": return IMDBBiLSTM(seqLen: 400, &rng)
        case "sine": return Sine(&rng)
        default: return Hello(&rng)
        }
    }

    /// Times blocks of `n` calls of `step` until `minClean` clean blocks (or limits).
    func blocks(_ n: Int, _ step: (Int) throws -> Void) throws -> (ms: [Double], other: [Double]) {
        var ms = [Double](), other = [Double]()
        let start = Date()
        var i = 0
        while ms.count < repeats
            || (other.filter { $0 < 0.25 }.count < minClean && ms.count < maxBlocks
                && Date().timeIntervalSince(start) < maxPhaseS) {
            let c0 = CPUCounters.read(), t0 = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<n { try step(i); i += 1 }
            let t1 = DispatchTime.now().uptimeNanoseconds, c1 = CPUCounters.read()
            let wall = Double(t1 - t0) / 1e9
            ms.append(wall * 1000 / Double(n))
            other.append(max(0, ((c1.busy - c0.busy) - (c1.own - c0.own)) / wall))
        }
        return (ms, other)
    }

    func time(_ name: String, _ w: Workload, _ ph: String) throws -> [String: Any] {
        let n = steps ?? max(1, Int((Double(w.steps[ph]!) * scale).rounded()))
        let warm = warmup ?? max(2, n / 4)
        w.setTraining(ph == "train")
        if ph == "infer" { try w.prepareInference() }
        var lastLoss: Float = .nan
        let step: (Int) throws -> Void = ph == "train" ? { lastLoss = try w.trainStep($0) } : { try w.inferStep($0) }
        for i in 0..<warm { try step(i) }
        let (ms, other) = try blocks(n, step)
        var r = record(name, ph, batch: w.batch, n: n, warm: warm, ms: ms, other: other)
        r["params"] = w.parameterCount
        r["config"] = w.config
        if ph == "train" { r["adam"] = "default"; r["last_loss"] = Double(lastLoss) }
        addFLOPs(&r, w.forwardFLOPs * (ph == "train" ? 3 : 1))
        return r
    }

    /// FLOPs per step and the GFLOP/s they make at the (clean) median.
    func addFLOPs(_ r: inout [String: Any], _ flop: Double) {
        r["flop_per_step"] = flop
        let ms = (r["clean_ms_per_step"] ?? r["ms_per_step"]) as! Double
        r["gflops"] = (flop / ms / 1e6 * 100).rounded() / 100
    }

    /// C[n,n] = A·B through the CPU backend (OpenBLAS split over the threads as recur
    /// splits it): the peak that the GEMM-bound workloads are measured against.
    func sgemm(_ n: Int) throws -> [String: Any] {
        var rng = RandomSource(seed: 0)
        let a = Tensor.normal([n, n], rng: &rng), b = Tensor.normal([n, n], rng: &rng), c = Tensor(zeros: [n, n])
        let be = CPUBackend.shared
        let product = { (_: Int) in
            be.gemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a.pointer, lda: n,
                    b: b.pointer, ldb: n, beta: 0, c: c.pointer, ldc: n)
        }
        let steps = self.steps ?? max(2, Int((Double(n == 1024 ? 20 : 1500) * scale).rounded()))
        for i in 0..<max(3, steps / 4) { product(i) }
        let (ms, other) = try blocks(steps, product)
        var r = record("sgemm-recur-\(n)", "gemm", batch: 1, n: steps, warm: max(3, steps / 4), ms: ms, other: other)
        r["backend"] = "recur"
        r["n"] = n
        r["params"] = 0
        r["config"] = "C = A·B, float32, [\(n),\(n)]"
        addFLOPs(&r, 2 * Double(n * n * n))
        return r
    }

    func sample(_ rng: inout RandomSource) throws -> [String: Any] {
        let w = CharLSTM(&rng)
        let prompt = randomIds(16, below: CharLSTM.vocab, &rng)
        _ = try w.generate(250, prompt: prompt)
        let (ms, other) = try blocks(1) { _ in _ = try w.generate(1000, prompt: prompt) }
        var r = record("char-lstm-sample", "infer", batch: 1, n: 1000, warm: 250, ms: ms.map { $0 / 1000 }, other: other)
        r["params"] = w.parameterCount
        addFLOPs(&r, CharLSTM.sampleFLOPs)
        r["config"] = "char-lstm model (eval); prompt 16; greedy 1000 chars; step = one char"
        return r
    }

    func record(_ name: String, _ ph: String, batch: Int, n: Int, warm: Int, ms: [Double], other: [Double])
        -> [String: Any] {
        let clean = zip(ms, other).filter { $0.1 < 0.25 }.map(\.0)
        let sps = { (m: Double) in Double(batch) / m * 1000 }
        var r: [String: Any] = [
            "impl": "recur", "workload": name, "phase": ph, "threads": threads, "batch": batch, "steps": n,
            "warmup": warm, "repeats": ms.count, "ms_per_step": median(ms), "samples_per_s": sps(median(ms)),
            "ms_per_step_min": ms.min()!, "ms_per_step_max": ms.max()!,
            "samples_per_s_min": sps(ms.max()!), "samples_per_s_max": sps(ms.min()!),
            "ms_per_step_blocks": ms, "other_cpu_blocks": other, "clean_blocks": clean.count,
            "time": ISO8601DateFormatter().string(from: Date()), "tag": tag,
            "blas": "OpenBLAS \(CPUBackend.blasCore) kernels\(CPUBackend.blasCoreFallback.map { " (set by recur: this OpenBLAS chose \($0) on this CPU)" } ?? ""), 1 thread per call; recur splits products itself",
        ]
        if !clean.isEmpty {
            r["clean_ms_per_step"] = median(clean)
            r["clean_samples_per_s"] = sps(median(clean))
            r["clean_ms_per_step_min"] = clean.min()!
            r["clean_ms_per_step_max"] = clean.max()!
        }
        return r
    }

    func emit(_ r: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys, .withoutEscapingSlashes])
        let line = String(decoding: data, as: UTF8.self)
        print(line)
        fflush(nil)
        if let out {
            let h = FileHandle(forWritingAtPath: out) ?? {
                _ = FileManager.default.createFile(atPath: out, contents: nil)
                return FileHandle(forWritingAtPath: out)!
            }()
            h.seekToEndOfFile()
            h.write((line + "\n").data(using: .utf8)!)
            h.closeFile()
        }
    }
}

func median(_ v: [Double]) -> Double {
    let s = v.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Machine-wide busy CPU time and this process's CPU time, in seconds.
struct CPUCounters {
    var busy: Double, own: Double
    static func read() -> CPUCounters {
        var busy = 0.0
        if let s = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = s.split(separator: "\n").first {
            let f = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            // user nice system idle iowait irq softirq steal
            if f.count >= 8 { busy = (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / Double(sysconf(Int32(_SC_CLK_TCK))) }
        }
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        let own = Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6
            + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
        return CPUCounters(busy: busy, own: own)
    }
}
