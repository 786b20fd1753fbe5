import JSON
import XCTest
@testable import Shell

/// The typed keys of the echo registry's `model build`.
enum EchoFlags {
    static let classes = FlagKey<Int?>("classes", help: "classes")
    static let depths = FlagKey<[Int]?>("depths", help: "depths")
    static let dropPath = FlagKey<Double?>("drop-path", help: "rate")
    static let naming = FlagKey<String?>("naming", help: "naming", kind: .choice(["flax", "timm"]))
    static let train = FlagKey<Bool>("train", help: "train mode")
}

/// A registry of small commands that echo what they were given.
func echoRegistry() -> CommandRegistry {
    let echo: CommandSpec.Run = { invocation, _ in
        var fields: [(String, JSONValue)] = [("args", .array(invocation.arguments.map { .string($0) }))]
        // Each EchoFlags key the command declares and was given, as typed back.
        func echo<Value>(_ key: FlagKey<Value?>) {
            if case let value?? = try? invocation.read(key) { fields.append((key.spec.name, .string(value.flagDefaultText ?? ""))) }
        }
        echo(EchoFlags.classes)
        echo(EchoFlags.depths)
        echo(EchoFlags.dropPath)
        echo(EchoFlags.naming)
        return .record(Record(fields))
    }
    return CommandRegistry([
        CommandSpec(["model", "build"], summary: "build",
                    arguments: [ArgumentSpec("variant", .string, "a variant", optional: true)],
                    flags: [EchoFlags.classes, EchoFlags.depths, EchoFlags.dropPath, EchoFlags.naming, EchoFlags.train], run: echo),
        CommandSpec(["model", "init"], summary: "init", run: echo),
        CommandSpec(["step"], summary: "step", run: echo),
        CommandSpec(["step", "forward"], summary: "forward", run: echo),
        CommandSpec(["rng", "split"], summary: "split",
                    arguments: [ArgumentSpec("name", .string, "key"), ArgumentSpec("count", .int, "n")], run: echo),
        CommandSpec(["fail"], summary: "always fails") { _, _ in throw ShellError("this command failed on purpose") },
    ])
}

final class CommandRegistryTests: XCTestCase {
    let registry = echoRegistry()

    func resolve(_ line: String) throws -> Invocation {
        try registry.resolve(try Tokenizer.commands(line)[0], text: line)
    }

    func message(_ line: String) -> String {
        do { _ = try resolve(line); return "no error" } catch { return "\(error)" }
    }

    func testResolvesLongestCommandAndTypedFlags() throws {
        let inv = try resolve("model build tiny --classes 10 --depths 1,1,2,1 drop-path=0.1 --naming=timm --train")
        XCTAssertEqual(inv.spec.name, "model build")
        XCTAssertEqual(inv.arguments, ["tiny"])
        XCTAssertEqual(inv[EchoFlags.classes], 10)
        XCTAssertEqual(inv[EchoFlags.depths], [1, 1, 2, 1])
        XCTAssertEqual(inv[EchoFlags.dropPath], 0.1)
        XCTAssertEqual(inv[EchoFlags.naming], "timm")
        XCTAssertTrue(inv[EchoFlags.train])
        XCTAssertEqual(try resolve("step").spec.name, "step")
        XCTAssertEqual(try resolve("step forward").spec.name, "step forward")
        XCTAssertEqual(try resolve("model build --drop-path -1e-2")[EchoFlags.dropPath], -0.01)
        let bare = try resolve("model build")
        XCTAssertNil(bare[EchoFlags.classes])
        XCTAssertFalse(bare[EchoFlags.train])
        XCTAssertFalse(try resolve("model build --train=false")[EchoFlags.train])
    }

    func testNearMissSuggestions() {
        XCTAssertEqual(message("modle build"), "unknown command 'modle' — did you mean 'model'?; type 'help' for the list")
        XCTAssertTrue(message("model biuld").contains("unknown sub-command 'biuld' for 'model' — did you mean 'build'?"))
        XCTAssertTrue(message("model").contains("'model' needs a sub-command: build, init"))
        XCTAssertTrue(message("model build --clases 3").contains("unknown flag '--clases' for 'model build' — did you mean '--classes'?"))
        XCTAssertTrue(message("step forwrd").contains("did you mean 'forward'?"))
    }

    func testTypeErrorsNameTheFlag() {
        XCTAssertEqual(message("model build --classes ten"), "flag --classes expects an integer, got 'ten'")
        XCTAssertTrue(message("model build --depths 1,x").contains("comma-separated integers"))
        XCTAssertTrue(message("model build --drop-path nan").contains("expects a number"))
        XCTAssertTrue(message("model build --naming tim").contains("must be one of flax, timm, got 'tim' — did you mean 'timm'?"))
        XCTAssertTrue(message("model build --classes").contains("needs a value"))
        XCTAssertTrue(message("model build --train=maybe").contains("on/off"))
        XCTAssertTrue(message("rng split dropout").contains("needs COUNT"))
        XCTAssertTrue(message("rng split dropout two").contains("COUNT expects an integer, got 'two'"))
        XCTAssertTrue(message("rng split a 2 3").contains("unexpected argument '3'"))
    }

    func testUsageLine() {
        XCTAssertEqual(registry.command(["rng", "split"])?.usage, "rng split NAME COUNT")
        XCTAssertEqual(registry.command(["model", "build"])?.usage,
                       "model build [VARIANT] [--classes N] [--depths N,N,…] [--drop-path X] [--naming flax|timm] [--train]")
    }

    func testEditDistance() {
        XCTAssertEqual(Suggestion.distance("kitten", "sitting"), 3)
        XCTAssertEqual(Suggestion.distance("", "abc"), 3)
        XCTAssertNil(Suggestion.closest(to: "zzzzzz", in: ["model", "rng"]))
    }
}
