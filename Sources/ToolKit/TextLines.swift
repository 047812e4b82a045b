import TensorStream

/// Lines of UTF-8 text from inputs (gzip read transparently), with the file
/// name and line number of each, for error messages.
public struct TextLines: Sequence, IteratorProtocol {
    public struct Line {
        public let text: String
        public let file: String
        public let number: Int
        /// "file:line"
        public var place: String { "\(file):\(number)" }
    }
    private var inputs: [ByteInput]
    private var number = 0
    public private(set) var error: Error?

    public init(_ inputs: [ByteInput]) { self.inputs = inputs }

    /// Called before a read that would wait on a pipe (see `ByteInput.onIdle`):
    /// where a line-at-a-time tool flushes what it has written.
    public var onIdle: (() throws -> Void)? {
        get { inputs.first?.onIdle }
        set { for i in inputs { i.onIdle = newValue } }
    }

    /// The bytes of the inputs that are regular files (compressed size for gzip): a
    /// hint for sizing buffers.
    public var sizeHint: Int { inputs.reduce(0) { $0 + ($1.fileSize ?? 0) } }

    /// Whether every input is a regular file (not a pipe or terminal).
    public var allRegularFiles: Bool { inputs.allSatisfy(\.isRegularFile) }

    /// The next line; throws on unreadable input or invalid UTF-8.
    public mutating func nextLine() throws -> Line? {
        while let input = inputs.first {
            if let bytes = try input.readLine() {
                number += 1
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw ToolError("\(input.name):\(number): not valid UTF-8")
                }
                return Line(text: text, file: input.name, number: number)
            }
            inputs.removeFirst()
            number = 0
        }
        return nil
    }

    /// Hands every remaining line's bytes (not yet checked as UTF-8; see `UTF8Text`),
    /// its file name and line number to `body`, without making a `String`.
    public mutating func forEachLine(_ body: (UnsafeBufferPointer<UInt8>, _ file: String, _ number: Int) throws -> Void) throws {
        while let input = inputs.first {
            let name = input.name
            var n = number
            try input.forEachLine { line in
                n += 1
                number = n
                try body(line, name, n)
            }
            inputs.removeFirst()
            number = 0
        }
    }

    public mutating func next() -> Line? {
        do { return try nextLine() } catch { self.error = error; return nil }
    }
}
