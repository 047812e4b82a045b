/// Where a file's class label comes from: the first character of its name (the
/// basename, with the extension), or, with `fromDirectory`, the whole name of the
/// folder it is in (Speech Commands' `yes/…`, `you/…`); or the first capture group of
/// a regular expression searched in that name (the whole match when the pattern has
/// no group).
public struct Labeler {
    public let pattern: String?
    public let fromDirectory: Bool
    private let regex: Regex<AnyRegexOutput>?

    /// Throws `AudioError` when `pattern` is not a valid regular expression.
    public init(pattern: String? = nil, fromDirectory: Bool = false) throws(AudioError) {
        self.pattern = pattern
        self.fromDirectory = fromDirectory
        if let pattern {
            do { regex = try Regex(pattern) } catch { throw AudioError("bad --label-pattern '\(pattern)': \(error)") }
        } else {
            regex = nil
        }
    }

    /// The label of `path`; the error says why there is none.
    public func label(_ path: String) throws(AudioError) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        let name: Substring
        if fromDirectory {
            guard parts.count >= 2 else { throw AudioError("no folder in the path to take a label from") }
            name = parts[parts.count - 2]
        } else {
            guard let last = parts.last else { throw AudioError("no file name to take a label from") }
            name = last
        }
        guard let regex, let pattern else {
            guard let c = name.first else { throw AudioError("empty name") }
            return fromDirectory ? String(name) : String(c)
        }
        guard let match = try? regex.firstMatch(in: name) else {
            throw AudioError("'\(name)' does not match --label-pattern '\(pattern)'")
        }
        let output = match.output
        let group = output.count > 1 ? output[1].substring : output[0].substring
        guard let group, !group.isEmpty else {
            throw AudioError("--label-pattern '\(pattern)' captured nothing in '\(name)'")
        }
        return String(group)
    }
}
