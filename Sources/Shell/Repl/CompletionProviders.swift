import Models
import Training

extension Completer {
    /// Dynamic completions consulted before the built-in rules (see
    /// `CompletionProvider`): one closure per kind of name. Each reads only
    /// `request.snapshot` (the latest published state), so completing never
    /// waits for a running job and never computes on tensors. To add one
    /// (session names for `session load`, say):
    ///
    ///     static let sessionNames: CompletionProvider = { request in
    ///         guard request.command.words == ["session", "load"], request.argument?.name == "name" else { return nil }
    ///         return names(in: request.workingDirectory.appendingPathComponent("sessions"))
    ///     }
    ///
    /// and list it here.
    public static let standardProviders: [CompletionProvider] = [helpTopics, keyNames, blockNames]

    /// `help mo<Tab>` → `model`, `help model b<Tab>` → `build`.
    static let helpTopics: CompletionProvider = { request in
        guard request.command.words == ["help"] else { return nil }
        return request.registry.subcommands(of: request.previousWords)
    }

    /// The key tree's names for `rng show|split|fold|set|sample NAME`.
    static let keyNames: CompletionProvider = { request in
        guard request.command.words.first == "rng", request.argument?.name == "name" else { return nil }
        return request.snapshot.keys.names
    }

    /// Module names along the live model's parameter paths (blocks, stages,
    /// `Stem_Conv`, `Head` …) for a `block` argument (`show layerscale`,
    /// `show grads`, …): from the model's configuration, no tensors touched.
    static let blockNames: CompletionProvider = { request in
        guard request.argument?.name == "block" else { return nil }
        guard let config = request.snapshot.modelConfig, let model = try? ConvNeXt(config: config) else { return [] }
        var seen = Set<String>()
        var names: [String] = []
        for spec in model.parameterSpecs() {
            for part in spec.path.split(separator: "/").dropLast() where seen.insert(String(part)).inserted {
                names.append(String(part))
            }
        }
        return names
    }
}
