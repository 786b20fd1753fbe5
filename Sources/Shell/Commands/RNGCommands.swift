import JSON
import JaxRandom
import Training

/// `rng …`: the session's key tree, as a teaching tool (issue 4).
enum RNGCommands {
    static let childName = FlagKey<String?>("as", help: "name the child", shown: "NAME@DATA")

    static let all: [CommandSpec] = [
        CommandSpec(["rng", "seed"], summary: "Reset the key tree: root = PRNGKey(N); params, dropout, stochastic_depth, train = split(root, 4); train/0 = split(train, 1)[0]; data = split(root, 5)[4]",
                    help: "The seed's train.py: params initialises the model; dropout and stochastic_depth are the init-time apply rngs (and what `forward --train` and `grad --train` use); each train step does `step/dropout, step/stochastic_depth, train/0 = split(train/0, 3)` (one process is the seed's device 0). data is cnx's own key for the data order and every augmentation (the seed shuffles with tf.data, without JAX keys). Seeds are 64-bit integers; as in JAX with x64 off, only the low 32 bits survive (PRNGKey(2**32+17) == PRNGKey(17)).",
                    arguments: [ArgumentSpec("seed", .int, "the seed, e.g. 42")]) { invocation, context in
            guard let seed = Int64(invocation.argument(0)!) ?? invocation.intArgument(0).map(Int64.init) else {
                throw ShellError("seed must be a 64-bit integer, got '\(invocation.argument(0)!)'")
            }
            context.state.keys.seed(seed)
            return .group([.message("seeded \(seed): root = PRNGKey(\(seed)); params, dropout, stochastic_depth, train = split(root, 4); train/0 = split(train, 1)[0]; data = split(root, 5)[4]"),
                           .table(table(context.state))])
        },
        CommandSpec(["rng", "show"], summary: "The key tree: each key's name, lineage, words (hex) and uses",
                    help: "The title gives the seed and the session's step (the run's train steps, as `status` counts them). Words print in hex, as everywhere in cnx (`--json` gives integers); `rng set` takes them back in either form. uses counts the draws made with a key: `model init` and `train reset` draw params, each train step draws its step/dropout and step/stochastic_depth (and splits train/0 into the next one), `rng sample` draws the key it names; a key drawn twice is marked reused!. `forward --train` and `grad --train` apply the init-time dropout and stochastic_depth keys without drawing, so they repeat the same masks by design.",
                    arguments: [ArgumentSpec("name", .string, "show only this key and the keys derived from it", optional: true)],
                    mutates: false) { invocation, context in
            if let name = invocation.argument(0) {
                _ = try context.state.keys.entry(name)
                return .table(table(context.state, under: name))
            }
            return .table(table(context.state))
        },
        CommandSpec(["rng", "split"], summary: "Add children NAME/0 … NAME/N-1 equal to split(key, N)[i]",
                    arguments: [ArgumentSpec("name", .string, "the key to split"),
                                ArgumentSpec("count", .int, "how many keys (at least 1)")]) { invocation, context in
            let names = try context.state.keys.split(invocation.argument(0)!, invocation.intArgument(1)!)
            return .table(table(context.state, only: Set(names)))
        },
        CommandSpec(["rng", "fold"], summary: "Add the child fold_in(key, DATA), named NAME@DATA",
                    arguments: [ArgumentSpec("name", .string, "the key"),
                                ArgumentSpec("data", .int, "a 32-bit integer to fold in")],
                    flags: [childName]) { invocation, context in
            let data = invocation.intArgument(1)!
            guard let word = UInt32(exactly: data) ?? (data < 0 && data >= Int(Int32.min) ? UInt32(bitPattern: Int32(data)) : nil) else {
                throw ShellError("DATA must fit in 32 bits (0 … 4294967295, or a negative int32), got \(data)")
            }
            let name = try context.state.keys.fold(invocation.argument(0)!, word, as: invocation[childName])
            return .table(table(context.state, only: [name]))
        },
        CommandSpec(["rng", "set"], summary: "Set a key's two words explicitly (creating it if needed)",
                    help: "Keys split or folded from it are re-derived, so `rng set root 0 42` equals `rng seed 42`.",
                    arguments: [ArgumentSpec("name", .string, "the key"),
                                ArgumentSpec("k0", .string, "first word: hex as `rng show` prints it (0x0000002a) or decimal, 0 … 4294967295"),
                                ArgumentSpec("k1", .string, "second word: hex (0x…) or decimal, 0 … 4294967295")]) { invocation, context in
            guard let k0 = PRNGKey.parseWord(invocation.argument(1)!), let k1 = PRNGKey.parseWord(invocation.argument(2)!) else {
                throw ShellError("key words are unsigned 32-bit integers, hex as `rng show` prints them (0x0000002a) or decimal (0 … 4294967295), got '\(invocation.argument(1)!) \(invocation.argument(2)!)'")
            }
            let name = invocation.argument(0)!
            try context.state.keys.set(name, k0, k1)
            return .table(table(context.state, under: name))
        },
        CommandSpec(["rng", "sample"], summary: "Draw jax.random.DIST(key, (COUNT,)) with the named key itself",
                    help: "DIST is bits, uniform, normal, truncated_normal[:LO,HI], bernoulli:P or permutation. Values print so that they round-trip exactly. Drawing twice from one key repeats the numbers — JAX users are told never to do that, and cnx warns.",
                    arguments: [ArgumentSpec("name", .string, "the key"),
                                ArgumentSpec("dist", .string, "bits, uniform, normal, truncated_normal[:LO,HI], bernoulli:P or permutation"),
                                ArgumentSpec("count", .int, "how many values")]) { invocation, context in
            let distribution = try Distribution(parsing: invocation.argument(1)!)
            let count = invocation.intArgument(2)!
            guard count <= 1_000_000 else { throw ShellError("COUNT \(count) is too large to print: use at most 1000000") }
            let (use, values) = try context.state.keys.sample(invocation.argument(0)!, distribution, count: count)
            var fields: [(String, JSONValue)] = [
                ("key", .string(use.name)), ("words", KeyWords.json(use.key)),
                ("distribution", .string(distribution.description)), ("count", .int(count)),
                ("values", values.json), ("uses", .int(use.uses)),
            ]
            if use.isReuse {
                fields.append(("warning", .string("key '\(use.name)' was already drawn from \(use.uses - 1) time(s): the same key gives the same numbers; split it first (rng split \(use.name) 2)")))
            }
            return .record(Record(title: "\(distribution)(\(use.name), (\(count),))", fields, formats: ["words": .keyWords]))
        },
    ]

    /// The tree as a table; `only` restricts to some names, `under` to a key
    /// and its descendants. The title gives the session's step (the run's
    /// train steps, as `status` counts them) and, when the keys moved on a
    /// different number of steps since the seed (a new run without `rng
    /// seed`), that number too.
    static func table(_ state: WorkbenchState, only: Set<String>? = nil, under: String? = nil) -> Table {
        let keys = state.keys
        let rows: [[JSONValue]] = keys.entries.filter { entry in
            if let only { return only.contains(entry.name) }
            if let under { return entry.name == under || isDescendant(entry.name, of: under, in: keys) }
            return true
        }.map { e in
            [.string(e.name), .string(e.lineage), KeyWords.json(e.key.k0), KeyWords.json(e.key.k1),
             .int(e.uses), .string(e.uses > 1 ? "reused!" : "")]
        }
        let schedule = keys.schedule == .seed ? "train steps: split(train/0, 3)" : "train steps: split(dropout|stochastic_depth, 2), from an older session"
        let step = state.counters.miniSteps
        let moved = keys.step == step ? "" : ", keys \(keys.step) train step\(keys.step == 1 ? "" : "s") past the seed"
        return Table(title: "key tree (seed \(keys.seedValue), step \(step)\(moved); \(schedule))",
                     columns: [.init("name"), .init("lineage"), .init("k0", format: .keyWords), .init("k1", format: .keyWords),
                               .init("uses"), .init("")],
                     rows: rows)
    }

    static func isDescendant(_ name: String, of ancestor: String, in keys: KeyTree) -> Bool {
        var current = (try? keys.entry(name))?.parent
        var seen = Set<String>()
        while let c = current, seen.insert(c).inserted {
            if c == ancestor { return true }
            current = (try? keys.entry(c))?.parent
        }
        return false
    }
}

extension Sample {
    /// Values as JSON numbers (floats print as the shortest round-tripping decimal).
    var json: JSONValue {
        switch self {
        case .bits(let v): return .array(v.map { .int(Int($0)) })
        case .floats(let v): return .array(v.map { .float($0) })
        case .bools(let v): return .array(v.map { .bool($0) })
        case .ints(let v): return .array(v.map { .int($0) })
        }
    }
}
