/// What a model expects of the streams it reads: the meta fields that say how raw
/// input became `x` (sample rate, features, trimming, tokenizer, …) and what ids and
/// class ids mean (vocabulary, classes). A model trained on one front-end scores
/// nonsense on another, so `predict`, `ppl` and `fit --val`/`--resume` refuse a stream
/// whose front-end differs from the model's.
public enum FrontEnd {
    /// The compared fields, in the order a difference is reported.
    public static let fields = [
        // audio (wav2seq)
        "sample_rate", "mel_bands", "mfcc", "win", "hop", "mel_scale", "fmin", "fmax", "cmvn", "trim_db", "features",
        // shaping (wav2seq: samples; tok: tokens)
        "length", "align",
        // text (charidx, tok)
        "unit", "tokenizer", "lowercase", "special",
        // what ids mean
        "vocab", "classes",
    ]

    /// Fields added after streams were first made, whose absence means what their
    /// value `none` says (a stream from before MFCCs is not MFCC).
    public static let laterFields: Set = ["mfcc"]

    /// Fields of a wav2seq stream that `wav2seq --like` takes from a model.
    public static let audioFields = ["sample_rate", "mel_bands", "mfcc", "win", "hop", "mel_scale", "fmin", "fmax", "cmvn",
                                     "trim_db", "length", "align"]

    /// The first way `stream` departs from the front-end in `model` (a checkpoint's
    /// data meta, or a training stream's meta), as "FIELD: the stream's …, the
    /// model's …", or nil when it agrees. Every compared field the model has must have
    /// the same value in the stream, except `classes`, which an unlabelled stream may
    /// lack, and a later field (`laterFields`) that the model has as `none`, which a
    /// stream made before it lacks. Fields the model lacks (a checkpoint made before
    /// they were recorded) are not compared.
    public static func difference(model: [String: String], stream: [String: String],
                                  modelName: String = "model's") -> String? {
        for key in fields {
            guard let want = model[key] else { continue }
            guard let got = stream[key] else {
                if key == "classes" || (laterFields.contains(key) && want == "none") { continue }
                return "\(key): the stream has none, the \(modelName) is \(shown(key, want))"
            }
            if got == want { continue }
            if let a = StreamMeta.parseList(got), let b = StreamMeta.parseList(want) {
                if a == b { continue }
                let k = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
                let at = k < min(a.count, b.count) ? "; they first differ at id \(k): \(quoted(a[k])) vs \(quoted(b[k]))"
                    : "; they agree on the first \(k)"
                return "\(key): the stream's has \(a.count) entries, the \(modelName) \(b.count)\(at)"
            }
            return "\(key): the stream's is \(shown(key, got)), the \(modelName) is \(shown(key, want))"
        }
        return nil
    }

    /// How to make a stream with the front-end in `model` (a checkpoint at `path`):
    /// the tool and option that copy it.
    public static func remedy(model: [String: String], path: String) -> String {
        if model["sample_rate"] != nil { return "make it with wav2seq --like \(path)" }
        if model["tokenizer"] != nil { return "make it with tok --vocab-from \(path)" }
        if model["unit"] == "char" { return "make it with charidx --vocab-from \(path)" }
        return "make it with the options the model's training stream was made with"
    }

    static func shown(_ key: String, _ value: String) -> String {
        if let list = StreamMeta.parseList(value) { return "\(list.count) entries" }
        return value
    }

    static func quoted(_ s: String) -> String {
        "'" + s.unicodeScalars.map { $0 == "\n" ? "\\n" : $0 == "\t" ? "\\t" : String($0) }.joined() + "'"
    }
}
