/// Strict number parsing for command arguments: decimal integers and floats
/// with optional sign and exponent (`1e-4`, `-3.5`, `4E+2`, `1_000` is rejected).
enum NumberParsing {
    static func int(_ text: String) -> Int? {
        if let v = Int(text) { return v }
        // Accept integral values written with an exponent or ".0": "1e3", "16.0".
        if let d = double(text), d.rounded() == d, abs(d) < 9.0e18 { return Int(d) }
        return nil
    }

    static func double(_ text: String) -> Double? {
        let allowed = Set("0123456789+-.eE")
        guard !text.isEmpty, text.allSatisfy({ allowed.contains($0) }) else {
            let lower = text.lowercased()
            if lower == "inf" || lower == "+inf" { return .infinity }
            if lower == "-inf" { return -.infinity }
            return nil
        }
        return Double(text)
    }
}
