/// A malformed or inconsistent stream. The message names the record and byte offset.
public struct StreamError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
