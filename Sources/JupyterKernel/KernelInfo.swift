import Foundation
import JSON
import Shell

/// `kernel_info_reply`: who this kernel is and the language it runs.
enum KernelInfo {
    static let protocolVersion = "5.3"

    static func content() -> JSONValue {
        .object([
            ("status", "ok"),
            ("protocol_version", .string(protocolVersion)),
            ("implementation", "cnx"),
            ("implementation_version", .string(CNXVersion.string)),
            ("language_info", .object([("name", "cnx"), ("version", .string(CNXVersion.string)),
                                       ("mimetype", "text/plain"), ("file_extension", ".cnx")])),
            ("banner", .string(banner)),
            ("help_links", .array(helpLinks().map { .object([("text", .string($0.text)), ("url", .string($0.url))]) })),
        ])
    }

    static let banner = """
        cnx \(CNXVersion.string) — the ConvNeXt workbench as a Jupyter kernel. A cell is one or more cnx commands; \
        'help' lists them, Tab completes, Shift-Tab (or CMD?) shows a command's help, interrupt stops a job at its next step.
        """

    /// The user guide and command reference, as file URLs, when the docs
    /// folder is found beside the binary (up to four folders above it, as
    /// in a checkout's `.build/debug/cnx`) or in an install's `share/cnx/`.
    static func helpLinks(executable: URL? = Bundle.main.executableURL) -> [(text: String, url: String)] {
        guard var dir = executable?.resolvingSymlinksInPath().deletingLastPathComponent() else { return [] }
        for _ in 0..<5 {
            for docs in [dir.appendingPathComponent("docs"), dir.appendingPathComponent("share/cnx/docs")]
            where FileManager.default.fileExists(atPath: docs.appendingPathComponent("user-guide.md").path) {
                return [("cnx user guide", docs.appendingPathComponent("user-guide.md").absoluteString),
                        ("cnx command reference", docs.appendingPathComponent("commands.md").absoluteString)]
            }
            dir = dir.deletingLastPathComponent()
        }
        return []
    }
}
