import JSON

/// What a command returns (DESIGN.md principle 5). Front ends render it: the
/// shell as aligned text for a person, `--json` as one JSON object per command.
/// Tests assert on these values, not on text.
public enum CommandResult: Sendable, Equatable {
    /// Nothing to show.
    case empty
    /// One or more lines of prose.
    case message(String)
    /// Named fields, shown one per line.
    case record(Record)
    /// Rows and columns.
    case table(Table)
    /// A numeric series (loss curve, schedule), shown as a plot or sparkline.
    case series(Series)
    /// An image written to a file (a PNG), optionally drawn in the terminal.
    case image(ImageResult)
    /// Several results shown in order.
    case group([CommandResult])

    /// The JSON form used by `--json` and by transcripts.
    public var json: JSONValue {
        switch self {
        case .empty: return .object([("kind", "empty")])
        case .message(let text): return .object([("kind", "message"), ("text", .string(text))])
        case .record(let r): return r.json
        case .table(let t): return t.json
        case .series(let s): return s.json
        case .image(let i): return i.json
        case .group(let items): return .object([("kind", "group"), ("items", .array(items.map(\.json)))])
        }
    }
}

/// How a value is written as text when its JSON type alone does not say;
/// `--json` keeps the value itself.
public enum CellFormat: Sendable, Equatable {
    /// PRNG key words: an integer word as `0x0000002a`, a two-word list as
    /// `[0x00000000, 0x0000002a]` (`PRNGKey.hexDescription`); `--json` has
    /// the integers. Other values print as usual.
    case keyWords
}

/// Named fields with a title; values keep their types for `--json`.
public struct Record: Sendable, Equatable {
    public var title: String?
    public var fields: [(String, JSONValue)]
    /// Text formats of some fields, by field name (e.g. keys as hex words).
    public var formats: [String: CellFormat] = [:]

    public init(title: String? = nil, _ fields: [(String, JSONValue)], formats: [String: CellFormat] = [:]) {
        self.title = title
        self.fields = fields
        self.formats = formats
    }

    public static func == (a: Record, b: Record) -> Bool {
        a.title == b.title && JSONValue.object(a.fields) == JSONValue.object(b.fields) && a.formats == b.formats
    }

    public subscript(key: String) -> JSONValue? { fields.first { $0.0 == key }?.1 }

    var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("kind", "record")]
        if let title { pairs.append(("title", .string(title))) }
        pairs.append(("fields", .object(fields)))
        return .object(pairs)
    }
}

/// A table: columns with optional units, rows of typed cells, optional totals.
public struct Table: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var name: String
        public var unit: String?
        /// How the column's values are written as text (nil: by their type).
        public var format: CellFormat?
        public init(_ name: String, unit: String? = nil, format: CellFormat? = nil) {
            self.name = name; self.unit = unit; self.format = format
        }
    }
    public var title: String?
    public var columns: [Column]
    public var rows: [[JSONValue]]
    /// A last row of totals, rendered below a rule.
    public var footer: [JSONValue]?

    public init(title: String? = nil, columns: [Column], rows: [[JSONValue]], footer: [JSONValue]? = nil) {
        self.title = title
        self.columns = columns
        self.rows = rows
        self.footer = footer
    }

    var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("kind", "table")]
        if let title { pairs.append(("title", .string(title))) }
        pairs.append(("columns", .array(columns.map { .string($0.name) })))
        pairs.append(("rows", .array(rows.map { .array($0) })))
        if let footer { pairs.append(("footer", .array(footer))) }
        return .object(pairs)
    }
}

/// A series of (x, y) points with labels, optionally with annotations
/// (e.g. "warmup end" at a step).
public struct Series: Sendable, Equatable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var x: [Double]
    public var y: [Double]
    /// Points to mark on a plot: (x, label).
    public var marks: [Mark]
    /// Draw a full plot (true) or a one-line sparkline (false).
    public var plot: Bool
    /// Several labelled curves drawn together (`show loss --compare`); empty
    /// for a single curve. `x` and `y` are then the first curve's.
    public var curves: [Curve] = []

    /// One labelled curve of a comparison.
    public struct Curve: Sendable, Equatable {
        public var label: String
        public var x: [Double]
        public var y: [Double]
        public init(label: String, x: [Double], y: [Double]) {
            precondition(x.count == y.count, "curve x and y lengths differ")
            self.label = label; self.x = x; self.y = y
        }
    }

    /// A comparison of `curves` (at least one).
    public init(title: String, xLabel: String, yLabel: String, curves: [Curve], plot: Bool = true) {
        self.init(title: title, xLabel: xLabel, yLabel: yLabel, x: curves[0].x, y: curves[0].y, plot: plot)
        self.curves = curves
    }

    public struct Mark: Sendable, Equatable {
        public var x: Double
        public var label: String
        public init(x: Double, label: String) { self.x = x; self.label = label }
    }

    public init(title: String, xLabel: String, yLabel: String, x: [Double], y: [Double],
                marks: [Mark] = [], plot: Bool = true) {
        precondition(x.count == y.count, "series x and y lengths differ")
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.x = x
        self.y = y
        self.marks = marks
        self.plot = plot
    }

    var json: JSONValue {
        .object([("kind", "series"), ("title", .string(title)), ("x_label", .string(xLabel)),
                 ("y_label", .string(yLabel)), ("x", .array(x.map { .double($0) })),
                 ("y", .array(y.map { .double($0) })),
                 ("marks", .array(marks.map { .object([("x", .double($0.x)), ("label", .string($0.label))]) }))]
                + (curves.isEmpty ? [] : [("curves", .array(curves.map {
                    .object([("label", .string($0.label)), ("x", .array($0.x.map { .double($0) })), ("y", .array($0.y.map { .double($0) }))])
                }))]))
    }
}

/// An image the command wrote to a PNG file; `pixels` (RGB8, row-major)
/// lets a terminal draw it.
public struct ImageResult: Sendable, Equatable {
    public var title: String
    public var path: String
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(title: String, path: String, width: Int, height: Int, pixels: [UInt8]) {
        self.title = title
        self.path = path
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    var json: JSONValue {
        .object([("kind", "image"), ("title", .string(title)), ("path", .string(path)),
                 ("width", .int(width)), ("height", .int(height))])
    }
}
