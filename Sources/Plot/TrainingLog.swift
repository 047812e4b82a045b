import Foundation

/// What `fit --log` writes, read back: JSON lines, one event each (the schema is in fit(1)).
///
///     {"event":"step","epoch":1,"step":12,"loss":2.31,"progress":0.12,"seconds":4.1}
///     {"event":"epoch","epoch":1,"step":100,"train_loss":2.05,"progress":1,"epoch_seconds":30.2,"seconds":30.2}
///     {"event":"valid","epoch":1,"step":100,"loss":1.98,"accuracy":0.61,"progress":1,"seconds":31.0}
///
/// `epoch` counts from 1 (the epoch an event belongs to); `progress` is epochs done with the
/// fraction of the current one; `seconds` counts from the start of the run.
public struct TrainingLog: Sendable {
    public struct Event: Sendable {
        public var step: Int
        public var epoch: Int
        public var progress: Double?
        public var seconds: Double?
        /// The step's loss, the epoch's mean training loss, or the validation loss.
        public var loss: Double?
        /// Validation accuracy (0…1).
        public var accuracy: Double?
    }
    public var steps: [Event] = []
    public var epochs: [Event] = []
    public var validations: [Event] = []

    public var isEmpty: Bool { steps.isEmpty && epochs.isEmpty && validations.isEmpty }

    /// The runs in a log's text. fit appends to its log, so a file may hold several runs;
    /// a resumed run continues its steps and stays one run, a new one (steps starting
    /// again) begins another.
    public static func runs(_ text: String, source: String) throws -> [TrainingLog] {
        var runs = [TrainingLog()]
        var lastStep = -1
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any],
                  let kind = object["event"] as? String else {
                throw LogError("\(source):\(n + 1): not a fit --log line (a JSON object with an \"event\")")
            }
            func number(_ key: String) -> Double? { (object[key] as? NSNumber)?.doubleValue }
            guard let step = number("step"), let epoch = number("epoch") else {
                throw LogError("\(source):\(n + 1): a \(kind) event without step and epoch")
            }
            var e = Event(step: Int(step), epoch: Int(epoch), progress: number("progress"), seconds: number("seconds"))
            if Int(step) < lastStep && !runs[runs.count - 1].isEmpty { runs.append(TrainingLog()) }
            lastStep = max(Int(step), kind == "step" ? Int(step) : lastStep)
            switch kind {
            case "step":
                e.loss = number("loss")
                runs[runs.count - 1].steps.append(e)
            case "epoch":
                e.loss = number("train_loss")
                runs[runs.count - 1].epochs.append(e)
            case "valid":
                e.loss = number("loss")
                e.accuracy = number("accuracy")
                runs[runs.count - 1].validations.append(e)
            default:
                continue  // events this reader does not know are left out
            }
        }
        return runs.filter { !$0.isEmpty }
    }
}

/// A log that cannot be read.
public struct LogError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
