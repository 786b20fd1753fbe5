import Datasets
import Foundation
import Models
import SafeTensors
import Tensors

/// The safetensors files cnx exchanges with JAX and with itself — a batch
/// (`forward`, `grad`, `train batch`) and a gradient tree (`optim step`) —
/// read and checked against the model or parameters they go with. Every
/// problem is one line naming the file and the tensor.
public enum ExchangeFiles {
    /// A batch file's "x" [B,H,W,3] (NHWC), checked against `model`, and with
    /// `needLabels` its soft "labels" [B, classes].
    public static func batchInputs(_ url: URL, model: ConvNeXt, needLabels: Bool) throws -> (x: Tensor, labels: Tensor?) {
        let file = try SafeTensorsFile.read(url)
        guard file.names.contains("x") else {
            throw WorkbenchError("\(url.lastPathComponent) has no tensor \"x\" (it has: \(file.names.prefix(8).joined(separator: ", ")))")
        }
        let x = try file.tensor("x")
        try model.validateInput(x)
        guard needLabels else { return (x, nil) }
        guard file.names.contains("labels") else {
            throw WorkbenchError("\(url.lastPathComponent) has no tensor \"labels\" (soft labels [B,\(model.config.classes)])")
        }
        let labels = try file.tensor("labels")
        guard labels.shape == [x.shape[0], model.config.classes] else {
            throw WorkbenchError("labels have shape \(labels.shape); expected [\(x.shape[0]), \(model.config.classes)] for this batch and model")
        }
        try SoftLabels.validate(labels)
        return (x, labels)
    }

    /// `train batch`'s file as a batch: "x" and soft "labels", no sample
    /// indices and no mixing (the train step checks them against the model).
    public static func trainingBatch(_ url: URL) throws -> Batch {
        let file = try SafeTensorsFile.read(url)
        guard file.names.contains("x"), file.names.contains("labels") else {
            throw WorkbenchError("\(url.lastPathComponent) needs tensors \"x\" and \"labels\"")
        }
        return Batch(x: try file.tensor("x"), labels: try file.tensor("labels"), targets: [], indices: [], mix: .none)
    }

    /// A gradient tree for `params` (as `grad --out` writes it): one tensor
    /// per parameter path with the parameter's shape; a "loss" tensor is
    /// ignored, any other name is refused.
    public static func gradients(_ url: URL, for params: TensorTree) throws -> TensorTree {
        let file = try SafeTensorsFile.read(url)
        var grads = TensorTree()
        for path in params.paths {
            guard file.names.contains(path) else {
                throw WorkbenchError("\(url.lastPathComponent) has no gradient for \(path) (\(file.names.count) tensors in the file)")
            }
            let g = try file.tensor(path)
            guard g.shape == params[path]!.shape else {
                throw WorkbenchError("gradient \(path) has shape \(g.shape); the parameter has \(params[path]!.shape)")
            }
            grads[path] = g
        }
        if let extra = file.names.first(where: { $0 != "loss" && params[$0] == nil }) {
            throw WorkbenchError("\(url.lastPathComponent) holds '\(extra)', which is not a parameter of this model")
        }
        return grads
    }
}
