import Foundation
import JSON
import SafeTensors
import Tensors

/// `tensors diff A B`: how far apart two safetensors files are, tensor by
/// tensor — the check a parity test makes (logits from cnx and from JAX, or
/// before and after a checkpoint round trip).
enum TensorFileCommands {
    static let all: [CommandSpec] = [
        CommandSpec(["tensors", "diff"], summary: "Compare two safetensors files: each common tensor's max |a − b| and max |a|",
                    help: "Tensors are matched by name; a shape mismatch is reported per tensor. `identical` means every float32 is bit-for-bit equal.",
                    arguments: [ArgumentSpec("a", .path, "A.safetensors"), ArgumentSpec("b", .path, "B.safetensors")],
                    mutates: false) { invocation, context in
            let urlA = context.workbench.url(for: invocation.argument(0)!), urlB = context.workbench.url(for: invocation.argument(1)!)
            let a = try SafeTensorsFile.read(urlA), b = try SafeTensorsFile.read(urlB)
            let common = a.names.filter { b.names.contains($0) }
            guard !common.isEmpty else {
                throw ShellError("\(urlA.lastPathComponent) and \(urlB.lastPathComponent) have no tensor names in common")
            }
            var rows: [[JSONValue]] = []
            var worst: Float = 0
            for name in common {
                let x = try a.tensor(name), y = try b.tensor(name)
                guard x.shape == y.shape else {
                    rows.append([.string(name), .string("\(x.shape) vs \(y.shape)"), .null, .null, .string("shapes differ")])
                    continue
                }
                let d = maxAbsDifference(x.scalars, y.scalars)
                worst = max(worst, d)
                let identical = zip(x.scalars, y.scalars).allSatisfy { $0.bitPattern == $1.bitPattern }
                rows.append([.string(name), .string(x.shape.map(String.init).joined(separator: "x")), .float(d),
                             .float(x.scalars.map(abs).max() ?? 0), .string(identical ? "identical" : "differ")])
            }
            let only = Set(a.names).symmetricDifference(b.names).sorted()
            var parts: [CommandResult] = [
                .table(Table(title: "\(urlA.lastPathComponent) vs \(urlB.lastPathComponent)",
                             columns: [.init("tensor"), .init("shape"), .init("max |a − b|"), .init("max |a|"), .init("bits")], rows: rows)),
                .message("largest difference: \(TextRenderer.float(worst))"),
            ]
            if !only.isEmpty { parts.append(.message("in one file only: \(only.joined(separator: ", "))")) }
            return .group(parts)
        },
    ]

    /// The largest |a[i] − b[i]| (NaN when any difference is NaN).
    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        var worst: Float = 0
        for (x, y) in zip(a, b) {
            let d = abs(x - y)
            if d.isNaN { return .nan }
            worst = max(worst, d)
        }
        return worst
    }
}
