import Foundation

/// The interactive loop: `In [n]:` prompts, results rendered for a person.
public struct LineShell {
    public var workbench: Workbench
    public var renderer: TextRenderer
    public var output: OutputSink

    public init(workbench: Workbench, renderer: TextRenderer, output: OutputSink) {
        self.workbench = workbench
        self.renderer = renderer
        self.output = output
    }

    /// Reads commands until end of input or `exit`; returns the exit status.
    public func run() -> Int32 {
        output.out("cnx \(CNXVersion.string) — ConvNeXt workbench. Type 'help' for commands, 'exit' to leave; examples/ has scripts.")
        while true {
            FileHandle.standardOutput.write(Data("In [\(workbench.nextCellNumber)]: ".utf8))
            guard let line = readLine(strippingNewline: true) else { output.out(""); return 0 }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "exit" || trimmed == "quit" { return 0 }
            let commands: [[Token]]
            do { commands = try Tokenizer.commands(line) } catch { output.err("error: \(error.message)"); continue }
            for tokens in commands {
                let number = workbench.nextCellNumber
                let cell = workbench.execute(tokens, text: tokens.map { Tokenizer.quote($0.text) }.joined(separator: " "))
                if let error = cell.error {
                    output.err("error: \(error)")
                } else if let result = cell.result {
                    let text = renderer.render(result)
                    if !text.isEmpty { output.out("Out[\(number)]:\n\(text)") }
                }
            }
        }
    }
}

/// The version `cnx --version` prints.
public enum CNXVersion {
    public static let string = "0.1.0"
}
