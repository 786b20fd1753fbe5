extension Workbench {
    /// True when leaving the shell would lose work (the shell then asks
    /// before exiting on Ctrl-D, `exit` or `quit`).
    ///
    /// Always false for now: nothing in a session can be saved yet. When
    /// `session save` lands, answer here by comparing the snapshot with the
    /// last saved or loaded state (a counter of mutating cells since the last
    /// save is enough).
    public var hasUnsavedWork: Bool { false }
}
