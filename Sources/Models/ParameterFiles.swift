import Foundation
import Tensors
import SafeTensors

extension ConvNeXt {
    /// Writes `params` to a safetensors file (atomically) with Flax or timm names.
    /// - Throws: `ModelError` if `params` does not fit the model, or the file error.
    public func saveParameters(_ params: TensorTree, naming: ParameterNaming, to url: URL,
                               metadata: [String: String] = [:]) throws {
        var meta = metadata
        meta["naming"] = naming.rawValue
        if let name = config.variantName { meta["variant"] = "convnext_\(name)" }
        meta["dtype"] = config.dtype.jaxName
        // γ of a bf16 model with the seed's quirk is written as BF16 (as Flax holds it); all else float32.
        let table = timmTable()
        let bf16Names = Set(parameterSpecs().filter { isHeldInBF16($0.path) }.map { naming == .flax ? $0.path : table[$0.path]!.0 })
        let values = try exportParameters(params, naming: naming).map { name, t in
            (name, bf16Names.contains(name) ? SafeTensorsValue.bfloat16(t) : .float32(t))
        }
        try SafeTensorsFile.write(values: values, metadata: meta, to: url)
    }

    /// Reads a parameter tree from a safetensors file with Flax or timm
    /// names, validated against this model before it is returned (the caller's
    /// live parameters stay untouched on any error).
    /// - Throws: the file's error, or `ModelError` naming the first missing,
    ///   extra, mis-shaped or non-float tensor.
    public func loadParameters(from url: URL, naming: ParameterNaming) throws -> TensorTree {
        let file = try SafeTensorsFile.read(url)
        var tensors: [(String, Tensor)] = []
        tensors.reserveCapacity(file.names.count)
        for name in file.names {
            do {
                tensors.append((name, try file.tensor(name)))
            } catch {
                throw ModelError("tensor '\(name)' in \(url.lastPathComponent) is not a float tensor (\(error))")
            }
        }
        return heldParameters(try importParameters(tensors, naming: naming))
    }
}
