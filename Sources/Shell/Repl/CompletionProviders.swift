extension Completer {
    /// Dynamic completions consulted before the built-in rules (see
    /// `CompletionProvider`). As the model, key-tree and session
    /// areas land, add one closure each here, e.g.
    ///
    ///     { request in
    ///         guard request.command.words == ["session", "load"], request.argument?.name == "name" else { return nil }
    ///         return sessionNames(in: request.workingDirectory.appendingPathComponent("sessions"))
    ///     }
    ///
    /// Parameter paths and key names come from `request.snapshot` (the latest
    /// published state), so completing never waits for a running job.
    public static let standardProviders: [CompletionProvider] = [helpTopics]

    /// `help mo<Tab>` → `model`, `help model b<Tab>` → `build`.
    static let helpTopics: CompletionProvider = { request in
        guard request.command.words == ["help"] else { return nil }
        return request.registry.subcommands(of: request.previousWords)
    }
}
