import JaxRandom
import JSON

/// The one way a PRNG key reaches a result: its two words as JSON integers
/// (what `--json` prints), marked `CellFormat.keyWords` so text shows them
/// in hex (`[0x6d3e048f, 0x1022172d]`, as `rng show` does).
enum KeyWords {
    /// `[k0, k1]` as JSON integers.
    static func json(_ key: PRNGKey) -> JSONValue { .array([.int(Int(key.k0)), .int(Int(key.k1))]) }

    /// One word as a JSON integer (a `rng show` column).
    static func json(_ word: UInt32) -> JSONValue { .int(Int(word)) }

    /// The text of `value` in `format`: key words in hex, anything else as `TextRenderer.cell`.
    static func text(_ value: JSONValue, _ format: CellFormat) -> String? {
        switch (format, value) {
        case (.keyWords, .int(let i)):
            return UInt32(exactly: i).map(PRNGKey.hexWord)
        case (.keyWords, .array(let items)) where items.count == 2:
            guard case .int(let a) = items[0], case .int(let b) = items[1],
                  let k0 = UInt32(exactly: a), let k1 = UInt32(exactly: b) else { return nil }
            return PRNGKey(k0, k1).hexDescription
        default:
            return nil
        }
    }
}
