import Foundation

/// The JSON coders sessions use: snake_case keys, non-finite numbers as strings.
enum SessionJSON {
    static func encoder(pretty: Bool = true) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        e.dateEncodingStrategy = .iso8601
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        d.dateDecodingStrategy = .iso8601
        return d
    }

    /// A decoding error as one line: which field and what is wrong with it.
    static func describe(_ error: Error) -> String {
        func path(_ keys: [CodingKey]) -> String {
            let p = keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "the top level" : "'\(p)'"
        }
        switch error {
        case let DecodingError.keyNotFound(key, context):
            return "missing field \(path(context.codingPath + [key]))"
        case let DecodingError.typeMismatch(type, context):
            return "field \(path(context.codingPath)) is not a \(type)"
        case let DecodingError.valueNotFound(type, context):
            return "field \(path(context.codingPath)) is null, expected a \(type)"
        case let DecodingError.dataCorrupted(context):
            if context.codingPath.isEmpty { return "not valid JSON" }
            return "field \(path(context.codingPath)): \(context.debugDescription)"
        default:
            return String(describing: error)
        }
    }
}
