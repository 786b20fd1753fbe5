import Foundation
import JSON
import JaxRandom
import Tensors
import Training

/// What differs between two sessions (saved or live): settings, step
/// counters and keys, and each parameter's relative L2 distance
/// `‖b − a‖ / ‖a‖` — "what did 100 steps change?".
public struct SessionDiff: Sendable {
    /// One side of a comparison.
    public struct Side: Sendable {
        public var label: String
        public var state: WorkbenchState
        /// The data settings (the live state's, or the saved ones).
        public var data: SessionManifest.DataRecord?
        public init(label: String, state: WorkbenchState, data: SessionManifest.DataRecord?) {
            self.label = label
            self.state = state
            self.data = data
        }
        /// The live state's side.
        public init(label: String, live: WorkbenchState) {
            self.init(label: label, state: live,
                      data: live.data.map { .init(source: $0.source, augment: $0.augment, batchSize: $0.batchSize) })
        }
    }

    /// A setting or counter: its name and its value on each side.
    public struct Change: Sendable, Equatable {
        public var name: String
        public var a: String
        public var b: String
        public var same: Bool { a == b }
    }

    /// One parameter present in both with the same shape.
    public struct Parameter: Sendable, Equatable {
        public var path: String
        public var count: Int
        public var normA: Double
        public var normB: Double
        /// ‖b − a‖.
        public var distance: Double
        /// ‖b − a‖ / ‖a‖; 0 when equal, nil when ‖a‖ = 0 and they differ
        /// (e.g. biases that start at zero: `distance` says how far they moved).
        public var relative: Double?
    }

    /// Counters and step-related values, always listed.
    public var steps: [Change]
    /// Settings (model, optimizer, data, keys) that differ.
    public var settings: [Change]
    public var parameters: [Parameter]
    /// Parameter paths in only one side, or with different shapes.
    public var unmatched: [String]

    public static func compare(_ a: Side, _ b: Side) -> SessionDiff {
        let sa = a.state, sb = b.state
        var steps: [Change] = []
        func step(_ name: String, _ x: String, _ y: String) { steps.append(Change(name: name, a: x, b: y)) }
        step("mini_steps", "\(sa.counters.miniSteps)", "\(sb.counters.miniSteps)")
        step("optimizer_steps", "\(sa.counters.optimizerSteps)", "\(sb.counters.optimizerSteps)")
        step("data_cursor", "epoch \(sa.counters.cursor.epoch) sample \(sa.counters.cursor.sample)",
             "epoch \(sb.counters.cursor.epoch) sample \(sb.counters.cursor.sample)")
        step("last_loss", sa.history.last.map { "\($0.loss)" } ?? "-", sb.history.last.map { "\($0.loss)" } ?? "-")
        step("evaluations", "\(sa.evaluations.count)", "\(sb.evaluations.count)")

        var settings: [Change] = []
        let fa = flatten(sa, a.data), fb = flatten(sb, b.data)
        let names = fa.map(\.0) + fb.map(\.0).filter { n in !fa.contains { $0.0 == n } }
        let da = Dictionary(fa, uniquingKeysWith: { x, _ in x }), db = Dictionary(fb, uniquingKeysWith: { x, _ in x })
        for n in names where da[n] != db[n] {
            settings.append(Change(name: n, a: da[n] ?? "-", b: db[n] ?? "-"))
        }

        var parameters: [Parameter] = []
        var unmatched: [String] = []
        let pa = sa.params ?? TensorTree(), pb = sb.params ?? TensorTree()
        for (path, x) in pa {
            guard let y = pb[path], y.shape == x.shape else { unmatched.append(path); continue }
            var sx = 0.0, sy = 0.0, sd = 0.0
            x.scalars.withUnsafeBufferPointer { p in
                y.scalars.withUnsafeBufferPointer { q in
                    for i in 0..<p.count {
                        let u = Double(p[i]), v = Double(q[i])
                        sx += u * u
                        sy += v * v
                        sd += (v - u) * (v - u)
                    }
                }
            }
            let d = sd.squareRoot(), n = sx.squareRoot()
            parameters.append(Parameter(path: path, count: x.count, normA: n, normB: sy.squareRoot(), distance: d,
                                        relative: d == 0 ? 0 : (n > 0 ? d / n : nil)))
        }
        for path in pb.paths where pa[path] == nil { unmatched.append(path) }
        return SessionDiff(steps: steps, settings: settings, parameters: parameters, unmatched: unmatched)
    }

    /// ‖b − a‖ / ‖a‖ over all matched parameters together.
    public var totalRelative: Double {
        let d = parameters.reduce(0) { $0 + $1.distance * $1.distance }.squareRoot()
        let n = parameters.reduce(0) { $0 + $1.normA * $1.normA }.squareRoot()
        return d == 0 ? 0 : (n > 0 ? d / n : .infinity)
    }

    /// Settings as `section.field = value` lines (configs through their JSON form).
    static func flatten(_ s: WorkbenchState, _ data: SessionManifest.DataRecord?) -> [(String, String)] {
        var out: [(String, String)] = []
        func add<T: Encodable>(_ prefix: String, _ value: T?) {
            guard let value else { out.append((prefix, "none")); return }
            guard let bytes = try? SessionJSON.encoder(pretty: false).encode(value),
                  let tree = try? SessionJSON.decoder().decode(JSONValue.self, from: bytes) else { return }
            walk(prefix, tree)
        }
        func walk(_ prefix: String, _ t: JSONValue) {
            switch t {
            case .object(let pairs):
                if pairs.isEmpty { out.append((prefix, "{}")) }
                for (k, v) in pairs { walk(prefix + "." + k, v) }
            default:
                out.append((prefix, text(t)))
            }
        }
        add("model", s.modelConfig)
        add("optimizer", s.optimizer)
        add("data", data)
        out.append(("keys.seed", "\(s.keys.seedValue)"))
        for e in s.keys.entries { out.append(("keys.\(e.name)", e.key.hexDescription)) }
        return out
    }

    static func text(_ t: JSONValue) -> String {
        switch t {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let f): return String(f)
        case .double(let d): return String(d)
        case .string(let s): return s
        case .array(let items): return "[" + items.map(text).joined(separator: ",") + "]"
        case .object(let pairs): return "{" + pairs.map { "\($0.0): \(text($0.1))" }.joined(separator: ", ") + "}"
        }
    }
}
