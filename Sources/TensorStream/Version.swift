/// recur's version and the commit it was built from: what `--version` prints and
/// what streams (`recur_version` in the meta) and checkpoints record.
public enum RecurVersion {
    /// The release number.
    public static let number = "0.3.0"
    /// The commit the build was made from (the VersionStamp plugin writes it).
    public static let commit = buildCommit
    /// "0.3.0 (commit 1a2b3c4d5e6f)".
    public static var description: String { "\(number) (commit \(commit))" }
    /// What `tool --version` prints: "fit (recur) 0.3.0 (commit 1a2b3c4d5e6f)".
    public static func line(_ tool: String) -> String { "\(tool) (recur) \(description)" }
}
