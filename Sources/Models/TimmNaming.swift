import Tensors
import OrderedCollections

/// How parameter tensors are named in a file.
public enum ParameterNaming: String, Sendable, CaseIterable, Codable {
    /// Flax paths and layouts (HWIO convs, (in, out) Dense): the native form.
    case flax
    /// timm `convnext_*` state-dict names and PyTorch layouts (OIHW convs,
    /// (C, 1, k, k) depthwise, (out, in) Linear).
    case timm
}

/// The layout change a parameter needs between Flax and timm.
enum TimmLayout {
    /// 1-D tensors: unchanged.
    case same
    /// Conv kernels: HWIO (kh, kw, in, out) <-> OIHW (out, in, kh, kw); a
    /// depthwise (k, k, 1, C) kernel becomes (C, 1, k, k).
    case conv
    /// Dense kernels: (in, out) <-> (out, in).
    case dense
}

extension ConvNeXt {
    /// The timm state-dict name of a Flax parameter path, or nil if the path
    /// is not one of this model's.
    ///
    /// timm: `stem.0` is the 4x4 conv and `stem.1` its LayerNorm; stage 0 has
    /// no downsample, stage i > 0 has `downsample.0` (LayerNorm) and
    /// `downsample.1` (conv); blocks are `stages.i.blocks.j.{conv_dw, norm,
    /// mlp.fc1, mlp.fc2, gamma}`; the head is `head.norm` and `head.fc`.
    public func timmName(forFlaxPath path: String) -> String? {
        timmTable()[path]?.name
    }

    /// The Flax path of a timm state-dict name, or nil if unknown.
    public func flaxPath(forTimmName name: String) -> String? {
        timmTable().first { $0.value.name == name }?.key
    }

    /// The timm name and layout change of every parameter, by Flax path.
    func timmTable() -> [String: (name: String, layout: TimmLayout)] {
        // The timm names in the layout's shape, so each leaf meets its Flax path by position.
        func linear(_ prefix: String) -> LinearLayer<String> { LinearLayer(kernel: "\(prefix).weight", bias: "\(prefix).bias") }
        func norm(_ prefix: String) -> NormLayer<String> { NormLayer(scale: "\(prefix).weight", bias: "\(prefix).bias") }
        let stages = layout.stages.enumerated().map { s, stage in
            StageLayers<String>(
                downsample: stage.downsample.map { _ in
                    DownsampleLayers(norm: norm("stages.\(s).downsample.0"), conv: linear("stages.\(s).downsample.1"))
                },
                blocks: stage.blocks.indices.map { j in
                    let block = "stages.\(s).blocks.\(j)"
                    return BlockLayers(dw: linear("\(block).conv_dw"), norm: norm("\(block).norm"),
                                       fc1: linear("\(block).mlp.fc1"), fc2: linear("\(block).mlp.fc2"),
                                       gamma: "\(block).gamma")
                })
        }
        let names = ConvNeXtLayers<String>(stem: linear("stem.0"), stemNorm: norm("stem.1"), stages: stages,
                                           norm: norm("head.norm"), head: linear("head.fc"))
        var table: [String: (name: String, layout: TimmLayout)] = [:]
        for (spec, name) in zip(layoutLeaves, names.leaves) {
            let layout: TimmLayout = spec.shape.count == 4 ? .conv : (spec.shape.count == 2 ? .dense : .same)
            table[spec.path] = (name, layout)
        }
        return table
    }

    /// The parameters as named tensors for a file, in model order for timm
    /// (as a PyTorch state dict lists them) and tree order for Flax.
    /// - Throws: `ModelError` if `params` does not fit this model.
    public func exportParameters(_ params: TensorTree, naming: ParameterNaming) throws -> [(String, Tensor)] {
        try validateParameters(params)
        switch naming {
        case .flax:
            return parameterSpecs().map { ($0.path, params[$0.path]!) }
        case .timm:
            let table = timmTable()
            return parameterSpecsInModelOrder().map { spec in
                let (name, layout) = table[spec.path]!
                return (name, Self.toTimm(params[spec.path]!, layout))
            }
        }
    }

    /// A parameter tree from named tensors (a file's contents), checked
    /// against this model before anything is returned: every tensor present,
    /// none extra, every shape right, every value finite.
    /// - Throws: `ModelError` naming the first missing, extra or mis-shaped tensor.
    public func importParameters(_ tensors: [(String, Tensor)], naming: ParameterNaming) throws -> TensorTree {
        var byName: [String: Tensor] = [:]
        for (name, t) in tensors {
            if byName[name] != nil { throw ModelError("tensor '\(name)' appears twice in the file") }
            byName[name] = t
        }
        let table = timmTable()
        var out = OrderedDictionary<String, Tensor>()
        var used = Set<String>()
        for spec in parameterSpecs() {
            let (timm, layout) = table[spec.path]!
            let name = naming == .flax ? spec.path : timm
            guard let t = byName[name] else {
                throw ModelError("tensor '\(name)' is missing from the file (expected shape \(expectedShape(spec, naming, layout)))")
            }
            let want = expectedShape(spec, naming, layout)
            if t.shape != want {
                throw ModelError("tensor '\(name)' has shape \(t.shape), expected \(want) for this model")
            }
            if let bad = t.scalars.firstIndex(where: { !$0.isFinite }) {
                throw ModelError("tensor '\(name)' holds a non-finite value (\(t.scalars[bad]) at flat index \(bad))")
            }
            out[spec.path] = naming == .flax ? t : Self.fromTimm(t, layout, shape: spec.shape)
            used.insert(name)
        }
        if let extra = tensors.first(where: { !used.contains($0.0) }) {
            let hint: String
            if naming == .flax, table[extra.0] == nil, table.values.contains(where: { $0.name == extra.0 }) {
                hint = " (it is a timm name: import with --naming timm)"
            } else if naming == .timm, table[extra.0] != nil {
                hint = " (it is a Flax path: import with --naming flax)"
            } else {
                hint = ""
            }
            throw ModelError("unexpected tensor '\(extra.0)' in the file: this model has no such parameter\(hint)")
        }
        return TensorTree(out)
    }

    func expectedShape(_ spec: ParameterSpec, _ naming: ParameterNaming, _ layout: TimmLayout) -> [Int] {
        guard naming == .timm else { return spec.shape }
        let s = spec.shape
        switch layout {
        case .same: return s
        case .conv: return [s[3], s[2], s[0], s[1]]
        case .dense: return [s[1], s[0]]
        }
    }

    /// Flax layout -> timm layout.
    static func toTimm(_ t: Tensor, _ layout: TimmLayout) -> Tensor {
        switch layout {
        case .same: return t
        case .dense: return transpose2D(t)
        case .conv: return permuted(t, [3, 2, 0, 1])   // HWIO [kh, kw, i, o] -> OIHW [o, i, kh, kw]
        }
    }

    /// timm layout -> Flax layout of `shape`.
    static func fromTimm(_ t: Tensor, _ layout: TimmLayout, shape: [Int]) -> Tensor {
        switch layout {
        case .same: return t
        case .dense: return transpose2D(t)
        case .conv:
            let out = permuted(t, [2, 3, 1, 0])          // OIHW [o, i, kh, kw] -> HWIO [kh, kw, i, o]
            precondition(out.shape == shape, "timm conv \(t.shape) does not fit \(shape)")
            return out
        }
    }

    /// `t` with its axes reordered: output axis `d` is input axis `order[d]`.
    static func permuted(_ t: Tensor, _ order: [Int]) -> Tensor {
        let rank = t.rank
        let shape = order.map { t.shape[$0] }
        var inputStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { inputStrides[d] = inputStrides[d + 1] * t.shape[d + 1] }
        let strides = order.map { inputStrides[$0] }   // the input stride of each output axis
        var out = [Float](repeating: 0, count: t.count)
        var index = [Int](repeating: 0, count: rank)
        t.scalars.withUnsafeBufferPointer { src in
            for o in out.indices {
                var from = 0
                for d in 0..<rank { from += index[d] * strides[d] }
                out[o] = src[from]
                // The next output index, row-major.
                var d = rank - 1
                while d >= 0 {
                    index[d] += 1
                    if index[d] < shape[d] { break }
                    index[d] = 0
                    d -= 1
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    static func transpose2D(_ t: Tensor) -> Tensor {
        let (r, c) = (t.shape[0], t.shape[1])
        var out = [Float](repeating: 0, count: t.count)
        t.scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<r { for j in 0..<c { dst[j * r + i] = src[i * c + j] } }
            }
        }
        return Tensor(shape: [c, r], scalars: out)
    }
}
