import NN

/// What a model is: input, recurrent stack, head, loss. Stored as JSON in a
/// checkpoint's metadata, so a checkpoint rebuilds its model anywhere.
public struct ModelSpec: Codable, Sendable, Equatable {
    /// Integer ids through an embedding of `embed` dimensions, or float features.
    public enum Input: String, Codable, Sendable { case ids, floats }
    /// Where the head reads the recurrence: the last state of each sequence
    /// (classification), or every step (tagging, language models, regression).
    public enum Head: String, Codable, Sendable {
        /// Linear on the last layer's final state (both directions concatenated, forward first).
        case last
        /// Linear on every step's output.
        case step
        /// Flatten every (pooled) step of the output, then Linear (rnn4).
        case flatten
        /// Linear on the mean of the last layer's outputs over each sequence's own steps
        /// (over all pooled steps when the layers pool: pooling keeps no lengths).
        case mean
    }
    public enum Loss: String, Codable, Sendable { case crossEntropy = "ce", bce, mse }

    public var name: String
    public var task: String                // classify, tag, lm, regress
    public var input: Input
    public var vocabSize: Int = 0          // with ids
    public var embed: Int = 0              // with ids
    public var features: Int = 0           // with floats
    public var cell: CellKind
    /// One hidden size per layer: equal sizes make one multi-layer module
    /// (`rnn.weight_ih_l1` …); different sizes make separate single-layer
    /// modules `rnn1`, `rnn2`, … (the seed's rnn4).
    public var hidden: [Int]
    public var bidirectional = false
    public var dropout: Float = 0
    /// With separate layers: ReLU, then AvgPool1d(kernel, stride) over time after each layer.
    public var pool: [Int]? = nil
    public var head: Head
    public var outputs: Int
    public var loss: Loss
    /// Time steps the flatten head sees (rnn4: 5), fixed when the model is built.
    public var flattenSteps: Int = 0
    /// Carry the final state from one batch to the next (detached), as the seeds'
    /// sine regressor and sequentially sampled language models do.
    public var stateful = false

    public init(name: String, task: String, input: Input, vocabSize: Int = 0, embed: Int = 0, features: Int = 0,
                cell: CellKind, hidden: [Int], bidirectional: Bool = false, dropout: Float = 0, pool: [Int]? = nil,
                head: Head, outputs: Int, loss: Loss, flattenSteps: Int = 0, stateful: Bool = false) {
        self.name = name; self.task = task; self.input = input; self.vocabSize = vocabSize; self.embed = embed
        self.features = features; self.cell = cell; self.hidden = hidden; self.bidirectional = bidirectional
        self.dropout = dropout; self.pool = pool; self.head = head; self.outputs = outputs; self.loss = loss
        self.flattenSteps = flattenSteps; self.stateful = stateful
    }

    public var separateLayers: Bool { pool != nil || Set(hidden).count > 1 }
    public var directions: Int { bidirectional ? 2 : 1 }
    /// Width of what the head reads per step.
    public var headInput: Int {
        switch head {
        case .last, .step, .mean: return hidden.last! * directions
        case .flatten: return hidden.last! * directions * flattenSteps
        }
    }

    /// Time steps left after the pooling layers for an input of `t` steps.
    public func pooledSteps(_ t: Int) -> Int {
        guard let pool else { return t }
        var t = t
        for _ in hidden {
            guard t >= pool[0] else { return 0 }  // too short for the pooling window
            t = (t - pool[0]) / pool[1] + 1
        }
        return t
    }
}

/// The named models of the seed workloads. Sizes that depend on the data
/// (vocabulary, classes, features, input length) are filled in from the stream's meta.
public enum Presets {
    public static let names = ["rnn4", "audio-gru", "sst-gru", "hello", "names-bigru", "charlm", "charlm-rnn",
                               "mnist-lstm", "sine", "imdb-bilstm", "wordlm"]

    /// The presets as a table for help text (78 columns; [NNN]: the seed workload it
    /// reproduces).
    public static let help = """
          rnn4         4 RNNs 1→16→32→64→128, ReLU+AvgPool1d(7,5) each, Linear  [000]
          audio-gru    log-mel frames → GRU(128) → Linear, last state (for audio)
          sst-gru      Embedding(V,100) → GRU(512) → Linear(512, classes)  [000]
          hello        Embedding(V,10) → 2-layer RNN(8) → Linear per step  [001]
          names-bigru  Embedding(V,100) → 2-layer BiGRU(100), packed → Linear  [001]
          charlm       Embedding(V,256) → LSTM(256) → Linear(256, V) per step  [002]
          charlm-rnn   Embedding(V,256) → RNN(256) → Linear(256, V) per step  [002]
          mnist-lstm   rows as steps → LSTM(64) → Linear, last step  [003]
          sine         RNN(1,16), state carried → Linear(16,1) per step, MSE [003,004]
          imdb-bilstm  Embedding(V,100) → 2-layer BiLSTM(256), dropout 0.5, BCE  [004]
          wordlm       Embedding(V,256) → 2-layer LSTM(256), dropout 0.2, per step
        [NNN]: the seed workload the preset reproduces.
        """

    /// The preset called `name`, sized for a stream with this vocabulary/classes/features.
    public static func spec(_ name: String, vocab: Int, classes: Int, features: Int) -> ModelSpec? {
        func ids(_ task: String, embed: Int, cell: CellKind, hidden: [Int], head: ModelSpec.Head, outputs: Int,
                 bidirectional: Bool = false, dropout: Float = 0, loss: ModelSpec.Loss = .crossEntropy) -> ModelSpec {
            ModelSpec(name: name, task: task, input: .ids, vocabSize: vocab, embed: embed, cell: cell, hidden: hidden,
                      bidirectional: bidirectional, dropout: dropout, head: head, outputs: outputs, loss: loss)
        }
        func floats(_ task: String, cell: CellKind, hidden: [Int], head: ModelSpec.Head, outputs: Int,
                    loss: ModelSpec.Loss = .crossEntropy) -> ModelSpec {
            ModelSpec(name: name, task: task, input: .floats, features: features, cell: cell, hidden: hidden,
                      head: head, outputs: outputs, loss: loss)
        }
        switch name {
        case "rnn4":
            var s = floats("classify", cell: .rnnTanh, hidden: [16, 32, 64, 128], head: .flatten, outputs: classes)
            s.pool = [7, 5]
            return s
        case "audio-gru": return floats("classify", cell: .gru, hidden: [128], head: .last, outputs: classes)
        case "sst-gru": return ids("classify", embed: 100, cell: .gru, hidden: [512], head: .last, outputs: classes)
        case "hello": return ids("tag", embed: 10, cell: .rnnTanh, hidden: [8, 8], head: .step, outputs: vocab)
        case "names-bigru":
            return ids("classify", embed: 100, cell: .gru, hidden: [100, 100], head: .last, outputs: classes, bidirectional: true)
        case "charlm": return ids("lm", embed: 256, cell: .lstm, hidden: [256], head: .step, outputs: vocab)
        case "charlm-rnn": return ids("lm", embed: 256, cell: .rnnTanh, hidden: [256], head: .step, outputs: vocab)
        case "mnist-lstm": return floats("classify", cell: .lstm, hidden: [64], head: .last, outputs: classes)
        case "sine":
            var s = floats("regress", cell: .rnnTanh, hidden: [16], head: .step, outputs: max(features, 1), loss: .mse)
            s.stateful = true
            return s
        case "imdb-bilstm":
            return ids("classify", embed: 100, cell: .lstm, hidden: [256, 256], head: .last, outputs: 1,
                       bidirectional: true, dropout: 0.5, loss: .bce)
        case "wordlm":
            return ids("lm", embed: 256, cell: .lstm, hidden: [256, 256], head: .step, outputs: vocab, dropout: 0.2)
        default: return nil
        }
    }
}
