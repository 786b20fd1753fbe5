import Dispatch
import Foundation

/// One executed command of a session: what was typed, what came back, and how long it took.
public struct Cell: Sendable {
    public var number: Int
    public var command: String
    public var result: CommandResult?
    public var error: String?
    public var seconds: Double

    public var ok: Bool { error == nil }

    /// `{"cell": n, "command": "...", "ok": true, "result": {...}}` or with `"error"`.
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("cell", .int(number)), ("command", .string(command)), ("ok", .bool(ok))]
        if let error { pairs.append(("error", .string(error))) }
        if let result { pairs.append(("result", result.json)) }
        pairs.append(("seconds", .double((seconds * 1e4).rounded() / 1e4)))
        return .object(pairs)
    }
}

/// The live session: its state, its commands and its transcript.
///
/// All mutation happens on `computeQueue`, one command at a time
/// (DESIGN.md principle 4); front ends call `execute`, which hops onto it.
public final class Workbench: @unchecked Sendable {
    /// The serial queue that owns the live state.
    public let computeQueue = DispatchQueue(label: "cnx.compute", qos: .userInitiated)
    public let registry: CommandRegistry
    /// Everything the session holds (model, keys, optimizer, data, …). Only touched on `computeQueue`.
    public var state = SessionState()
    /// Executed cells, in order.
    public private(set) var cells: [Cell] = []
    /// Where commands send progress lines while they run (the shell draws them).
    public var progress: @Sendable (String) -> Void = { _ in }
    /// The directory relative paths are resolved against.
    public var workingDirectory: URL

    public init(registry: CommandRegistry = StandardCommands.registry(),
                workingDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) {
        self.registry = registry
        self.workingDirectory = workingDirectory
    }

    /// The number the next cell will get (1-based, like IPython's `In [n]`).
    public var nextCellNumber: Int { cells.count + 1 }

    /// Parses and runs one command's words, records the cell and returns it.
    /// Errors never escape: they are part of the cell.
    @discardableResult
    public func execute(_ tokens: [Token], text: String) -> Cell {
        computeQueue.sync {
            let start = DispatchTime.now().uptimeNanoseconds
            var cell = Cell(number: cells.count + 1, command: text, result: nil, error: nil, seconds: 0)
            do {
                let invocation = try registry.resolve(tokens, text: text)
                cell.result = try invocation.spec.run(invocation, self)
            } catch let error as ShellError {
                cell.error = error.message
            } catch {
                cell.error = String(describing: error)
            }
            cell.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            cells.append(cell)
            return cell
        }
    }

    /// Resolves a user path against the working directory.
    public func url(for path: String) -> URL {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded) }
        return workingDirectory.appendingPathComponent(expanded)
    }
}

/// The live state of a session. Each area of the workbench keeps its part here.
public struct SessionState: Sendable {
    public init() {}
}
