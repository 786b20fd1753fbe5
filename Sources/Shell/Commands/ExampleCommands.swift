import Foundation
import JSON

/// `examples`: the shipped lessons (examples/*.cnx), found from any working
/// directory, with what each teaches and how to run it.
enum ExampleCommands {
    static let all: [CommandSpec] = [
        CommandSpec(["examples"], summary: "The shipped lessons (examples/*.cnx): name, what each teaches, and its path",
                    help: "Found next to the cnx binary (or in CNX_EXAMPLES), so they work from any directory. In the shell `%run NAME` (e.g. `%run tour`) runs one as cells of this session; from a terminal, `cnx run PATH --echo`.",
                    mutates: false) { _, _ in
            guard let dir = ExampleLibrary.directory() else {
                throw ShellError("no examples/ folder found next to the cnx binary: set CNX_EXAMPLES to the folder holding tour.cnx")
            }
            let rows: [[JSONValue]] = ExampleLibrary.names(in: dir).map { name in
                [.string(name), .string(ExampleLibrary.summary(dir.appendingPathComponent(name + ".cnx"))),
                 .string(dir.appendingPathComponent(name + ".cnx").path)]
            }
            return .group([.table(Table(title: "lessons in \(dir.path)", columns: [.init("name"), .init("teaches"), .init("path")], rows: rows)),
                           .message("run one here with `%run NAME` (e.g. %run tour); or `cnx run PATH --echo`")])
        },
    ]
}

/// Where the shipped examples are.
enum ExampleLibrary {
    /// `CNX_EXAMPLES`, else an `examples/` folder holding `tour.cnx` beside
    /// the executable or up to three folders above it (`.build/debug/cnx` in
    /// a checkout), or in `share/cnx/` of an install prefix, else the working
    /// directory's.
    static func directory(environment: [String: String] = ProcessInfo.processInfo.environment,
                          executable: URL? = Bundle.main.executableURL,
                          workingDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) -> URL? {
        var candidates: [URL] = []
        if let env = environment["CNX_EXAMPLES"], !env.isEmpty { candidates.append(URL(fileURLWithPath: env)) }
        if var dir = executable?.resolvingSymlinksInPath().deletingLastPathComponent() {
            for _ in 0..<4 {
                candidates.append(dir.appendingPathComponent("examples"))
                candidates.append(dir.appendingPathComponent("share/cnx/examples"))
                dir = dir.deletingLastPathComponent()
            }
        }
        candidates.append(workingDirectory.appendingPathComponent("examples"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("tour.cnx").path) }
    }

    /// The lessons' names (file names without `.cnx`), sorted.
    static func names(in dir: URL) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return files.filter { $0.hasSuffix(".cnx") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// The first comment line of a lesson: what it teaches.
    static func summary(_ url: URL) -> String {
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        let first = text.split(separator: "\n").first { $0.hasPrefix("#") } ?? ""
        return first.drop { $0 == "#" || $0 == " " }.trimmingCharacters(in: .whitespaces)
    }

    /// The lesson `name` (`tour` or `tour.cnx`), if shipped.
    static func lesson(_ name: String) -> URL? {
        guard !name.contains("/"), let dir = directory() else { return nil }
        let file = dir.appendingPathComponent(name.hasSuffix(".cnx") ? name : name + ".cnx")
        return FileManager.default.fileExists(atPath: file.path) ? file : nil
    }
}
