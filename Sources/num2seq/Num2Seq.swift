import ArgumentParser
import TensorStream
import ToolKit

/// Numbers → sequences: image rows as time steps (MNIST IDX or CSV rows), or
/// sliding windows over a time series for next-value prediction.
struct Num2Seq: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "num2seq",
        abstract: "Turn numbers (IDX images, CSV/TSV rows, a time series) into sequence examples.",
        discussion: """
            Images: each image becomes x [rows, cols] (rows are the time steps), scaled by --scale, \
            with y its label. Time series: windows of --window values, x [W,1] = s[i..<i+W] and \
            y [W,1] = s[i+1...i+W] (next-value targets). .gz inputs are read transparently.

            \(Help.examples([
                "num2seq --idx train-images-idx3-ubyte.gz --idx-labels train-labels-idx1-ubyte.gz > mnist.stream",
                "num2seq --csv mnist_5k.csv.gz --label-column last --shape 28x28 > mnist5k.stream",
                "num2seq --series sine.csv --window 49 --stride 1 > sine.stream",
            ]))
            """,
        version: RecurVersion.line("num2seq"))

    @Option(help: "IDX image file (idx3-ubyte: [N, rows, cols] bytes).") var idx: String?
    @Option(help: "IDX label file (idx1-ubyte) matching --idx.") var idxLabels: String?
    @Option(help: "CSV/TSV file of rows: one image (or vector) per line.") var csv: String?
    @Option(help: "With --csv: which column is the label: a 0-based index, 'first', 'last' or 'none'.")
    var labelColumn: String = "first"
    @Option(help: "With --csv: ROWSxCOLS of each example (default: one row of all values).") var shape: String?
    @Flag(help: "With --csv: the first line is a header.") var header = false
    @Option(help: "Multiply values by this (default: IDX images divided by 255, as torchvision's ToTensor; others unchanged).") var scale: Float?
    @Option(help: "A time series: one number per line, or CSV/TSV with --column.") var series: String?
    @Option(help: "With --series: 0-based column to read.") var column: Int = 0
    @Option(help: "With --series: values per window.") var window: Int = 49
    @Option(help: "With --series: distance between window starts.") var stride: Int = 1
    @Option(help: "Class names in label order, comma-separated (default: the sorted labels seen; IDX: 0…9).")
    var classes: String?
    @OptionGroup var out: OutputOptions

    func validate() throws {
        let modes = [idx != nil, csv != nil, series != nil].filter { $0 }.count
        if modes != 1 { throw ValidationError("give exactly one of --idx, --csv, --series") }
        if idxLabels != nil && idx == nil { throw ValidationError("--idx-labels goes with --idx") }
        if !(1...(1 << 24)).contains(window) || stride < 1 { throw ValidationError("--window must be between 1 and \(1 << 24), --stride at least 1") }
        if column < 0 { throw ValidationError("--column must be at least 0") }
        if let scale, !scale.isFinite { throw ValidationError("--scale must be a finite number") }
        if NumberRow.LabelColumn(labelColumn) == nil { throw ValidationError("--label-column takes an index, first, last or none") }
    }

    func run() throws {
        let writer = StreamWriter(try out.open())
        var meta = StreamMeta()
        meta.addTool(commandLine())
        var n = 0
        if let idx {
            let images = try IDX.read(idx)
            guard images.dims.count == 3 else { throw ToolError("\(idx): expected 3 dimensions [N, rows, cols], found \(images.dims)") }
            let (count, rows, cols) = (images.dims[0], images.dims[1], images.dims[2])
            var labels: [UInt8]? = nil
            if let idxLabels {
                let l = try IDX.read(idxLabels)
                guard l.dims == [count] else { throw ToolError("\(idxLabels): \(l.dims) labels for \(count) images") }
                labels = Array(l.bytes)
            }
            let names = try classes.map { try classList(given: $0, seen: []) } ?? (labels.map { Set($0).sorted().map { String($0) } } ?? [])
            meta.task = labels == nil ? nil : "classify"
            if labels != nil { meta.classes = names }
            meta.features = cols
            try writer.write(meta.record)
            for i in 0..<count {
                // default: x / 255, as torchvision's ToTensor
                let start = images.bytes.startIndex + i * rows * cols
                let px = images.bytes[start..<(start + rows * cols)].map { b in scale.map { Float(b) * $0 } ?? Float(b) / 255 }
                var r = Record(kind: .example, metadata: ["id": "\(idx):\(i)"], tensors: [("x", StreamTensor(px, shape: [rows, cols]))])
                if let labels {
                    guard let c = names.firstIndex(of: String(labels[i])) else {
                        throw ToolError("\(idxLabels!): label \(labels[i]) of image \(i) is not among the classes")
                    }
                    r["y"] = StreamTensor([Int32(c)], shape: [1])
                }
                try writer.write(r)
                n += 1
            }
        } else if let csv {
            var lines = TextLines(try openInputs([csv]))
            var rows = [(values: [Float], label: String?, place: String)]()
            var first = true
            guard let column = NumberRow.LabelColumn(labelColumn) else { throw ValidationError("--label-column takes an index, first, last or none") }
            while let line = try lines.nextLine() {
                if first && header { first = false; continue }
                first = false
                guard let row = try NumberRow(line.text, label: column, place: line.place) else { continue }
                if let w = rows.first?.values.count, row.values.count != w {
                    throw ToolError("\(line.place): \(row.values.count) values, the first row has \(w)")
                }
                rows.append((row.values, row.label, line.place))
            }
            let dims = try parseShape(rows.first?.values.count ?? 0)
            let labelled = labelColumn != "none"
            let names = try classList(given: classes, seen: Set(rows.compactMap(\.label)))
            if labelled { meta.task = "classify"; meta.classes = names }
            meta.features = dims[1]
            try writer.write(meta.record)
            let s = scale ?? 1
            for r in rows {
                guard r.values.count == dims[0] * dims[1] else {
                    throw ToolError("\(r.place): \(r.values.count) values, expected \(dims[0] * dims[1])")
                }
                let scaled = r.values.map { $0 * s }
                guard scaled.allSatisfy(\.isFinite) else { throw ToolError("\(r.place): a value times --scale \(s) is not finite") }
                var rec = Record(kind: .example, metadata: ["id": r.place],
                                 tensors: [("x", StreamTensor(scaled, shape: dims))])
                if let label = r.label {
                    guard let c = names.firstIndex(of: label) else { throw ToolError("\(r.place): label '\(label)' is not among the classes") }
                    rec["y"] = StreamTensor([Int32(c)], shape: [1])
                }
                try writer.write(rec)
                n += 1
            }
        } else if let series {
            var lines = TextLines(try openInputs([series]))
            var values = [Float]()
            while let line = try lines.nextLine() {
                let fields = line.text.split(whereSeparator: { $0 == "," || $0 == "\t" || $0 == " " || $0 == "\r" })
                if fields.isEmpty { continue }
                guard column < fields.count else { throw ToolError("\(line.place): no column \(column)") }
                guard let v = Float(fields[column]), v.isFinite else {
                    if values.isEmpty && line.number == 1 && Float(fields[column]) == nil { continue }  // a header line
                    throw ToolError("\(line.place): '\(fields[column])' is not a finite number")
                }
                guard (v * (scale ?? 1)).isFinite else { throw ToolError("\(line.place): '\(fields[column])' times --scale is not finite") }
                values.append(v * (scale ?? 1))
            }
            meta.task = "regress"
            meta.features = 1
            try writer.write(meta.record)
            var i = 0
            while i < values.count - window {
                try writer.write(Record(kind: .example, metadata: ["id": "\(series):\(i)"], tensors: [
                    ("x", StreamTensor(Array(values[i..<(i + window)]), shape: [window, 1])),
                    ("y", StreamTensor(Array(values[(i + 1)...(i + window)]), shape: [window, 1])),
                ]))
                n += 1
                let (next, overflow) = i.addingReportingOverflow(stride)
                if overflow { break }
                i = next
            }
        }
        try writer.finish()
        note("num2seq: \(n) examples")
    }

    func parseShape(_ count: Int) throws -> [Int] {
        guard let shape else { return [1, count] }
        let p = shape.lowercased().split(separator: "x").compactMap { Int($0) }
        guard p.count == 2, p[0] > 0, p[1] > 0 else { throw ValidationError("--shape takes ROWSxCOLS, e.g. 28x28") }
        return p
    }
}

extension IDX {
    static func read(_ path: String) throws -> (dims: [Int], bytes: ArraySlice<UInt8>) {
        try parse(try ByteInput(path: path).readAll(), name: path)
    }
}
