import Foundation

/// What a save or load of a session removes before it starts: version
/// directories that `CURRENT` does not name (a save killed by `kill -9`, a
/// full disk, or one that stopped before pruning), and temporary files of
/// interrupted atomic writes. Runs under the session's lock, so no other
/// save is writing them; never touches the version `CURRENT` names, and
/// nothing at all when `CURRENT` exists but cannot be read.
enum StaleVersions {
    /// One removed entry: its name and size in bytes.
    struct Removed: Sendable, Equatable {
        var name: String
        var bytes: Int
    }

    /// The version `CURRENT` names; nil when there is no `CURRENT`.
    /// - Throws: when `CURRENT` exists but is unreadable (then nothing is stale for sure).
    static func currentVersion(_ url: URL) throws -> String? {
        let path = url.appendingPathComponent(SessionStore.pointerName).path
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path),
              let pointer = try? SessionJSON.decoder().decode(SessionPointer.self, from: data),
              SessionStore.versionNumber(pointer.version) != nil else {
            throw SessionError("CURRENT is unreadable")
        }
        return pointer.version
    }

    /// Removes every stale entry of session directory `url` (see the type's
    /// comment) and returns what was removed.
    static func clean(_ url: URL) -> [Removed] {
        let fm = FileManager.default
        let current: String?
        do { current = try currentVersion(url) } catch { return [] }
        guard let entries = try? fm.contentsOfDirectory(atPath: url.path) else { return [] }
        var removed: [Removed] = []
        for entry in entries.sorted() {
            let stale = (SessionStore.versionNumber(entry) != nil && entry != current)
                || (entry.hasPrefix(".") && entry.contains(".tmp-"))
            guard stale else { continue }
            let item = url.appendingPathComponent(entry)
            let bytes = size(item)
            if (try? fm.removeItem(at: item)) != nil { removed.append(Removed(name: entry, bytes: bytes)) }
        }
        if let current {
            // Temporary files inside the current version (never part of it).
            let dir = url.appendingPathComponent(current)
            for entry in ((try? fm.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
            where entry.hasPrefix(".") && entry.contains(".tmp-") {
                let item = dir.appendingPathComponent(entry)
                let bytes = size(item)
                if (try? fm.removeItem(at: item)) != nil { removed.append(Removed(name: "\(current)/\(entry)", bytes: bytes)) }
            }
        }
        return removed
    }

    /// One line for a report: `v000004 (2.1 GiB), .CURRENT.tmp-1-2 (90 B)`.
    static func describe(_ removed: [Removed]) -> String {
        removed.map { "\($0.name) (\(bytesText($0.bytes)))" }
            .joined(separator: ", ")
    }

    static func bytesText(_ b: Int) -> String {
        b >= 1 << 30 ? String(format: "%.1f GiB", Double(b) / Double(1 << 30))
            : b >= 1 << 20 ? String(format: "%.1f MiB", Double(b) / Double(1 << 20))
            : b >= 1 << 10 ? String(format: "%.1f KiB", Double(b) / Double(1 << 10)) : "\(b) B"
    }

    /// Bytes of a file, or of every file under a directory.
    static func size(_ url: URL) -> Int {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else { return 0 }
        if !isDir.boolValue { return ((try? fm.attributesOfItem(atPath: url.path))?[.size] as? Int) ?? 0 }
        var total = 0
        for sub in (try? fm.subpathsOfDirectory(atPath: url.path)) ?? [] {
            total += ((try? fm.attributesOfItem(atPath: url.appendingPathComponent(sub).path))?[.size] as? Int) ?? 0
        }
        return total
    }
}
