/// The Markdown command reference (`docs/commands.md`), generated from the
/// registry's own help so the docs cannot drift (a test compares them).
enum CommandReference {
    static func markdown(_ registry: CommandRegistry) -> String {
        var out = """
        # Command reference

        Generated from the command registry by `cnx -c 'help --markdown'`; do not edit by hand
        (`make docs` regenerates it, and a test checks that it is current).

        Every command works the same in the interactive shell, in `cnx run FILE` scripts and in
        `cnx -c`. Flags take `--name value`, `--name=value` or `name=value`.

        """
        let groups = Dictionary(grouping: registry.commands, by: { $0.words[0] })
        for group in groups.keys.sorted() {
            out += "\n## \(group)\n"
            for spec in groups[group]!.sorted(by: { $0.name < $1.name }) {
                out += "\n### `\(spec.name)`\n\n"
                out += "`\(spec.usage)`\n\n\(spec.summary)\n"
                if !spec.help.isEmpty { out += "\n\(spec.help)\n" }
                if !spec.arguments.isEmpty || !spec.flags.isEmpty { out += "\n" }
                for a in spec.arguments {
                    out += "- `\(a.name.uppercased())`: \(a.help)\(a.optional ? " (optional)" : "")\n"
                }
                for f in spec.flags {
                    let value = f.kind == .bool ? "" : " \(f.kind.placeholder)"
                    out += "- `--\(f.name)\(value)`: \(f.help)\(f.defaultText.map { " (default \($0))" } ?? "")\n"
                }
                if spec.answersAtOnce { out += "\nAnswers at once, also while a job runs.\n" }
                if spec.computes { out += "\nRuns on the compute queue like a job (it uses the cores); refused while a job runs.\n" }
            }
        }
        return out
    }
}
