/// Which parameters a masked transformation applies to, decided per path.
public enum ParameterMask: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Every parameter.
    case all
    /// The seed's weight-decay rule (`create_decay_mask_fn` in the reference).
    /// For the path split on `/` as `p`:
    /// * if `p.last == "bias"`, decay only when `"bias"` is not excluded;
    /// * and when `p.count >= 2`, no decay if any other excluded word is a
    ///   substring of the module name `p[p.count - 2]`.
    case excluding([String])
    /// Exactly these paths.
    case paths(Set<String>)

    /// The seed's exclusion list: `bias`, `LayerNorm`, `DepthWise`, `LayerScale`.
    public static let seedExclude = ["bias", "LayerNorm", "DepthWise", "LayerScale"]

    /// The seed's decay mask.
    public static let seedDecay = ParameterMask.excluding(seedExclude)

    /// Whether the parameter at `path` is masked in.
    public func contains(_ path: String) -> Bool {
        switch self {
        case .all: return true
        case .paths(let set): return set.contains(path)
        case .excluding(let words):
            let p = path.split(separator: "/", omittingEmptySubsequences: false)
            let okBias = p.last == "bias" ? !words.contains("bias") : true
            var okModule = true
            if p.count >= 2 {
                let module = p[p.count - 2]
                okModule = !words.contains { $0 != "bias" && module.contains($0) }
            }
            return okBias && okModule
        }
    }

    /// The mask evaluated once over a model's parameter paths: `.paths` of the
    /// masked-in ones, a flag per parameter that `contains` then looks up
    /// instead of re-reading the rule. It decides every one of `paths` as
    /// `self` does (`.all` and `.paths` are already flags and stay as they are).
    public func resolved(over paths: some Sequence<String>) -> ParameterMask {
        switch self {
        case .all, .paths: return self
        case .excluding: return .paths(Set(paths.filter(contains)))
        }
    }

    public var description: String {
        switch self {
        case .all: return "all"
        case .excluding(let words): return "excluding [\(words.joined(separator: ", "))]"
        case .paths(let set): return "\(set.count) paths"
        }
    }
}
