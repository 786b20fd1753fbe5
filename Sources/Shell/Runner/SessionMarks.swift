import Sessions

/// What a workbench knows of saved sessions, beside its state: the
/// transcript of the session it loaded (its own cells continue after it) and
/// the cell of the last save or load (for "unsaved work"). `Workbench` owns
/// it; `session save` and `session load` change it.
public struct SessionMarks: Sendable {
    /// The loaded session's transcript and the cell of the load (nil when nothing was loaded).
    public var carried: (cells: [TranscriptCell], fromCell: Int)?
    /// The cell of the last save or load (nil: never saved or loaded).
    public var savedCell: Int?

    public init() {}
}
