import ArgumentParser
import Foundation
import Testing
@testable import ToolKit
@testable import batch
@testable import charidx
@testable import fit
@testable import num2seq
@testable import ppl
@testable import predict
@testable import recur_bench
@testable import sample
@testable import seqinfo
@testable import seqplot
@testable import tok
@testable import wav2seq

/// Every tool's `--help` at 80 columns: no line wider, tables and examples never
/// wrapped, a short usage line, and every example command parses (options, values,
/// validation), so that none can rot.
@Suite("Help at 80 columns")
struct HelpTests {
    static let tools: [(name: String, command: any ParsableCommand.Type)] = [
        ("wav2seq", Wav2Seq.self), ("tok", Tok.self), ("charidx", CharIdx.self), ("num2seq", Num2Seq.self),
        ("batch", batch.Batch.self), ("fit", Fit.self), ("predict", Predict.self), ("sample", Sample.self),
        ("ppl", Perplexity.self), ("seqinfo", SeqInfo.self), ("seqplot", SeqPlot.self), ("recur-bench", RecurBench.self),
    ]
    static var names: [String] { tools.map(\.name) }
    static func command(_ name: String) -> any ParsableCommand.Type { tools.first { $0.name == name }!.command }

    @Test(arguments: names)
    func helpFitsEightyColumns(_ name: String) {
        let tool = Self.command(name)
        let text = tool.helpMessage(columns: 80)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            #expect(line.count <= 80, "\(name): \(line.count) columns: \(line)")
        }
        // lines laid out by hand (indented: tables, examples) are never wrapped
        for line in tool.configuration.discussion.split(separator: "\n") where line.hasPrefix(" ") {
            #expect(line.count <= Help.width, "\(name): a hand-laid line of \(line.count) columns: \(line)")
            #expect(text.contains(line), "\(name): wrapped in the help: \(line)")
        }
        let usage = text.split(separator: "\n").first { $0.hasPrefix("USAGE:") } ?? ""
        #expect(usage.count <= 60, "\(name): \(usage)")
        #expect(tool.configuration.version.contains("(recur)"))
    }

    /// The example commands of a tool's help, continuation lines joined, comments left out.
    static func examples(_ name: String) -> [String] {
        let lines = command(name).configuration.discussion.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(of: "Examples:") else { return [] }
        var out = [String](), pending = ""
        for line in lines[(start + 1)...] {
            guard line.hasPrefix("  ") else { break }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("#") { continue }
            if text.hasSuffix("\\") { pending += text.dropLast() + " "; continue }
            out.append(pending + text)
            pending = ""
        }
        return out
    }

    /// The argument lists one of our tools gets in a shell command line: stages of pipes and
    /// `;`, without redirections, quotes removed; `mpirun … fit …` gives fit's.
    static func invocations(_ line: String) -> [(tool: String, arguments: [String])] {
        var stages = [[String]](), current = [String]()
        for word in Help.words(line) {
            if word == "|" || word == ";" { stages.append(current); current = []; continue }
            if word.hasSuffix(";") { current.append(String(word.dropLast())); stages.append(current); current = []; continue }
            current.append(word)
        }
        stages.append(current)
        return stages.compactMap { words in
            var args = [String](), skipNext = false
            for w in words {
                if skipNext { skipNext = false; continue }
                if ["<", ">", "2>", ">>"].contains(w) { skipNext = true; continue }
                if w.hasPrefix(">") || w.hasPrefix("<") { continue }
                args.append(w.count >= 2 && (w.hasPrefix("'") && w.hasSuffix("'") || w.hasPrefix("\"") && w.hasSuffix("\""))
                            ? String(w.dropFirst().dropLast()) : w)
            }
            guard let i = args.firstIndex(where: { names.contains($0) }) else { return nil }
            guard i == 0 || args[0] == "mpirun" else { return nil }
            return (args[i], Array(args[(i + 1)...]))
        }
    }

    @Test(arguments: names)
    func everyExampleParses(_ name: String) {
        let examples = Self.examples(name)
        #expect(!examples.isEmpty, "\(name) has no examples")
        var ownUses = 0
        for line in examples {
            for (tool, arguments) in Self.invocations(line) {
                if tool == name { ownUses += 1 }
                do {
                    _ = try Self.command(tool).parseAsRoot(joiningNegativeNumbers(arguments))
                } catch {
                    Issue.record("\(name)'s example '\(line)': \(tool) does not accept it: \(Self.command(tool).message(for: error))")
                }
            }
        }
        #expect(ownUses > 0, "no example of \(name) runs \(name)")
    }
}

/// The man pages: every option of the tool, the exit statuses, UTF-8 kept, no
/// subcommands. Generated pages come from the help (scripts/make-man); wav2seq.1 and
/// tok.1 are written by hand, and are held to the same.
@Suite("Man pages")
struct ManPageTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(arguments: HelpTests.names)
    func pageCoversTheTool(_ name: String) throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("man/\(name).1"), encoding: .utf8)
        let dump = try Pipeline.run(name, ["--experimental-dump-help"])
        let json = try JSONSerialization.jsonObject(with: dump.stdout) as? [String: Any]
        let arguments = (json?["command"] as? [String: Any])?["arguments"] as? [[String: Any]] ?? []
        let longNames = arguments.flatMap { ($0["names"] as? [[String: String]] ?? []).filter { $0["kind"] == "long" }.compactMap { $0["name"] } }
        #expect(longNames.count > 3)
        for option in longNames where option != "help" {
            #expect(page.contains("\\-\\-" + option.replacingOccurrences(of: "-", with: "\\-")), "man/\(name).1 lacks --\(option)")
        }
        #expect(page.contains(".SH EXIT STATUS") && page.contains("130"), "man/\(name).1: no exit status 130")
        #expect(!page.contains("SUBCOMMANDS") && !page.contains("help <subcommand>"), "man/\(name).1 shows a subcommand")
        if name == "fit" { #expect(page.contains("1→16→32→64→128"), "fit.1 lost its UTF-8") }
    }
}
