import Foundation
import JaxRandom
import Models
import SafeTensors
import Tensors
import XCTest
@testable import Training

/// Batch and gradient files are checked against the model or parameters
/// they go with, each problem one line naming the file and the tensor.
final class ExchangeFilesTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cnx-exchange-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func write(_ name: String, _ tensors: [(String, Tensor)]) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try SafeTensorsFile.write(tensors, metadata: [:], to: url)
        return url
    }

    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    let model = try! ConvNeXt(config: ConvNeXtConfig(depths: [1, 1, 1, 1], dims: [8, 16, 24, 32], classes: 3, imageSize: 32))
    let x = Tensor(repeating: 0.5, shape: [2, 32, 32, 3])
    let labels = Tensor(shape: [2, 3], scalars: [1, 0, 0, 0, 0.5, 0.5])

    func testBatchInputsAreCheckedAgainstTheModel() throws {
        let good = try write("good.safetensors", [("x", x), ("labels", labels)])
        let read = try ExchangeFiles.batchInputs(good, model: model, needLabels: true)
        XCTAssertEqual(read.x, x)
        XCTAssertEqual(read.labels, labels)
        XCTAssertNil(try ExchangeFiles.batchInputs(good, model: model, needLabels: false).labels)

        let noX = try write("nox.safetensors", [("labels", labels)])
        XCTAssertEqual(message { try ExchangeFiles.batchInputs(noX, model: model, needLabels: false) },
                       "nox.safetensors has no tensor \"x\" (it has: labels)")
        let onlyX = try write("onlyx.safetensors", [("x", x)])
        XCTAssertEqual(message { try ExchangeFiles.batchInputs(onlyX, model: model, needLabels: true) },
                       "onlyx.safetensors has no tensor \"labels\" (soft labels [B,3])")
        let wrongClasses = try write("wrong.safetensors", [("x", x), ("labels", Tensor(repeating: 0.25, shape: [2, 4]))])
        XCTAssertEqual(message { try ExchangeFiles.batchInputs(wrongClasses, model: model, needLabels: true) },
                       "labels have shape [2, 4]; expected [2, 3] for this batch and model")
        let notSoft = try write("hard.safetensors", [("x", x), ("labels", Tensor(shape: [2, 3], scalars: [1, 1, 0, 0, 0, 1]))])
        XCTAssertTrue(message { try ExchangeFiles.batchInputs(notSoft, model: model, needLabels: true) }.contains("sum"))
        let nchw = try write("nchw.safetensors", [("x", Tensor(repeating: 0, shape: [2, 3, 32, 32]))])
        XCTAssertTrue(message { try ExchangeFiles.batchInputs(nchw, model: model, needLabels: false) }.contains("expected NHWC"))
    }

    func testTrainingBatchNeedsXAndLabels() throws {
        let good = try write("good.safetensors", [("x", x), ("labels", labels)])
        let batch = try ExchangeFiles.trainingBatch(good)
        XCTAssertEqual(batch.x, x)
        XCTAssertEqual(batch.labels, labels)
        XCTAssertEqual(batch.targets, [])
        let onlyX = try write("onlyx.safetensors", [("x", x)])
        XCTAssertEqual(message { try ExchangeFiles.trainingBatch(onlyX) }, "onlyx.safetensors needs tensors \"x\" and \"labels\"")
    }

    func testGradientsMustMatchTheParameters() throws {
        let params = model.initialize(paramsKey: PRNGKey(seed: 0))
        let paths = params.paths
        let full = paths.map { ($0, Tensor(repeating: 0.1, shape: params[$0]!.shape)) }
        let good = try write("grads.safetensors", full + [("loss", Tensor(scalar: 1))])
        let grads = try ExchangeFiles.gradients(good, for: params)
        XCTAssertEqual(grads.paths, paths)
        XCTAssertEqual(grads[paths[0]], full[0].1)

        let missing = try write("missing.safetensors", Array(full.dropFirst()))
        XCTAssertEqual(message { try ExchangeFiles.gradients(missing, for: params) },
                       "missing.safetensors has no gradient for \(paths[0]) (\(paths.count - 1) tensors in the file)")
        var reshaped = full
        reshaped[0].1 = Tensor(repeating: 0, shape: [1])
        let badShape = try write("shape.safetensors", reshaped)
        XCTAssertEqual(message { try ExchangeFiles.gradients(badShape, for: params) },
                       "gradient \(paths[0]) has shape [1]; the parameter has \(params[paths[0]]!.shape)")
        let extra = try write("extra.safetensors", full + [("Head/extra", Tensor(scalar: 0))])
        XCTAssertEqual(message { try ExchangeFiles.gradients(extra, for: params) },
                       "extra.safetensors holds 'Head/extra', which is not a parameter of this model")
    }
}
