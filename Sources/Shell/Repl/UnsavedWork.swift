extension Workbench {
    /// True when leaving the shell would lose work: a job is running, or a
    /// command that changed the session succeeded since the last
    /// `session save` or `session load` (the shell then asks before exiting
    /// on Ctrl-D, `exit` or `quit`).
    public var hasUnsavedWork: Bool { SessionCommands.hasUnsavedWork(self) }

    /// The exit question's one line, or nil when nothing would be lost:
    /// `unsaved work (3 commands since the last save or load): save with `session save NAME`, or exit anyway? [y/N] `.
    public var unsavedWorkQuestion: String? {
        unsavedWork.map { "unsaved work (\($0)): save with `session save NAME`, or exit anyway? [y/N] " }
    }

    /// The question before `session load` replaces unsaved work, or nil when nothing would be lost.
    public var loadOverUnsavedWorkQuestion: String? {
        unsavedWork.map { "unsaved work (\($0)) would be replaced: save it first with `session save NAME`, or load anyway? [y/N] " }
    }

    /// What would be lost, e.g. `3 commands since the last save or load`; nil when nothing would be.
    public var unsavedWork: String? {
        guard hasUnsavedWork else { return nil }
        let n = SessionCommands.unsavedCommands(self)
        let commands = n == 1 ? "1 command" : "\(n) commands"
        let since = commands + (sessionMarks.savedCell == nil ? ", never saved" : " since the last save or load")
        let job = runningJob.map { "job \($0.id) (\($0.progressText)) is running and would be stopped" }
        let what = [n > 0 ? since : nil, job].compactMap { $0 }.joined(separator: "; ")
        return what
    }
}
