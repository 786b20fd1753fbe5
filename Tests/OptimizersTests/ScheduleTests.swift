import XCTest
@testable import Optimizers

/// Schedules against optax's own float32 outputs under jit (see OptaxScheduleReference.swift).
final class ScheduleTests: XCTestCase {
    func testSchedulesMatchOptaxBitForBit() throws {
        for c in optaxScheduleExact {
            let s = try c.make()
            var bad: [String] = []
            for (step, bits) in zip(c.steps, c.bits) where s(step).bitPattern != bits {
                bad.append("step \(step): \(s(step)) vs \(Float(bitPattern: bits))")
            }
            XCTAssertEqual(bad.count, 0, "\(c.name) (\(s)): \(bad.prefix(5))")
        }
    }

    func testExponentTwoWithinTwoUlp() throws {
        for c in optaxScheduleApprox {
            let s = try c.make()
            for (step, bits) in zip(c.steps, c.bits) {
                let ref = Float(bitPattern: bits)
                XCTAssertEqual(s(step), ref, accuracy: 2 * ref.ulp + Float.leastNormalMagnitude, "\(c.name) step \(step)")
            }
        }
    }

    func testInvalidSchedulesAreRejected() {
        XCTAssertThrowsError(try Schedule.cosineDecay(initValue: 1, decaySteps: 0))
        XCTAssertThrowsError(try Schedule.warmupCosineDecay(initValue: 0, peakValue: 1, warmupSteps: 10, decaySteps: 10))
        XCTAssertThrowsError(try Schedule.exponentialDecay(initValue: 1, transitionSteps: 0, decayRate: 0.5))
        XCTAssertThrowsError(try Schedule.warmupExponentialDecay(initValue: 0, peakValue: 1, warmupSteps: 5, transitionSteps: 10, decayRate: 0))
    }

    func testLandmarksAndDescription() throws {
        let s = try Schedule.warmupCosineDecay(initValue: 0, peakValue: 0.004, warmupSteps: 6260, decaySteps: 93900, endValue: 1e-6)
        XCTAssertEqual(s.landmarks.map(\.step), [6260, 93900])
        XCTAssertEqual(s(6260), Float(0.004))
        XCTAssertTrue(s.description.contains("warmup 6260"))
    }
}
