import Tensors

/// `Reference.layerScaleForward` under its old free-function name, for the
/// golden parity tests that check a block's LayerScale output with it.
public func layerScaleForward(_ x: Tensor, gamma: Tensor) -> Tensor {
    Reference.layerScaleForward(x, gamma: gamma)
}
