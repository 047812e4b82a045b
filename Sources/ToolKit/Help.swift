/// Help text that reads well, and copies safely, at 80 columns.
public enum Help {
    /// The widest line help text may have: ArgumentParser wraps longer lines at 80 columns
    /// when the output is not a terminal (a pipe, a man page), and a wrapped example
    /// command would run as two.
    public static let width = 78

    /// An "Examples:" block. Each command is one line when it fits in `width` columns,
    /// else it is broken at spaces (outside quotes) with a shell continuation (" \") and
    /// the rest indented, so that a copied example runs as it is. A line starting with
    /// "#" is a comment.
    public static func examples(_ commands: [String]) -> String {
        var lines = ["Examples:"]
        for command in commands {
            if command.hasPrefix("#") { lines.append("  " + command); continue }
            var line = "  "
            for word in words(command) {
                if line.count > 2, line.count + 1 + word.count + 2 > width {  // room for " \"
                    lines.append(line + " \\")
                    line = "      "
                }
                line += (line.hasSuffix(" ") ? "" : " ") + word
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// The words of a command line: split at spaces outside single and double quotes.
    public static func words(_ command: String) -> [String] {
        var out = [String](), word = "", quote: Character? = nil
        for ch in command {
            if let q = quote {
                word.append(ch)
                if ch == q { quote = nil }
            } else if ch == "'" || ch == "\"" {
                quote = ch
                word.append(ch)
            } else if ch == " " {
                if !word.isEmpty { out.append(word); word = "" }
            } else {
                word.append(ch)
            }
        }
        if !word.isEmpty { out.append(word) }
        return out
    }
}
