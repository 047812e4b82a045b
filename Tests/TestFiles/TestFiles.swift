import Foundation

/// Where the tests put their files: one folder per test process in the system's
/// temporary directory, removed when the process exits (normally, failed tests
/// included: a crash or a kill leaves it), so that `swift test` leaves nothing behind.
public enum TestFiles {
    /// The folder, with a trailing slash; made on first use.
    public static let folder: String = {
        let folder = NSTemporaryDirectory() + "recur-tests-\(getpid())-\(UUID().uuidString)/"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestFiles.folder) }
        return folder
    }()

    /// A fresh path in the folder whose name ends in `name`.
    public static func path(_ name: String) -> String { folder + UUID().uuidString + "-" + name }
}
