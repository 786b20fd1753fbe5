/// The reference oracles: unfused per-layer kernels that the model no
/// longer calls (it runs the fused `residualBranch*`, `biasGELU*` and
/// `geluForwardAndBackward`). Tests check the fused kernels against them bit
/// for bit and KernelBench times them; each is defined beside the layer it
/// computes (`LayerScale.swift`, `DropPath.swift`, `GELU.swift`).
public enum Reference {}
