import Datasets
import Foundation
import Models
import Sessions
import Training

extension Completer {
    /// Dynamic completions consulted before the built-in rules (see
    /// `CompletionProvider`): one closure per kind of name. Each reads only
    /// `request.snapshot` (the latest published state), so completing never
    /// waits for a running job and never computes on tensors. To add one,
    /// write a closure like `sessionNames` below and list it here (before
    /// `blockNames`, which answers for any `block` argument).
    public static let standardProviders: [CompletionProvider] = [helpTopics, keyNames, sessionNames, augmentNames, parameterPaths, blockNames]

    /// `data augment on|off <Tab>` → the augmentation names (and `all`);
    /// `data augment set <Tab>` → `NAME.PARAM=`; `data augment preset <Tab>` → the presets.
    static let augmentNames: CompletionProvider = { request in
        guard request.command.words == ["data", "augment"], request.argument?.name == "what",
              let action = request.previousWords.first else { return nil }
        switch action {
        case "on", "off": return AugmentConfig.names + ["all"]
        case "set": return AugmentConfig().parameters.map { $0.name + "=" }
        case "preset": return ["light", "convnext"]
        default: return []
        }
    }

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

    /// Saved sessions for `session load|export NAME` and `session diff A B`
    /// (plus `live` for a side of `diff`): folders under `sessions/` in the
    /// working directory that hold a `CURRENT` file. A word with a `/` is a
    /// path: folders complete then.
    static let sessionNames: CompletionProvider = { request in
        let words = request.command.words
        guard words.count == 2, words[0] == "session", ["load", "diff", "export"].contains(words[1]),
              request.argument != nil else { return nil }
        if request.prefix.contains("/") {
            return Completer.paths(request.prefix, in: request.workingDirectory).filter { $0.hasSuffix("/") }
        }
        return savedSessions(in: request.workingDirectory) + (words[1] == "diff" ? ["live"] : [])
    }

    /// Names of the saved sessions under `sessions/` of `directory`, sorted.
    static func savedSessions(in directory: URL) -> [String] {
        let folder = SessionLocation.directory(workingDirectory: directory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { name in
            !name.hasPrefix(".") && FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).appendingPathComponent("CURRENT").path)
        }.sorted()
    }

    /// Full parameter paths of the live model (`Stem_Conv/kernel`,
    /// `BottleneckConvNeXtBlock_00_00/Dense_0/kernel` …) for `show opt PATH`,
    /// and for `show grads|update BLOCK` next to the module names (either
    /// filters those tables): from the model's configuration, no tensors touched.
    static let parameterPaths: CompletionProvider = { request in
        let words = request.command.words
        guard words.count == 2, words[0] == "show", ["opt", "grads", "update"].contains(words[1]),
              let argument = request.argument else { return nil }
        guard let config = request.snapshot.modelConfig, let model = try? ConvNeXt(config: config) else { return [] }
        let paths = model.parameterSpecs().map(\.path)
        return argument.name == "block" ? moduleNames(paths) + paths : paths
    }

    /// Module names along parameter paths, in order of first appearance.
    static func moduleNames(_ paths: [String]) -> [String] {
        var seen = Set<String>()
        var names: [String] = []
        for path in paths {
            for part in path.split(separator: "/").dropLast() where seen.insert(String(part)).inserted {
                names.append(String(part))
            }
        }
        return names
    }

    /// Module names along the live model's parameter paths (blocks, stages,
    /// `Stem_Conv`, `Head` …) for a `block` argument (`show layerscale`,
    /// `show grads`, …): from the model's configuration, no tensors touched.
    static let blockNames: CompletionProvider = { request in
        guard request.argument?.name == "block" else { return nil }
        guard let config = request.snapshot.modelConfig, let model = try? ConvNeXt(config: config) else { return [] }
        return moduleNames(model.parameterSpecs().map(\.path))
    }
}
