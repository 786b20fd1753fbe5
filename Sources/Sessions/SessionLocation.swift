import Foundation

/// Where a session name points: `NAME` is `sessions/NAME` under the working
/// directory; a name with a `/` is a path (absolute, `~/…`, or relative to
/// the working directory).
///
/// Refused: empty names, control characters, `.` and `..` as a name, and any
/// `..` component in a path (a name must not climb out of where it points).
public enum SessionLocation {
    /// The default folder, relative to the working directory.
    public static let directoryName = "sessions"

    /// The directory a session name means.
    public static func resolve(_ name: String, workingDirectory: URL) throws -> URL {
        guard !name.isEmpty, !name.allSatisfy({ $0 == " " }) else {
            throw SessionError("a session name cannot be empty: use e.g. `session save run1`")
        }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw SessionError("session name \(String(reflecting: name)) contains a control character: use letters, digits, '-', '_' or '.'")
        }
        if !name.contains("/") {
            guard name != ".", name != ".." else {
                throw SessionError("'\(name)' is not a session name: use e.g. `session save run1`")
            }
            guard !name.hasPrefix(".") else {
                throw SessionError("session name '\(name)' starts with '.', which `session list` hides: use a name without the leading dot")
            }
            try checkLength(name)
            return workingDirectory.appendingPathComponent(directoryName).appendingPathComponent(name)
        }
        let components = name.split(separator: "/", omittingEmptySubsequences: true)
        if components.contains("..") {
            throw SessionError("session path '\(name)' contains '..': give a name (saved under sessions/) or a path without '..'")
        }
        guard !components.isEmpty else { throw SessionError("'\(name)' is not a session directory: give a name or a path") }
        try checkLength(String(components.last!))
        let expanded = (name as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL }
        return workingDirectory.appendingPathComponent(expanded).standardizedFileURL
    }

    /// The longest file name (one path component) the file system takes, in UTF-8 bytes.
    public static let maxNameBytes = 255

    static func checkLength(_ component: String) throws {
        let bytes = component.utf8.count
        guard bytes <= maxNameBytes else {
            throw SessionError("session name '\(component.prefix(24))…' is \(bytes) bytes long; a name (one folder) can be at most \(maxNameBytes) bytes: use a shorter name")
        }
    }

    /// The folder `session list` reads.
    public static func directory(workingDirectory: URL) -> URL {
        workingDirectory.appendingPathComponent(directoryName)
    }
}
