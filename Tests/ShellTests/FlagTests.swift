import Foundation
import Training
import XCTest
@testable import Shell

/// Typed flag keys: declared once, their default shown by help, their value
/// read typed, a read of an undeclared key caught, their completion source used.
final class FlagTests: XCTestCase {
    func invocation(_ line: String, _ registry: CommandRegistry = StandardCommands.registry()) throws -> Invocation {
        try registry.resolve(try Tokenizer.commands(line)[0], text: line)
    }

    func helpText(_ words: [String], flag: String) throws -> String {
        guard case .record(let r) = try StandardCommands.registry().help(for: words),
              let field = r.fields.first(where: { $0.0.hasPrefix("--" + flag) }), case .string(let text) = field.1 else {
            throw XCTSkip("no help field for --\(flag) of \(words)")
        }
        return text
    }

    func testTheKeysDefaultIsWhatHelpShowsAndWhatTheCommandReads() throws {
        XCTAssertEqual(try helpText(["eval"], flag: "batch"), "evaluation batch size (default 100)")
        XCTAssertEqual(try invocation("eval")[TrainCommands.evalBatch], 100)
        XCTAssertEqual(try invocation("eval --batch 7")[TrainCommands.evalBatch], 7)
        // optim adamw's defaults come from OptimizerConfig, formatted for reading.
        let config = OptimizerConfig()
        XCTAssertTrue(try helpText(["optim", "adamw"], flag: "lr").hasSuffix("(default \(config.peakLearningRate))"))
        XCTAssertTrue(try helpText(["optim", "adamw"], flag: "end-lr").hasSuffix("(default 1e-6)"))
        XCTAssertTrue(try helpText(["optim", "adamw"], flag: "init-lr").hasSuffix("(default 0)"))
        XCTAssertEqual(try invocation("optim adamw")[OptimCommands.eps], config.eps)
        // An optional flag is nil when absent and says in help what that means.
        XCTAssertNil(try invocation("optim adamw")[OptimCommands.ema])
        XCTAssertTrue(try helpText(["optim", "adamw"], flag: "ema").hasSuffix("(default none)"))
        // An enum flag reads as the enum.
        XCTAssertEqual(try invocation("data batch --split val")[DataCommands.split], .val)
        XCTAssertEqual(try invocation("data batch")[DataCommands.split], .train)
        XCTAssertEqual(FlagKey<Double>("x", default: 1e-8, help: "").spec.defaultText, "1e-8")
    }

    func testReadingAnUndeclaredKeyIsCaught() throws {
        let eval = try invocation("eval --batch 7")
        let misspelt = FlagKey<Int>("bacth", default: 100, help: "evaluation batch size")
        XCTAssertThrowsError(try eval.read(misspelt)) { error in
            XCTAssertTrue("\(error)".contains("reads --bacth, which it does not declare"), "\(error)")
        }
        // Another command's key under the same name is caught too: its default could differ.
        XCTAssertThrowsError(try eval.read(TrainCommands.batchFlag)) { error in
            XCTAssertTrue("\(error)".contains("a different key"), "\(error)")
        }
        XCTAssertEqual(try eval.read(TrainCommands.evalBatch), 7)
    }

    /// Every registered command: each flag a key declared once, its default
    /// in help, its choices what Tab offers. (Each command's reads run in
    /// `CommandFuzzTests`, which trips over an undeclared read.)
    func testEveryRegisteredCommandDeclaresItsFlagsOnce() {
        let registry = StandardCommands.registry()
        var flags = 0
        for command in registry.commands {
            XCTAssertEqual(Set(command.flags.map(\.name)).count, command.flags.count, command.name)
            let help = HelpCommands.describe(command)
            for flag in command.flags {
                flags += 1
                let field = help.fields.first { $0.0 == "--" + flag.name || $0.0.hasPrefix("--\(flag.name) ") }
                guard case .string(let text)? = field?.1 else { XCTFail("\(command.name) --\(flag.name) missing from help"); continue }
                if let d = flag.defaultText { XCTAssertTrue(text.hasSuffix("(default \(d))"), "\(command.name) --\(flag.name): \(text)") }
                if case .choice(let words) = flag.kind {
                    XCTAssertEqual(flag.completion, .words(words), "\(command.name) --\(flag.name)")
                    if let d = flag.defaultText { XCTAssertTrue(words.contains(d), "\(command.name) --\(flag.name) default \(d)") }
                }
                if flag.kind == .path { XCTAssertEqual(flag.completion, .files, "\(command.name) --\(flag.name)") }
            }
        }
        XCTAssertGreaterThan(flags, 60)
    }

    func testCompletionUsesTheKeysSource() throws {
        let workbench = Workbench()
        let setup = "model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32; model init; "
            + "data synthetic --classes 4 --count 16 --val-count 4 --batch 4; optim adamw; step; model init; step; model init"
        for cell in runCommands(setup, workbench: workbench) where !cell.ok { XCTFail("\(cell.command): \(cell.error!)") }
        XCTAssertEqual(workbench.snapshot.runLog.finished.map(\.number), [1, 2])
        let completer = Completer(registry: workbench.registry, workingDirectory: URL(fileURLWithPath: "/nonexistent"))
        // --compare's key declares the finished runs as its source.
        XCTAssertEqual(TrainCommands.compare.spec.completion, .runNumbers)
        XCTAssertEqual(completer.complete("show loss --compare ", snapshot: workbench.snapshot).candidates, ["1", "2"])
        XCTAssertEqual(completer.complete("show loss --compare 1,", snapshot: workbench.snapshot).candidates, ["1,1", "1,2"])
        // An enum key's cases, a choice key's words.
        XCTAssertEqual(completer.complete("data preview --split ", snapshot: workbench.snapshot).candidates, ["train", "val"])
        XCTAssertEqual(completer.complete("params export x --naming t").candidates, ["timm"])
        XCTAssertEqual(completer.complete("bench init --model ti").candidates, ["tiny"])
    }
}
