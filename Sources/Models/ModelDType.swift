/// The model's compute dtype (Flax's module `dtype`; docs/bf16.md).
///
/// Parameters, optimizer state, EMA and metrics are float32 either way
/// (except LayerScale γ with the seed's quirk, `ConvNeXtConfig.bf16LayerScale`).
public enum ModelDType: String, Codable, Sendable, CaseIterable {
    /// float32 everywhere (the default).
    case f32
    /// bfloat16 activations: inputs and kernels rounded to bf16 for the convs
    /// and Dense layers (float32 accumulation, bf16 result), LayerNorm
    /// statistics in float32 with a bf16 output, logits cast to float32 for the loss.
    case bf16

    /// The name Flax/JAX gives it.
    public var jaxName: String { self == .f32 ? "float32" : "bfloat16" }
}
