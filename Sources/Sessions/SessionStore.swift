import Datasets
import Foundation
import JaxRandom
import Models
import Optimizers
import SafeTensors
import Tensors
import Training
#if canImport(Glibc)
import Glibc
#endif

/// Saves and loads whole sessions: a `WorkbenchState` and its transcript.
///
/// Layout of a session directory:
///
///     NAME/CURRENT                       {"version": "v000003", "manifest_sha256": "…"}
///     NAME/v000003/manifest.json         configs, keys, counters, metrics, transcript, checksums
///     NAME/v000003/params.safetensors    parameters by Flax path
///     NAME/v000003/optimizer.safetensors every optimizer-state leaf (Adam moments, MultiSteps accumulators, counts)
///     NAME/v000003/ema.safetensors       the model EMA's state
///     NAME/v000003/image-C-I.png         PNGs the transcript's commands produced
///
/// A save writes a new version directory completely (every file fsynced),
/// then replaces `CURRENT` atomically (rename), then removes older versions.
/// A crash at any point leaves `CURRENT` naming either the old complete
/// version or the new complete one. A load follows `CURRENT` and checks
/// every size, checksum, shape and count before it returns anything.
public struct SessionStore: Sendable {
    /// The manifest layout this cnx writes and the newest it reads.
    /// 2: the data cursor is a sample offset (`counters.cursor.sample`);
    /// version 1 held a batch index, converted on load with the data's batch size.
    public static let formatVersion = 2
    public static let format = "cnx-session"
    static let pointerName = "CURRENT"
    static let manifestName = "manifest.json"
    static let paramsFile = "params.safetensors"
    static let optimizerFile = "optimizer.safetensors"
    static let emaFile = "ema.safetensors"

    /// The points between the steps of a save (for tests that simulate a crash).
    enum SaveStage: String, Sendable, CaseIterable {
        case versionCreated, paramsWritten, optimizerStateWritten, emaWritten, imagesWritten,
             manifestWritten, pointerSwapped, oldVersionsRemoved
    }

    /// Called after each stage of a save; a throw stops the save right there
    /// without any clean-up, as a crash would.
    var afterStage: (@Sendable (SaveStage) throws -> Void)?

    public init() {}

    /// What a save wrote.
    public struct SaveReport: Sendable {
        public var url: URL
        /// The version directory now current.
        public var version: String
        /// Bytes of all files of the version.
        public var bytes: Int
        public var files: Int
        public var transcriptCells: Int
        /// A stepped step that was in progress and is not part of the save.
        public var droppedPendingStep: String?
        /// Older versions removed after the switch.
        public var removedVersions: Int
        /// Left-overs of interrupted saves removed before this one (see `StaleVersions`).
        public var cleaned: String?
    }

    // MARK: Save

    /// Saves `state` and `transcript` as session `name` in directory `url`
    /// (created if needed). A stepped step in progress (`state.pending`) is
    /// not saved; the report says so.
    @discardableResult
    public func save(_ state: WorkbenchState, transcript: [TranscriptCell], name: String, to url: URL,
                     cnxVersion: String, date: Date = Date()) throws -> SaveReport {
        let fm = FileManager.default
        // Never replace a loadable version with one that cannot be loaded.
        do { try SessionValidation.check(state, data: state.data.map { .init(source: $0.source, augment: $0.augment, batchSize: $0.batchSize) }) } catch {
            throw SessionError("not saved: the live state \(error) (the previous save of '\(name)', if any, is untouched)")
        }
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw SessionError("\(url.path) is a file, not a session directory: choose another name") }
            let entries = try fm.contentsOfDirectory(atPath: url.path)
            let foreign = entries.filter { $0 != Self.pointerName && Self.versionNumber($0) == nil && !$0.hasPrefix(".") }
            if !entries.contains(Self.pointerName) && !foreign.isEmpty {
                throw SessionError("\(url.path) exists and is not a cnx session (it holds '\(foreign.sorted()[0])' and no CURRENT file): choose another name")
            }
        } else {
            do { try fm.createDirectory(at: url, withIntermediateDirectories: true) } catch {
                throw SessionError("cannot create \(url.path): \(error.localizedDescription)")
            }
            Self.syncDirectory(url.deletingLastPathComponent())
        }
        // One save or load of this session at a time (other processes wait).
        let lock = SessionLock(url)
        defer { withExtendedLifetime(lock) {} }
        let stale = StaleVersions.clean(url)
        let existing = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
        let number = (existing.compactMap(Self.versionNumber).max() ?? 0) + 1
        guard number <= Self.maxVersion else {
            throw SessionError("session '\(name)' has reached version \(Self.maxVersion): save under a new name")
        }
        let version = String(format: "v%06d", number)
        let dir = url.appendingPathComponent(version)
        do { try fm.createDirectory(at: dir, withIntermediateDirectories: false) } catch {
            throw SessionError("cannot create \(dir.path): \(error.localizedDescription)")
        }
        Self.syncDirectory(url)
        try afterStage?(.versionCreated)

        var files: [SessionManifest.FileRecord] = []
        func write(_ data: Data, _ file: String) throws {
            do { try AtomicFile.write(data, to: dir.appendingPathComponent(file)) } catch {
                throw SessionError("saving session '\(name)' failed while writing \(file): \(error)")
            }
            files.append(.init(name: file, bytes: data.count, sha256: Checksum.sha256(data)))
        }

        var index = SessionManifest.TensorIndex()
        if let params = state.params {
            let data = try SafeTensorsFile.encode(params.map { ($0.key, SafeTensorsValue.float32($0.value)) },
                                                  metadata: ["format": Self.format, "content": "params"])
            try write(data, Self.paramsFile)
            index.params = params.paths
        }
        try afterStage?(.paramsWritten)
        if let s = state.optimizerState {
            index.optimizerState = try writeState(s, Self.optimizerFile, content: "optimizer_state", write)
        }
        try afterStage?(.optimizerStateWritten)
        if let s = state.emaState {
            index.emaState = try writeState(s, Self.emaFile, content: "ema_state", write)
        }
        try afterStage?(.emaWritten)

        // Copy the transcript's PNGs into the session so it stands alone.
        var cells = transcript
        for c in cells.indices {
            var kept: [TranscriptImage] = []
            for (i, image) in cells[c].images.enumerated() {
                guard let png = fm.contents(atPath: image.file) else { continue }  // gone since: the text still names it
                let file = "image-\(cells[c].number)-\(i + 1).png"
                try write(png, file)
                kept.append(TranscriptImage(title: image.title, file: file))
            }
            cells[c].images = kept
        }
        try afterStage?(.imagesWritten)

        let dropped = state.pending.map { "step \($0.step) at stage '\($0.stage.rawValue)'" }
        let manifest = SessionManifest(
            format: Self.format, formatVersion: Self.formatVersion, cnxVersion: cnxVersion, created: date, name: name,
            model: state.modelConfig, optimizer: state.optimizer,
            data: state.data.map { .init(source: $0.source, augment: $0.augment, batchSize: $0.batchSize) },
            keys: state.keys, counters: state.counters, history: state.history, evaluations: state.evaluations,
            tensors: index, droppedPendingStep: dropped, transcript: cells, files: files)
        let manifestData: Data
        do { manifestData = try SessionJSON.encoder().encode(manifest) } catch {
            throw SessionError("saving session '\(name)' failed: the manifest could not be encoded: \(error)")
        }
        do { try AtomicFile.write(manifestData, to: dir.appendingPathComponent(Self.manifestName)) } catch {
            throw SessionError("saving session '\(name)' failed while writing manifest.json: \(error)")
        }
        try afterStage?(.manifestWritten)

        // The switch: one atomic rename makes the new version current.
        let pointer = SessionPointer(format: Self.format, version: version, manifestSHA256: Checksum.sha256(manifestData))
        do {
            try AtomicFile.write(try SessionJSON.encoder().encode(pointer), to: url.appendingPathComponent(Self.pointerName))
        } catch {
            throw SessionError("saving session '\(name)' failed while switching CURRENT to \(version): \(error) (the previous version is still current)")
        }
        try afterStage?(.pointerSwapped)

        // Prune: re-read CURRENT first and never remove the version it names.
        var removed = 0
        if let current = try? StaleVersions.currentVersion(url) {
            for entry in (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
            where entry != version && entry != current && Self.versionNumber(entry) != nil {
                if (try? fm.removeItem(at: url.appendingPathComponent(entry))) != nil { removed += 1 }
            }
        }
        try afterStage?(.oldVersionsRemoved)

        return SaveReport(url: url, version: version, bytes: files.reduce(manifestData.count) { $0 + $1.bytes },
                          files: files.count + 1, transcriptCells: cells.count, droppedPendingStep: dropped,
                          removedVersions: removed, cleaned: stale.isEmpty ? nil : StaleVersions.describe(stale))
    }

    /// Writes an optimizer state's leaves (counts as int32 scalars) and returns their index.
    private func writeState(_ state: OptimizerState, _ file: String, content: String,
                       _ write: (Data, String) throws -> Void) throws -> SessionManifest.LeafIndex {
        let leaves = state.flattened()
        var counts = 0, tensors = 0, scalars = 0
        let values: [(String, SafeTensorsValue)] = leaves.map { name, leaf in
            switch leaf {
            case .count(let c):
                counts += 1
                return (name, .int32(shape: [], values: [c]))
            case .tensor(let t):
                tensors += 1
                scalars += t.count
                return (name, .float32(t))
            }
        }
        try write(try SafeTensorsFile.encode(values, metadata: ["format": Self.format, "content": content]), file)
        return .init(names: leaves.map(\.name), counts: counts, tensors: tensors, scalars: scalars)
    }

    // MARK: Load

    /// Reads and checks the session in `url`: the pointer, the manifest's
    /// checksum, format version and shape, every file's size and SHA-256,
    /// every tensor against the model config, the optimizer and EMA state
    /// against the optimizer config. Nothing is returned unless all of it holds.
    /// - Parameter name: how the person named it, for messages.
    public func load(_ url: URL, name: String) throws -> SavedSession {
        func fail(_ what: String) -> SessionError { SessionError("session '\(name)': \(what)") }
        let fm = FileManager.default
        // Under the lock: no save of this session is half-way while we read or clean.
        var lock: SessionLock?
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue { lock = SessionLock(url) }
        defer { withExtendedLifetime(lock) {} }
        let (version, manifest, manifestBytes) = try readManifest(url, name: name)
        let stale = lock == nil ? [] : StaleVersions.clean(url)
        let dir = url.appendingPathComponent(version)

        // Every file: present, the recorded size, the recorded SHA-256.
        var contents: [String: Data] = [:]
        for file in manifest.files {
            guard !file.name.isEmpty, !file.name.contains("/"), file.name != "..", file.name != "." else {
                throw fail("manifest.json lists a file named '\(file.name)', which is not a plain file name")
            }
            guard let data = fm.contents(atPath: dir.appendingPathComponent(file.name).path) else {
                throw fail("\(file.name) is missing from \(version)")
            }
            guard data.count == file.bytes else {
                throw fail("\(file.name) is \(data.count) bytes but the manifest records \(file.bytes) (\(data.count < file.bytes ? "truncated" : "grown")): the file is damaged")
            }
            guard Checksum.sha256(data) == file.sha256 else {
                throw fail("\(file.name) does not match its SHA-256 in the manifest: the file is damaged or was modified")
            }
            contents[file.name] = data
        }
        func tensorFile(_ file: String) throws -> SafeTensorsFile {
            guard let data = contents[file] else { throw fail("the manifest lists tensors in \(file) but not the file itself") }
            do { return try SafeTensorsFile(data: data, source: file) } catch { throw fail("\(error)") }
        }

        var state = WorkbenchState()
        state.keys = manifest.keys
        state.counters = manifest.counters
        state.history = manifest.history
        state.evaluations = manifest.evaluations
        if let legacy = manifest.counters.cursor.legacyBatch {
            // Written when the cursor was a batch index: the same place as a sample offset.
            let (sample, overflow) = legacy.multipliedReportingOverflow(by: manifest.data?.batchSize ?? 0)
            state.counters.cursor = DataCursor(epoch: manifest.counters.cursor.epoch, sample: overflow ? -1 : sample)
        }

        var model: ConvNeXt?
        if let config = manifest.model {
            do { model = try ConvNeXt(config: config) } catch { throw fail("the saved model config is invalid: \(error)") }
            state.modelConfig = config
        }
        if let names = manifest.tensors.params {
            guard let model else { throw fail("params.safetensors is listed but the manifest has no model config") }
            let file = try tensorFile(Self.paramsFile)
            try checkNames(file, names, Self.paramsFile, fail)
            var params = TensorTree()
            for path in names {
                guard file.entry(path)?.dtype == .f32 else { throw fail("params.safetensors: tensor '\(path)' is not float32") }
                do { params[path] = try file.tensor(path) } catch { throw fail("\(error)") }
            }
            do { try model.validateParameters(params) } catch { throw fail("params.safetensors: \(error)") }
            state.params = params
        }
        if let optimizer = manifest.optimizer {
            do { try optimizer.validate() } catch { throw fail("the saved optimizer settings are invalid: \(error)") }
            state.optimizer = optimizer
        }
        if let leaves = manifest.tensors.optimizerState {
            guard let params = state.params, let optimizer = state.optimizer else {
                throw fail("optimizer.safetensors is listed but the session has no parameters or optimizer settings")
            }
            let template: OptimizerState
            do { template = try optimizer.transformation().initialize(params) } catch { throw fail("\(error)") }
            state.optimizerState = try restore(template, from: try tensorFile(Self.optimizerFile), leaves, Self.optimizerFile, fail)
        }
        if let leaves = manifest.tensors.emaState {
            guard let params = state.params, let ema = state.optimizer?.ema else {
                throw fail("ema.safetensors is listed but the session has no parameters or no --ema setting")
            }
            state.emaState = try restore(ema.initialize(params), from: try tensorFile(Self.emaFile), leaves, Self.emaFile, fail)
        }
        var transcript = manifest.transcript
        for c in transcript.indices {
            for image in transcript[c].images where contents[image.file] == nil {
                throw fail("transcript cell \(transcript[c].number) names image '\(image.file)', which the manifest does not list")
            }
            transcript[c].images = transcript[c].images.map { TranscriptImage(title: $0.title, file: dir.appendingPathComponent($0.file).path) }
        }
        do { try SessionValidation.check(state, data: manifest.data) } catch { throw fail("\(error)") }
        return SavedSession(url: url, version: version, manifest: manifest, state: state, transcript: transcript,
                            bytes: manifest.files.reduce(manifestBytes) { $0 + $1.bytes },
                            cleaned: stale.isEmpty ? nil : StaleVersions.describe(stale))
    }

    /// Follows `CURRENT` and reads the manifest it names: checks the
    /// pointer, the manifest's format version, its SHA-256 and its shape (not
    /// the other files). Returns the version directory's name, the manifest
    /// and the manifest's size in bytes.
    public func readManifest(_ url: URL, name: String) throws -> (version: String, manifest: SessionManifest, bytes: Int) {
        func fail(_ what: String) -> SessionError { SessionError("session '\(name)': \(what)") }
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else {
            throw fail("not found (no directory \(url.path)); `session list` shows the saved ones")
        }
        guard let pointerData = fm.contents(atPath: url.appendingPathComponent(Self.pointerName).path) else {
            throw fail("\(url.path) has no CURRENT file: it is not a saved cnx session (or its first save never finished)")
        }
        let pointer: SessionPointer
        do { pointer = try SessionJSON.decoder().decode(SessionPointer.self, from: pointerData) } catch {
            throw fail("CURRENT is damaged (\(SessionJSON.describe(error))); the session cannot be found")
        }
        guard Self.versionNumber(pointer.version) != nil else {
            throw fail("CURRENT names '\(pointer.version)', which is not a version directory (expected v000001 …)")
        }
        let dir = url.appendingPathComponent(pointer.version)
        guard let manifestData = fm.contents(atPath: dir.appendingPathComponent(Self.manifestName).path) else {
            throw fail("\(pointer.version)/manifest.json is missing")
        }

        // Format version first, so a newer cnx's session is named as such.
        let probe: ManifestProbe
        do { probe = try SessionJSON.decoder().decode(ManifestProbe.self, from: manifestData) } catch {
            if Checksum.sha256(manifestData) != pointer.manifestSHA256 {
                throw fail("manifest.json does not match its checksum in CURRENT (damaged or edited) and is unreadable: \(SessionJSON.describe(error))")
            }
            throw fail("manifest.json is unreadable: \(SessionJSON.describe(error))")
        }
        guard probe.format == Self.format else { throw fail("manifest.json has format '\(probe.format)', expected '\(Self.format)'") }
        guard probe.formatVersion <= Self.formatVersion else {
            throw fail("it was written in session format version \(probe.formatVersion) (by cnx \(probe.cnxVersion ?? "?")); this cnx reads format version \(Self.formatVersion) and older: upgrade cnx to load it")
        }
        guard probe.formatVersion >= 1 else { throw fail("manifest.json has format version \(probe.formatVersion); versions start at 1") }
        guard Checksum.sha256(manifestData) == pointer.manifestSHA256 else {
            throw fail("manifest.json does not match its checksum in CURRENT (damaged or edited)")
        }
        do {
            return (pointer.version, try SessionJSON.decoder().decode(SessionManifest.self, from: manifestData), manifestData.count)
        } catch {
            throw fail("manifest.json is unreadable: \(SessionJSON.describe(error))")
        }
    }

    /// The tensor names in `file` must be exactly `names`.
    private func checkNames(_ file: SafeTensorsFile, _ names: [String], _ fileName: String,
                            _ fail: (String) -> SessionError) throws {
        let listed = Set(names)
        if let missing = names.first(where: { !file.contains($0) }) {
            throw fail("\(fileName) is missing tensor '\(missing)'")
        }
        if let extra = file.names.first(where: { !listed.contains($0) }) {
            throw fail("\(fileName) holds tensor '\(extra)', which the manifest does not list")
        }
    }

    /// An optimizer state shaped like `template` with every leaf from `file`.
    private func restore(_ template: OptimizerState, from file: SafeTensorsFile, _ index: SessionManifest.LeafIndex,
                         _ fileName: String, _ fail: (String) -> SessionError) throws -> OptimizerState {
        try checkNames(file, index.names, fileName, fail)
        var leaves: [String: OptimizerStateLeaf] = [:]
        for name in index.names {
            guard let entry = file.entry(name) else { throw fail("\(fileName) is missing tensor '\(name)'") }
            do {
                switch entry.dtype {
                case .i32:
                    let (shape, values) = try file.int32s(name)
                    guard shape.isEmpty, values.count == 1 else {
                        throw fail("\(fileName): counter '\(name)' has shape \(shape), expected a scalar")
                    }
                    leaves[name] = .count(values[0])
                case .f32:
                    leaves[name] = .tensor(try file.tensor(name))
                default:
                    throw fail("\(fileName): tensor '\(name)' has dtype \(entry.dtype.rawValue), expected F32 or I32")
                }
            } catch let e as SessionError { throw e } catch { throw fail("\(error)") }
        }
        do { return try template.restored(from: leaves) } catch { throw fail("\(fileName): \(error)") }
    }

    // MARK: List

    /// One saved session, for `session list`.
    public struct Listing: Sendable {
        public var name: String
        public var url: URL
        /// nil when the manifest could not be read; then `problem` says why.
        public var manifest: SessionManifest?
        /// Bytes of all files of the current version.
        public var bytes: Int
        public var problem: String?
    }

    /// Every session directory under `directory`, sorted by name. Reads each
    /// manifest (checked against its SHA-256), not the tensors: `load` checks those.
    public func list(in directory: URL) -> [Listing] {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: directory.path) else { return [] }
        return entries.sorted().compactMap { entry -> Listing? in
            let url = directory.appendingPathComponent(entry)
            var isDir: ObjCBool = false
            guard !entry.hasPrefix("."), fm.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else { return nil }
            do {
                let (_, manifest, bytes) = try readManifest(url, name: entry)
                return Listing(name: entry, url: url, manifest: manifest, bytes: manifest.files.reduce(bytes) { $0 + $1.bytes }, problem: nil)
            } catch {
                return Listing(name: entry, url: url, manifest: nil, bytes: 0, problem: String(describing: error))
            }
        }
    }

    // MARK: Helpers

    /// The highest version number a save writes.
    static let maxVersion = 999_999_999

    /// `v000012` → 12, `v1000000` → 1000000 (any width up to 9 digits); anything else → nil.
    static func versionNumber(_ name: String) -> Int? {
        guard (2...10).contains(name.count), name.hasPrefix("v") else { return nil }
        let digits = name.dropFirst()
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// fsync a directory so a new entry in it is durable.
    static func syncDirectory(_ url: URL) {
        let fd = open(url.path, O_RDONLY)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }
}
