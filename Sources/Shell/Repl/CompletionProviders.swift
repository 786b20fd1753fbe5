extension Completer {
    /// Dynamic completions consulted before the built-in rules (see
    /// `CompletionProvider`). Empty for now: as the model, key-tree and session
    /// areas land, add one closure each here, e.g.
    ///
    ///     { request in
    ///         guard request.command.words == ["session", "load"], request.argument?.name == "name" else { return nil }
    ///         return sessionNames(in: request.workingDirectory.appendingPathComponent("sessions"))
    ///     }
    ///
    /// Parameter paths and key names come from `request.snapshot` (the latest
    /// published state), so completing never waits for a running job.
    public static let standardProviders: [CompletionProvider] = []
}
