import Foundation
import JSON

/// The kernelspec Jupyter reads to start `cnx kernel`: `kernel.json` and
/// the logos (`KernelLogo`) in `kernels/NAME` of a Jupyter data directory,
/// as `jupyter kernelspec install` writes it.
public enum KernelSpec {
    /// Where the kernelspec goes.
    public enum Location: Sendable, Equatable {
        /// The user's Jupyter data directory: `$JUPYTER_DATA_DIR`, else
        /// `$XDG_DATA_HOME/jupyter`, else `~/.local/share/jupyter`.
        case user
        /// `PREFIX/share/jupyter` (a virtual environment, /usr/local …).
        case prefix(String)
    }

    public static let defaultName = "cnx"

    /// The kernelspec folder for `name` at `location`.
    public static func directory(name: String, location: Location,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let data: URL
        switch location {
        case .prefix(let prefix):
            data = URL(fileURLWithPath: (prefix as NSString).expandingTildeInPath).appendingPathComponent("share/jupyter")
        case .user:
            if let dir = environment["JUPYTER_DATA_DIR"], !dir.isEmpty {
                data = URL(fileURLWithPath: dir)
            } else if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty {
                data = URL(fileURLWithPath: xdg).appendingPathComponent("jupyter")
            } else {
                let home = environment["HOME"] ?? NSHomeDirectory()
                data = URL(fileURLWithPath: home).appendingPathComponent(".local/share/jupyter")
            }
        }
        return data.appendingPathComponent("kernels").appendingPathComponent(name)
    }

    /// `kernel.json`: the binary's absolute path, the connection file placeholder, message interrupts.
    public static func json(executable: String, displayName: String) -> JSONValue {
        .object([
            ("argv", .array([.string(executable), "kernel", "-f", "{connection_file}"])),
            ("display_name", .string(displayName)),
            ("language", "cnx"),
            ("interrupt_mode", "message"),
            ("metadata", .object([])),
        ])
    }

    /// Jupyter's rule for kernel names: letters, digits, `.`, `_`, `-`.
    static func checkName(_ name: String) throws {
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw KernelError("kernel name '\(name)' is not valid: use letters, digits, '.', '_' and '-'")
        }
    }

    /// Writes the kernelspec and its logos (replacing one of the same name); returns its folder.
    @discardableResult
    public static func install(name: String = defaultName, location: Location, executable: String,
                               displayName: String = "cnx",
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        try checkName(name)
        guard executable.hasPrefix("/") else { throw KernelError("the kernel binary's path must be absolute, not '\(executable)'") }
        let dir = directory(name: name, location: location, environment: environment)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let text = json(executable: executable, displayName: displayName).jsonText + "\n"
            try Data(text.utf8).write(to: dir.appendingPathComponent("kernel.json"), options: .atomic)
            try KernelLogo.write(into: dir)
        } catch {
            throw KernelError("cannot write the kernelspec in \(dir.path): \(error.localizedDescription)")
        }
        return dir
    }

    /// Removes the kernelspec; returns the folder it was in.
    @discardableResult
    public static func uninstall(name: String = defaultName, location: Location,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        try checkName(name)
        let dir = directory(name: name, location: location, environment: environment)
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("kernel.json").path) else {
            throw KernelError("no kernelspec '\(name)' in \(dir.deletingLastPathComponent().path); 'jupyter kernelspec list' shows where they are")
        }
        do { try FileManager.default.removeItem(at: dir) } catch {
            throw KernelError("cannot remove \(dir.path): \(error.localizedDescription)")
        }
        return dir
    }
}
