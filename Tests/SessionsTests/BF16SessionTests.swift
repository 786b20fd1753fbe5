import Foundation
import Models
import Tensors
import Training
import XCTest
@testable import Sessions

/// Sessions keep the model dtype (issue 16); sessions saved before it existed load as float32.
final class BF16SessionTests: XCTestCase {
    func testRoundTripKeepsTheDtypeAndTheBF16Gamma() throws {
        var s = try smallState()
        s.modelConfig!.dtype = .bf16
        s.params = try s.requireModel().heldParameters(s.params!)
        try TrainEngine.trainStep(&s)
        for quirk in [true, false] {
            var state = s
            state.modelConfig!.bf16LayerScale = quirk
            let dir = try scratchDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            try SessionStore().save(state, transcript: [], name: "b", to: dir.appendingPathComponent("b"), cnxVersion: "test")
            let loaded = try SessionStore().load(dir.appendingPathComponent("b"), name: "b")
            XCTAssertEqual(loaded.state.modelConfig?.dtype, .bf16)
            XCTAssertEqual(loaded.state.modelConfig?.bf16LayerScale, quirk)
            XCTAssertEqual(loaded.state.params, state.params)
            // Training continues the same way after the load.
            var a = state, b = try loaded.makeState()
            try TrainEngine.trainStep(&a)
            try TrainEngine.trainStep(&b)
            XCTAssertEqual(a.params, b.params)
        }
    }

    func testAConfigWithoutDtypeLoadsAsFloat32() throws {
        let old = #"{"depths":[1,1,2,1],"dims":[16,32,48,64],"classes":10,"imageSize":32,"kernelSize":7,"dropPathRate":0.1,"headDropout":0,"layerScaleInit":1e-06,"layerNormEpsilon":1e-06}"#
        let config = try JSONDecoder().decode(ConvNeXtConfig.self, from: Data(old.utf8))
        XCTAssertEqual(config.dtype, .f32)
        XCTAssertFalse(config.layerScaleIsBF16)
        let back = try JSONDecoder().decode(ConvNeXtConfig.self, from: JSONEncoder().encode(config))
        XCTAssertEqual(back, config)
    }
}
