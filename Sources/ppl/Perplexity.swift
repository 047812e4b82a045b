import ArgumentParser
import Foundation
import Models
import NN
import Tensor
import TensorStream
import ToolKit

/// Perplexity of a stream under a language model.
struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppl",
        abstract: "Perplexity and bits per token of a stream under a language model.",
        discussion: """
            The stream must use the model's vocabulary (make it with charidx --vocab-from CKPT). \
            Perplexity is exp of the mean cross-entropy per predicted token; bits per token \
            is that cross-entropy / ln 2 (bits per character for character models).

            Examples:
              charidx --vocab-from lm.ckpt --steps 35 heldout.txt | ppl lm.ckpt
            """)

    @Argument(help: "The checkpoint (task lm or tag).") var checkpoint: String
    @Argument(help: "Streams; none or '-' reads standard input.") var inputs: [String] = []
    @Option(help: "Sequences per forward pass (a stateful model reads windows that continue each other in order: one at a time, or the stream's stripes).") var batch = 32

    func run() throws {
        let ckpt = try Checkpoint.load(checkpoint)
        let net = ckpt.model, spec = net.spec
        guard spec.head == .step, spec.loss == .crossEntropy else {
            throw ToolError("\(checkpoint): not a language model (model \(spec.name), task \(spec.task))")
        }
        let data = try Dataset(try StreamReader(try openInputs(inputs)))
        let mine = StreamMeta(ckpt.dataMeta).vocab ?? [], theirs = data.meta.vocab ?? []
        guard mine == theirs else {
            let k = (0..<min(mine.count, theirs.count)).first { mine[$0] != theirs[$0] } ?? min(mine.count, theirs.count)
            throw ToolError("\(data.source): the stream's vocabulary differs from the model's (\(theirs.count) vs \(mine.count) entries, first difference at id \(k)); make the stream with --vocab-from \(checkpoint)")
        }
        net.training = false
        let m = try data.evaluate(net, batch: batch, pad: Int32(data.meta.fields["pad_id"] ?? "0") ?? 0)
        guard m.count > 0 else { throw ToolError("\(data.source): no targets to score") }
        let unit = ckpt.dataMeta["unit"] == "char" ? "character" : "token"
        print(String(format: "perplexity %.4f\tbits per %@ %.4f\ttokens %d\tloss %.5f", exp(m.loss), unit, m.loss / log(2), m.count, m.loss))
    }
}
