import Tensors

extension ConvNeXt {
    /// Whether the parameter at `path` is held in bfloat16: LayerScale γ of a
    /// bf16 model with the seed's quirk on (`ConvNeXtConfig.bf16LayerScale`).
    /// Every other parameter is float32.
    public func isHeldInBF16(_ path: String) -> Bool {
        config.layerScaleIsBF16 && path.hasSuffix("/\(Module.layerScale)/scale")
    }

    /// The parameters as the model holds them: γ rounded to bfloat16 where
    /// `isHeldInBF16`, everything else unchanged. Applied after init and
    /// import; the optimizer keeps γ bf16 itself (Training's
    /// `DeclaredOptimizer` gives it these paths as its bf16 leaves).
    public func heldParameters(_ params: TensorTree) -> TensorTree {
        guard config.layerScaleIsBF16 else { return params }
        return params.map { path, t in isHeldInBF16(path) ? t.roundedToBF16() : t }
    }
}
