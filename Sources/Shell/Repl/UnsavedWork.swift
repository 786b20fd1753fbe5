extension Workbench {
    /// True when leaving the shell would lose work: a job is running, or a
    /// command that changed the session succeeded since the last
    /// `session save` or `session load` (the shell then asks before exiting
    /// on Ctrl-D, `exit` or `quit`).
    public var hasUnsavedWork: Bool { SessionCommands.hasUnsavedWork(self) }

    /// The exit question's one line, or nil when nothing would be lost:
    /// `unsaved work (3 commands since the last save or load): save with `session save NAME`, or exit anyway? [y/N] `.
    var unsavedWorkQuestion: String? {
        guard hasUnsavedWork else { return nil }
        let n = SessionCommands.unsavedCommands(self)
        let commands = n == 1 ? "1 command" : "\(n) commands"
        let since = commands + (TranscriptCarry.shared.savedCell(self) == nil ? ", never saved" : " since the last save or load")
        let job = runningJob.map { "job \($0.id) (\($0.progressText)) is running and would be stopped" }
        let what = [n > 0 ? since : nil, job].compactMap { $0 }.joined(separator: "; ")
        return "unsaved work (\(what)): save with `session save NAME`, or exit anyway? [y/N] "
    }
}
