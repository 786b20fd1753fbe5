import JSON
import Training

/// `show sample-grads BLOCK`: each sample's share of a block's gradient in
/// the step in progress — a sample stochastic depth dropped contributes
/// exactly nothing.
enum SampleGradientCommands {
    static let all: [CommandSpec] = [
        CommandSpec(["show", "sample-grads"], summary: "Each sample's share of one block's gradient in the step in progress (after `step loss`), and whether stochastic depth kept it",
                    help: "One backward pass per sample with the other samples' loss gradients zeroed (the backward is linear in them); the session does not change. A sample dropped at the block has a share of exactly 0: its branch never saw it.",
                    arguments: [ArgumentSpec("block", .string, "a block name, e.g. BottleneckConvNeXtBlock_04_01")],
                    mutates: false) { invocation, context in
            let block = invocation.argument(0)!
            let shares = try TrainEngine.perSampleGradients(context.state, block: block)
            let dropped = shares.filter { $0.kept == false }
            let zero = dropped.allSatisfy { $0.norm == 0 }
            let rows: [[JSONValue]] = shares.map { s in
                [.int(s.sample), .string(s.kept.map { $0 ? "kept" : "dropped" } ?? "–"), .float(s.norm)]
            }
            let step = context.state.pending.map { "step \($0.step)" } ?? "the step"
            let summary = dropped.isEmpty
                ? "no sample was dropped at this block in \(step)"
                : "\(dropped.count) dropped sample(s) \(dropped.map { String($0.sample) }.joined(separator: ",")): gradient share \(zero ? "exactly 0" : "NOT 0")"
            return .group([.table(Table(title: "\(block): each sample's share of the gradient (\(step))",
                                        columns: [.init("sample"), .init("stochastic depth"), .init("‖∂loss_i/∂θ_block‖")], rows: rows)),
                           .message(summary)])
        },
    ]
}
