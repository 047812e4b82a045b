import Foundation
import Models
import Tensor
import Testing

/// fit --spec-augment: bands and spans set to 0, drawn per (seed, step, row), inside
/// each example's length, and never at evaluation.
@Suite("SpecAugment")
struct SpecAugmentTests {
    @Test func masksAreSeededAndStayInsideTheLength() {
        let (B, T, F) = (3, 20, 8)
        let x = Tensor((0..<(B * T * F)).map { Float($0 % 7) + 1 }, shape: [B, T, F])
        let sa = SpecAugment(frequency: 3, time: 4)
        let lengths = [20, 12, 5]
        let a = sa.apply(x, lengths: lengths, seed: 1, step: 7).values
        #expect(a == sa.apply(x, lengths: lengths, seed: 1, step: 7).values)
        #expect(a != sa.apply(x, lengths: lengths, seed: 1, step: 8).values, "a new mask each step")
        #expect(a.filter { $0 == 0 }.count > 0)
        for r in 0..<B {
            for t in lengths[r]..<T {
                for f in 0..<F { #expect(a[(r * T + t) * F + f] != 0, "padding of row \(r) masked") }
            }
        }
    }

    @Test func fitTakesItForFloatsOnly() throws {
        let csv = (0..<24).map { i in "\(i % 2)," + (0..<16).map { j in String(format: "%.2f", sin(Double(i * j) * 0.3)) }.joined(separator: ",") }
            .joined(separator: "\n")
        let stream = Pipeline.tempPath("img.stream")
        let made = try Pipeline.run("num2seq", ["--csv", "-", "--label-column", "first", "--shape", "4x4"], input: Data(csv.utf8))
        #expect(made.status == 0, "\(made.stderr)")
        _ = FileManager.default.createFile(atPath: stream, contents: made.stdout)
        let out = Pipeline.tempPath("m.ckpt")
        let r = try Pipeline.run("fit", ["--cell", "gru", "--hidden", "6", "--epochs", "2", "--batch", "6", "--spec-augment", "2,1", "-o", out, stream])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Pipeline.run("fit", ["--cell", "gru", "--spec-augment", "x", stream]).status == 2)
        let names = Pipeline.tempPath("names.stream")
        _ = FileManager.default.createFile(atPath: names, contents: try Pipeline.run("charidx", ["--labels"], input: Data("a\tx\nb\ty\n".utf8)).stdout)
        #expect(try Pipeline.run("fit", ["--cell", "gru", "--spec-augment", "2,2", "-o", out, names]).status == 2)
    }
}
