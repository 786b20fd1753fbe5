import Foundation
import Training

/// A saved session, read and fully checked by `SessionStore.load`.
public struct SavedSession: Sendable {
    /// The session directory.
    public var url: URL
    /// The version directory `CURRENT` names.
    public var version: String
    public var manifest: SessionManifest
    /// The saved state without its data (`makeState()` adds it).
    public var state: WorkbenchState
    /// The saved transcript; image files are full paths inside the session.
    public var transcript: [TranscriptCell]
    /// Bytes of all files of the version.
    public var bytes: Int
    /// Left-overs of interrupted saves that the load removed, if any.
    public var cleaned: String? = nil

    /// The state to make live: the saved one with its data re-made (synthetic)
    /// or re-read (image folders) from the saved source.
    /// - Throws: `SessionError` when the data cannot be loaded (e.g. a folder has moved).
    public func makeState() throws -> WorkbenchState {
        var s = state
        if let d = manifest.data {
            do { s.data = try DataSetup(source: d.source, augment: d.augment, batchSize: d.batchSize) } catch {
                throw SessionError("session '\(manifest.name)': its data could not be loaded: \(error)")
            }
            do { try SessionValidation.checkCursor(s.counters, samples: s.data!.splits.train.count) } catch {
                throw SessionError("session '\(manifest.name)': \(error)")
            }
        }
        return s
    }

    /// A one-line description of the model, e.g. `convnext_tiny` or `convnext 1,1,2,1 x 16,32,48,64`.
    public var modelDescription: String { manifest.modelDescription }
}

extension SessionManifest {
    /// A one-line description of the model, e.g. `convnext_tiny` or `convnext 1,1,2,1 x 16,32,48,64`.
    public var modelDescription: String {
        guard let c = model else { return "no model" }
        if let v = c.variantName { return "convnext_\(v)" }
        return "convnext \(c.depths.map(String.init).joined(separator: ",")) x \(c.dims.map(String.init).joined(separator: ","))"
    }
}
