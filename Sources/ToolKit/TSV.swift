/// A value as one TSV field: tab, newline, carriage return and backslash written as
/// `\t`, `\n`, `\r` and `\\`, so that a file name or a line with a tab cannot shift
/// the columns.
public func tsvField(_ s: String) -> String {
    guard s.utf8.contains(where: { $0 == 9 || $0 == 10 || $0 == 13 || $0 == 92 }) else { return s }
    var out = ""
    for c in s.unicodeScalars {
        switch c {
        case "\t": out += "\\t"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\\": out += "\\\\"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}
