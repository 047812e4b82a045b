/// What a record holds (`__metadata__.kind`).
public enum RecordKind: String, Sendable, CaseIterable {
    /// What the stream is about: task, vocabulary or classes, sample rate, producing tools.
    case meta
    /// One example: `x`, `y`, optional `id` in the metadata.
    case example
    /// A padded batch: `x` [B,T,…], `len` [B], `y` [B] or [B,T].
    case batch
    /// A trained model: parameters named as PyTorch's state_dict.
    case model
}

/// One record of a tensor stream: exactly one safetensors document.
public struct Record: Sendable, Equatable {
    public var kind: RecordKind
    /// `__metadata__` besides `kind` (safetensors metadata values are strings).
    public var metadata: [String: String]
    /// Named tensors, in the order they are stored.
    public var tensors: [(name: String, tensor: StreamTensor)]

    public init(kind: RecordKind, metadata: [String: String] = [:], tensors: [(name: String, tensor: StreamTensor)] = []) {
        self.kind = kind
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The tensor called `name`.
    public subscript(name: String) -> StreamTensor? {
        get { tensors.first { $0.name == name }?.tensor }
        set {
            if let i = tensors.firstIndex(where: { $0.name == name }) {
                if let newValue { tensors[i].tensor = newValue } else { tensors.remove(at: i) }
            } else if let newValue {
                tensors.append((name, newValue))
            }
        }
    }

    public static func == (a: Record, b: Record) -> Bool {
        a.kind == b.kind && a.metadata == b.metadata && a.tensors.count == b.tensors.count
            && zip(a.tensors, b.tensors).allSatisfy { $0.name == $1.name && $0.tensor == $1.tensor }
    }
}
