import Foundation
import PackagePlugin

/// Writes the commit a build is made from into the target (`buildCommit`), before every
/// build: `--version` and the streams and checkpoints the tools write name it.
@main
struct VersionStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appending(path: "generated")
        let root = context.package.directoryURL
        return [.prebuildCommand(displayName: "Stamping the build's commit",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: [root.appending(path: "scripts/version-stamp").path, root.path,
                                             out.appending(path: "BuildCommit.swift").path],
                                 outputFilesDirectory: out)]
    }
}
