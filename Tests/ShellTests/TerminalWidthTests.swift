import Foundation
import XCTest
import TestSupport

/// The real shell on 80- and 140-column pseudo-terminals: no line it draws
/// is wider than the terminal (so nothing wraps mid-word or mid-number, and
/// the progress bar redraws in place instead of flooding the scrollback).
final class TerminalWidthTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        _ = try PseudoTerminal.binary()
        directory = try PseudoTerminal.temporaryDirectory()
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// Every row the terminal shows: output split at newlines and carriage
    /// returns (a redraw starts over), escape sequences removed.
    static func rows(_ text: String) -> [String] {
        // By scalars: "\r\n" is one Character to Swift.
        String(text.unicodeScalars.map { $0 == "\r" ? "\n" : Character($0) })
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { PseudoTerminal.strip(String($0)) }
    }

    func checkFits(columns: UInt16) throws {
        let t = try PseudoTerminal(directory: directory, environment: ["NO_COLOR": "1"], columns: columns)
        t.expect("In [1]: ")
        t.type("model build convnext --depths 1,1,1,1 --dims 8,16,24,32 --classes 4 --image-size 32; model init; "
               + "optim adamw --lr 0.006 --warmup-steps 30 --decay-steps 600 --ema 0.999; data synthetic --classes 4 --size 32 --batch 8\r")
        t.expect("In [5]: ", timeout: 30)
        let mark = t.text.count
        t.type("train steps 60\r")
        t.expect("the bar") { $0.contains("/60 [") }
        t.expect("train steps 60: done", timeout: 60)
        t.expect("In [6]: ")
        let bar = String(t.text.dropFirst(mark).prefix { $0 != "O" })  // up to `Out[5]:`
        let commands = ["help model", "help show", "help train", "help model build", "optim show", "recipe show",
                        "show layerscale 1", "show update", "%history", "status", "runs"]
        for command in commands {
            let prompts = t.count("\nIn [")
            t.type(command + "\r")
            t.expect("the prompt after \(command)", timeout: 20) { _ in t.count("\nIn [") > prompts }
        }
        // The lines typed are the terminal's to wrap; everything cnx draws must fit.
        let wide = Self.rows(t.text).filter { $0.count > Int(columns) && !$0.hasPrefix("In [") }
        XCTAssertEqual(wide, [], "rows wider than \(columns) columns")
        // The bar redrew in place: far fewer rows than redraws.
        XCTAssertLessThanOrEqual(bar.unicodeScalars.filter { $0 == "\n" }.count, 6, "the progress bar must not flood the scrollback:\n\(bar)")
        // Numbers are never split across rows: every LayerScale value is whole.
        let plain = t.plainText
        XCTAssertFalse(plain.contains("1e-\n"), "a number split across rows")
        XCTAssertFalse(plain.contains("\n06,"), "a number split across rows")
        // Help text wraps at word boundaries: its words all appear whole.
        let tokens = Set(plain.split(whereSeparator: { $0 == " " || $0 == "\n" }))
        let sentence = "Building, `model init` and `params import` each start a new training run: steps, data cursor, metrics, evaluations, a step in progress and the optimizer and EMA state start over"
        for word in sentence.split(separator: " ") { XCTAssertTrue(tokens.contains(word), "'\(word)' was split") }
        XCTAssertTrue(t.isRunning)
        t.type(PseudoTerminal.ctrlD)
        t.expect("or exit anyway? [y/N] ")
        t.type("y\r")
        XCTAssertEqual(t.waitForExit(), 0)
    }

    func testEverythingFitsIn80Columns() throws { try checkFits(columns: 80) }

    func testEverythingFitsIn140Columns() throws { try checkFits(columns: 140) }
}
