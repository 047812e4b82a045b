import Foundation
import Models
import Testing
import TensorStream

/// An MPI launcher and a `fit` built with the MPI trait (`.build-mpi`, made by `.ci/run`
/// or `swift build -c release --traits MPI --build-path .build-mpi --product fit`).
enum MPI {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fit: String? = {
        let path = ProcessInfo.processInfo.environment["RECUR_MPI_FIT"] ?? root.appendingPathComponent(".build-mpi/release/fit").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()
    static let mpirun: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        .map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    static var available: Bool { fit != nil && mpirun != nil }
    static let missing: Comment = "no mpirun or no .build-mpi/release/fit (swift build -c release --traits MPI --build-path .build-mpi --product fit)"

    /// Open MPI refuses root without these; MPICH ignores them.
    static let environment: [String: String] = {
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"  // no ptrace-based copies in containers
        return env
    }()

    /// `mpirun -np N fit args…`, started; its stdout and stderr go to files.
    static func start(_ np: Int, _ args: [String], launcher: [String] = []) throws -> (Process, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpirun!)
        p.arguments = ["--oversubscribe", "--bind-to", "none", "-np", "\(np)"] + launcher + [fit!] + args
        p.environment = environment
        let err = Pipeline.tempPath("mpirun.err")
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        p.standardError = FileHandle(forWritingAtPath: err)
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        p.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try p.run()
        return (p, err)
    }

    /// `mpirun -np N fit args…` to the end: status and stderr.
    static func run(_ np: Int, _ args: [String]) throws -> (status: Int32, stderr: String) {
        let (p, err) = try start(np, args)
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// Whether network namespaces can be made here (root, `ip netns`, `unshare`).
    static let canMakeNamespaces: Bool = available
        && (try? Pipeline.exec("/bin/sh", ["-c", "ip netns add recur-probe && ip netns del recur-probe && unshare --uts true"]))?.status == 0

    /// `scripts/mpi-netns ARGS…` (two hosts in network namespaces).
    static func netns(_ args: [String]) throws -> (status: Int32, stderr: String) {
        let r = try Pipeline.exec(root.appendingPathComponent("scripts/mpi-netns").path, args, environment: environment)
        return (r.status, r.stderr)
    }

    /// The largest difference between two checkpoints' parameters.
    static func difference(_ a: String, _ b: String) throws -> Float {
        let x = try Checkpoint.load(a).model.namedParameters, y = try Checkpoint.load(b).model.namedParameters
        return zip(x, y).map { p, q in zip(p.tensor.values, q.tensor.values).map { abs($0 - $1) }.max() ?? 0 }.max() ?? .infinity
    }

    /// The children of a process (the ranks mpirun started).
    static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { t in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(t)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { Int32($0) }
        }
    }
}

/// `mpirun -np N fit`: N ranks give the parameters of one, resume with any N, and the
/// job ends cleanly on signals, errors and a killed rank.
@Suite("fit under mpirun", .serialized)
struct MPITests {
    static let names = (0..<60).map { i in ["Russian\tIvanov\(i % 7)", "German\tMüller\(i % 5)", "French\tDubois\(i % 3)", "Italian\tRossi"][i % 4] }
        .joined(separator: "\n") + "\n"
    static let text = (0..<40).map { i in ["the cat sat on the mat .", "a dog ran to the park !", "the dog sat ."][i % 3] }
        .joined(separator: "\n") + "\n"

    struct Kind: CustomStringConvertible, Sendable {
        let description: String
        let tool: [String]
        let input: String
        let args: [String]
    }

    static let kinds = [
        // shuffled, packed (uneven lengths), dropout between layers, clipping; batches of 7 leave a last one of 4
        Kind(description: "shuffled packed classifier", tool: ["charidx", "--labels"], input: names,
             args: ["--cell", "gru", "--hidden", "8,8", "--dropout", "0.3", "--embed", "4", "--batch", "7", "--seed", "5", "--clip", "1", "--epochs", "5"]),
        Kind(description: "LM windows", tool: ["charidx", "--steps", "8"], input: text,
             args: ["--cell", "lstm", "--hidden", "12", "--embed", "6", "--batch", "6", "--shuffle", "--seed", "3", "--epochs", "20"]),
        // stripes of 4 rows carried from batch to batch; 3 ranks hold 1, 1 and 2 of them
        Kind(description: "stateful striped LM", tool: ["charidx", "--steps", "5", "--sampling", "sequential", "--batch", "4"], input: text,
             args: ["--cell", "gru", "--hidden", "10", "--embed", "5", "--stateful", "--clip", "0.5", "--seed", "2", "--epochs", "20"]),
    ]

    func stream(_ k: Kind) throws -> String {
        let made = try Pipeline.run(k.tool[0], Array(k.tool.dropFirst()), input: Data(k.input.utf8))
        #expect(made.status == 0, "\(made.stderr)")
        let path = Pipeline.tempPath("train.stream")
        _ = FileManager.default.createFile(atPath: path, contents: made.stdout)
        return path
    }

    @Test(.enabled(if: MPI.available, MPI.missing), arguments: kinds)
    func ranksGiveTheParametersOfOne(_ k: Kind) throws {
        let data = try stream(k)
        var outputs = [String]()
        for np in 1...3 {
            let out = Pipeline.tempPath("np\(np).ckpt")
            let r = try MPI.run(np, k.args + ["--max-steps", "20", "-o", out, data])
            #expect(r.status == 0, "\(k), \(np) ranks: \(r.stderr)")
            outputs.append(out)
        }
        #expect(try Checkpoint.load(outputs[0]).train.step == 20)
        for (np, out) in outputs.enumerated().dropFirst() {
            let d = try MPI.difference(outputs[0], out)
            #expect(d <= 1e-6, "\(k): \(np + 1) ranks differ from one by \(d) after 20 steps")
        }
    }

    @Test(.enabled(if: MPI.available, MPI.missing), arguments: [kinds[0], kinds[2]])
    func resumeWithAnotherNumberOfRanks(_ k: Kind) throws {
        let data = try stream(k)
        let whole = Pipeline.tempPath("whole.ckpt")
        #expect(try MPI.run(1, k.args + ["--max-steps", "20", "-o", whole, data]).status == 0)
        let epochs = k.args[k.args.firstIndex(of: "--epochs")! + 1]
        for (first, then) in [(2, 1), (1, 2), (3, 2)] {
            let parts = Pipeline.tempPath("parts.ckpt")
            #expect(try MPI.run(first, k.args + ["--max-steps", "9", "-o", parts, data]).status == 0)
            #expect(try Checkpoint.load(parts).train.batchInEpoch > 0, "stopped mid-epoch")
            let more = try MPI.run(then, ["--resume", parts, "--epochs", epochs, "--max-steps", "20", "-o", parts, data])
            #expect(more.status == 0, "\(more.stderr)")
            let d = try MPI.difference(whole, parts)
            #expect(d <= 1e-6, "\(k): \(first) ranks then \(then) differ from one run by \(d)")
        }
    }

    @Test(.enabled(if: MPI.available, MPI.missing))
    func validationKeepBestAndLogAgree() throws {
        let k = Self.kinds[0], data = try stream(k)
        var logs = [[Double]]()
        var outputs = [String]()
        for np in [1, 2] {
            let out = Pipeline.tempPath("best.ckpt"), log = Pipeline.tempPath("log.jsonl")
            let r = try MPI.run(np, k.args + ["--val", data, "--val-every", "3", "--keep-best", "--save-every", "4", "--log", log, "-o", out, data])
            #expect(r.status == 0, "\(r.stderr)")
            let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            logs.append(lines.compactMap { line -> Double? in
                let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return o?["event"] as? String == "valid" ? o?["loss"] as? Double : nil
            })
            outputs.append(out)
        }
        #expect(logs[0].count == logs[1].count && logs[0].count > 5)
        for (a, b) in zip(logs[0], logs[1]) { #expect(abs(a - b) <= 1e-5 * abs(a), "validation loss \(b) on 2 ranks, \(a) on one") }
        #expect(try MPI.difference(outputs[0], outputs[1]) <= 1e-6)
        #expect(try Checkpoint.load(outputs[1]).train.bestValidLoss != nil)
    }

    /// Two hosts in network namespaces, joined by a veth pair, talking TCP: the same
    /// checkpoint, byte for byte, as two local ranks.
    @Test(.enabled(if: MPI.canMakeNamespaces, "cannot make network namespaces here (needs root, ip netns and unshare), or no MPI build"))
    func twoHostsOverTCPEqualTwoLocalRanks() throws {
        let k = Self.kinds[0], data = try stream(k)
        let local = Pipeline.tempPath("local.ckpt"), hosts = Pipeline.tempPath("hosts.ckpt")
        #expect(try MPI.run(2, k.args + ["--max-steps", "20", "-o", local, data]).status == 0)
        let up = try MPI.netns(["up"])
        #expect(up.status == 0, "\(up.stderr)")
        defer { _ = try? MPI.netns(["down"]) }
        let r = try MPI.netns(["mpirun", MPI.fit!] + k.args + ["--max-steps", "20", "-o", hosts, data])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("2 processes"))
        let a = FileManager.default.contents(atPath: local), b = FileManager.default.contents(atPath: hosts)
        #expect(a != nil && a == b, "the two-host checkpoint differs from the local one")
    }

    /// Every rank sees the summed NaN loss at the same step: rank 0 alone reports, no abort.
    @Test(.enabled(if: MPI.available, MPI.missing))
    func nanStopsEveryRankWithOneMessage() throws {
        // a ReLU RNN overflows at lr 1e30 (saturating cells reach zero gradients and a finite loss)
        let k = Self.kinds[0], data = try stream(k)
        let blowUp = ["--cell", "rnn_relu", "--hidden", "8,8", "--embed", "4", "--batch", "7", "--seed", "5", "--epochs", "5", "--lr", "1e30"]
        let r = try MPI.run(2, blowUp + ["-o", Pipeline.tempPath("nan.ckpt"), data])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("fit: ") && $0.lowercased().contains("nan") }
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(!r.stderr.contains("rank 1 of 2") && !r.stderr.contains("MPI_ABORT"), "\(r.stderr)")
    }

    @Test(.enabled(if: MPI.available, MPI.missing))
    func standardInputIsRefused() throws {
        let r = try MPI.run(2, Self.kinds[0].args + ["-o", Pipeline.tempPath("x.ckpt"), "-"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("fit: rank 0 of 2: with 2 processes the streams must be files"), "\(r.stderr)")
    }

    /// Starts a long run on 2 ranks that writes a checkpoint every 10 steps, and waits for the first.
    func longRun() throws -> (Process, ckpt: String, data: String, err: String) {
        let k = Self.kinds[0], data = try stream(k)
        let ckpt = Pipeline.tempPath("long.ckpt")
        var args = k.args
        args[args.firstIndex(of: "--epochs")! + 1] = "1000000"
        let (p, err) = try MPI.start(2, args + ["--save-every", "10", "-o", ckpt, data])
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: ckpt) && Date() < deadline && p.isRunning { usleep(20_000) }
        usleep(200_000)
        return (p, ckpt, data, err)
    }

    func waitEnd(_ p: Process, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate(); kill(p.processIdentifier, SIGKILL); return false }
        return true
    }

    @Test(.enabled(if: MPI.available, MPI.missing))
    func killedRankEndsTheJobAndTheCheckpointResumes() throws {
        let (p, ckpt, data, err) = try longRun()
        let ranks = MPI.children(of: p.processIdentifier)
        #expect(ranks.count == 2, "ranks \(ranks)")
        guard let victim = ranks.last else { p.terminate(); return }
        kill(victim, SIGKILL)
        #expect(waitEnd(p, within: 10), "the job went on after a rank was killed")
        #expect(p.terminationStatus != 0, "\((try? String(contentsOfFile: err, encoding: .utf8)) ?? "")")
        let saved = try Checkpoint.load(ckpt)
        #expect(saved.train.step > 0)  // the last checkpoint written: every 10 steps and at each epoch's end
        let resumed = Pipeline.tempPath("resumed.ckpt")
        let r = try Pipeline.run("fit", ["--resume", ckpt, "--epochs", "1000000", "--max-steps", "\(saved.train.step + 3)", "-o", resumed, data])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Checkpoint.load(resumed).train.step == saved.train.step + 3)
    }

    @Test(.enabled(if: MPI.available, MPI.missing))
    func sigusr1ToOneRankStopsEveryRankAtOneStepAndSaves() throws {
        let (p, ckpt, _, err) = try longRun()
        let first = try Checkpoint.load(ckpt).train.step
        // mpirun forwards SIGUSR1 to every rank (a process spawned from the test has it
        // blocked, so it goes to one rank here): the flag rides in the all-reduce, every
        // rank stops at the same step, rank 0 saves.
        guard let rank1 = MPI.children(of: p.processIdentifier).last else { p.terminate(); return }
        kill(rank1, SIGUSR1)
        #expect(waitEnd(p, within: 20), "the job did not stop on SIGUSR1")
        let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 130, "\(stderr)")
        #expect(stderr.contains("fit: interrupted at step"))
        #expect(try Checkpoint.load(ckpt).train.step >= first)
    }
}

/// A plain build (no MPI trait) started by a launcher refuses instead of running N
/// independent copies racing on one output. Needs no MPI: the launcher's variable is set.
@Suite("fit without MPI")
struct NoMPITests {
    @Test func plainBuildUnderALauncherRefuses() throws {
        let r = try Pipeline.exec(Pipeline.binDir.appendingPathComponent("fit").path,
                                  ["--model", "charlm", "-o", Pipeline.tempPath("x.ckpt"), "/dev/null"],
                                  environment: ["OMPI_COMM_WORLD_SIZE": "2"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("this build has no MPI"), "\(r.stderr)")
    }
}
