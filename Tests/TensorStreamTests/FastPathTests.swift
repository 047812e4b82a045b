import Foundation
import Testing
@testable import TensorStream
import ToolKit
import TestFiles

/// The byte-level paths the data tools take (records encoded from parts, lines
/// handed out in place, UTF-8 checked on bytes, chunks written in the background)
/// against the plain ones they replace.
@Suite("Stream fast paths")
struct FastPathTests {
    /// The encoding is pinned: a change to it is a change of the stream format.
    @Test func encodingIsPinned() {
        let r = Record(kind: .example, metadata: ["pos": "12", "id": "a\"b\\c\n\u{1}"],
                       tensors: [("x", StreamTensor([Int32(1), 2, 3], shape: [3])), ("y", StreamTensor([Float(0.5), -1], shape: [2, 1]))])
        let bytes = Codec.encode(r)
        let n = bytes.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) }
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        let expected = #"{"__metadata__":{"id":"a\"b\\c\n\u0001","kind":"example","pos":"12"},"#
            + #""x":{"dtype":"I32","shape":[3],"data_offsets":[0,12]},"y":{"dtype":"F32","shape":[2,1],"data_offsets":[12,20]}}"#
        #expect(header.trimmingCharacters(in: .whitespaces) == expected)
        #expect((8 + n) % 8 == 0 && bytes.count == 8 + n + 20)
    }

    /// Records written part by part equal `Codec.encode` of the same record, over
    /// numbers of every length, keys before and after "kind", escapes and dtypes.
    @Test func encoderPartsEqualRecordEncoding() {
        var rng = SystemRandomNumberGenerator()
        let numbers = [0, 7, 9, 10, 99, 100, 101, 999, 1000, 65_536, 1_234_567, 9_999_999_999, Int.max, -5, Int.min + 1]
        let encoder = RecordEncoder()
        for (k, number) in numbers.enumerated() {
            let ids = (0..<(k * 3)).map { _ in Int32.random(in: -1000...1000, using: &rng) }
            let f = (0..<k).map { _ in Float.random(in: -1...1, using: &rng) }
            let prefix = ["", "file.txt:", "dir/\"odd\"\t:", "中文 "][k % 4]
            let record = Record(kind: k % 2 == 0 ? .example : .batch,
                                metadata: ["a": "first", "id": prefix + String(number), "zz": "last\u{7f}"],
                                tensors: [("x", StreamTensor(ids, shape: [ids.count])),
                                          ("f", StreamTensor(f, shape: [1, k, 1])),
                                          ("y", StreamTensor([Int32(k)], shape: [1]))])
            encoder.begin(record.kind)
            encoder.meta("a", "first")
            encoder.meta("id", prefix: prefix, number: number)
            encoder.meta("zz", "last\u{7f}")
            ids.withUnsafeBufferPointer { encoder.tensor("x", $0) }
            f.withUnsafeBytes { encoder.tensor("f", dtype: .f32, shape: [1, k, 1], bytes: $0) }
            encoder.tensor("y", scalar: Int32(k))
            var parts = [UInt8]()
            encoder.end(into: &parts)
            #expect(parts == Codec.encode(record), "number \(number)")
        }
    }

    /// Examples written through record templates (`IDExampleWriter`: ids, ids and a
    /// class, ids and tags; file names changing midway; numbers of every length,
    /// empty ids) equal `Codec.encode` of the same records, one after another.
    @Test func templatesEqualRecordEncoding() throws {
        var rng = SystemRandomNumberGenerator()
        let numbers = [0, 7, 9, 10, 99, 100, 101, 999, 1000, 65_536, 1_234_567, 9_999_999_999, Int.max, -5, Int.min + 1]
        let path = TestFiles.path("templates")
        let out = try ByteOutput(path: path)
        var writer = IDExampleWriter(out)
        var expected = [UInt8]()
        for (k, number) in (numbers + numbers.reversed() + numbers).enumerated() {
            let x = (0..<[0, 1, 3, 40, 300][k % 5]).map { _ in Int32.random(in: -1000...100_000, using: &rng) }
            let tags = x.map { $0 / 2 }
            let file = ["file.txt", "dir/\"odd\"\t", "中文 ", ""][k / 11 % 4]
            var tensors = [("x", StreamTensor(x, shape: [x.count]))]
            switch k % 3 {
            case 0: try x.withUnsafeBufferPointer { try writer.write($0, file: file, line: number) }
            case 1:
                try x.withUnsafeBufferPointer { try writer.write($0, y: Int32(k - 20), file: file, line: number) }
                tensors.append(("y", StreamTensor([Int32(k - 20)], shape: [1])))
            default:
                try x.withUnsafeBufferPointer { x in try tags.withUnsafeBufferPointer { try writer.write(x, tags: $0, file: file, line: number) } }
                tensors.append(("y", StreamTensor(tags, shape: [tags.count])))
            }
            expected += Codec.encode(Record(kind: .example, metadata: ["id": file + ":" + String(number)], tensors: tensors))
        }
        try out.commit()
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == expected)
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `UTF8Text.isValid` agrees with `String(validating:)` on bytes that are
    /// mostly UTF-8 with every kind of damage; decoding agrees with the scalars.
    /// Character counts (ASCII eight bytes at a time over four tables, the rest
    /// decoded) equal a dictionary's count of the same strings' characters.
    @Test func scalarCountsAgreeWithADictionary() {
        var rng = SystemRandomNumberGenerator()
        // U+212B and U+00C5 are one String to a dictionary: their counts add up
        let pieces = ["e", "ee", " ", "the ", "aaaaaaaaaaaaaaaaa", "é", "窗外", "😀", "\u{7f}", "\t", "Zz9", "\u{212B}", "\u{C5}"]
        var counts = ScalarCounts()
        var expected = [String: Int]()
        for _ in 0..<400 {
            let line = (0..<Int.random(in: 0...30, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            var copy = line
            copy.withUTF8 { counts.add(utf8: $0) }
            for c in line.unicodeScalars { expected[String(c), default: 0] += 1 }
        }
        #expect(counts.byCharacter == expected)
    }

    /// Character ids, int32 and bytes (ASCII eight bytes at a time, resumed after other
    /// characters) against a lookup scalar by scalar; some ASCII and some other
    /// characters unknown.
    @Test func characterIDsAgreeWithALookup() {
        var rng = SystemRandomNumberGenerator()
        let vocab = Vocabulary(tokens: ["<pad>", "<unk>", "e", " ", "t", "h", "a", "é", "窗", "😀", "\t", "Z", "9"])
        let table = CharTable(vocab)
        let pieces = ["e", "ee", " ", "the ", "aaaaaaaaaaaaaaaaa", "é", "窗外", "😀", "😃", "\u{7f}", "\t", "Zz9", "quite unknown"]
        for _ in 0..<400 {
            var line = (0..<Int.random(in: 0...30, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let expected = line.unicodeScalars.map { Int32(vocab.tokens.firstIndex(of: String($0)) ?? 1) }
            var unknown = 0
            let ids = line.withUTF8 { table.ids(utf8: $0, unknown: &unknown) }
            #expect(ids == expected, "\(line)")
            #expect(unknown == expected.filter { $0 == 1 }.count)
            var byteUnknown = 0
            #expect(line.withUTF8 { table.byteIDs(utf8: $0, unknown: &byteUnknown) }.map(Int32.init) == expected)
            #expect(byteUnknown == unknown)
        }
    }

    /// Language-model windows over ids held as bytes are the records of the same ids
    /// held as int32 (widened as they are written), at every length and order.
    @Test func byteIDWindowsAreInt32Windows() throws {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<3001).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let wide = bytes.map(Int32.init)
        for steps in [1, 7, 8, 35, 64, 300] { for sampling in LanguageModelWindows.Sampling.allCases {
            let windows = LanguageModelWindows(steps: steps, sampling: sampling, stripes: 3)
            let starts = windows.starts(bytes.count, &rng)
            func written(_ write: (StreamWriter) throws -> Int) throws -> [UInt8] {
                let path = TestFiles.path("windows")
                let writer = StreamWriter(try ByteOutput(path: path))
                #expect(try write(writer) == starts.count)
                try writer.finish()
                return try Array(Data(contentsOf: URL(fileURLWithPath: path)))
            }
            let narrow = try written { try windows.write(bytes, starts: starts, unit: "char", to: $0) }
            let int32 = try written { try windows.write(wide, starts: starts, unit: "char", to: $0) }
            #expect(narrow == int32, "steps \(steps) \(sampling)")
            #expect(!starts.isEmpty && narrow.count > 8 * starts.count * steps)
        } }
    }

    @Test func utf8CheckAgreesWithTheStandardLibrary() {
        var rng = SystemRandomNumberGenerator()
        let pieces: [[UInt8]] = [Array("a".utf8), Array("é".utf8), Array("中".utf8), Array("😀".utf8), Array("abcdefghij".utf8),
                                 [0x80], [0xC0, 0xAF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
                                 [0xF0, 0x9F], [0xFF], [0xC3], [0xEF, 0xBF, 0xBF], [0xF4, 0x8F, 0xBF, 0xBF], [0xC2, 0x80]]
        var valid = 0
        for _ in 0..<5000 {
            var bytes = [UInt8]()
            for _ in 0..<Int.random(in: 0...12, using: &rng) { bytes += pieces.randomElement(using: &rng)! }
            let s = String(validating: bytes, as: UTF8.self)
            let ours = bytes.withUnsafeBufferPointer { UTF8Text.isValid($0) }
            #expect(ours == (s != nil), "\(bytes)")
            if let s, ours {
                valid += 1
                var scalars = [UInt32]()
                bytes.withUnsafeBufferPointer { UTF8Text.forEachScalar($0) { scalars.append($0) } }
                #expect(scalars == s.unicodeScalars.map(\.value))
                #expect(bytes.withUnsafeBufferPointer { UTF8Text.scalarCount($0) } == scalars.count)
            }
        }
        #expect(valid > 100)
    }

    /// Lines handed out in place are the lines `readLine` returns: CRLF, empty lines,
    /// lines longer than the buffer and across its end, a last line without a newline.
    @Test func linesInPlaceEqualReadLine() throws {
        var text = [UInt8]()
        var rng = SystemRandomNumberGenerator()
        for i in 0..<3000 {
            let length = i % 500 == 0 ? 150_000 : Int.random(in: 0...90, using: &rng)
            text += (0..<length).map { _ in UInt8.random(in: 0x20...0x7E, using: &rng) }
            text += i % 3 == 0 ? [13, 10] : [10]
        }
        text += Array("last\r".utf8)
        for input in [text, Array(text.dropLast(5))] {
            var expected = [[UInt8]]()
            let a = try ByteInput(bytes: input)
            while let line = try a.readLine() { expected.append(line) }
            var got = [[UInt8]]()
            try ByteInput(path: tempFile(input)).forEachLine { got.append(Array($0)) }
            #expect(got == expected)
        }
    }

    /// Output larger than many chunks, through the background writer, arrives whole
    /// and in order, to a file and through `flush`, written whole or in place, with
    /// pieces larger than a chunk among them.
    @Test func backgroundWritesKeepOrder() throws {
        let path = TestFiles.path("out")
        let out = try ByteOutput(path: path)
        var expected = [UInt8]()
        for i in 0..<20_000 {
            // pieces of up to 700 bytes, and a few larger than a chunk
            let piece = [UInt8](repeating: UInt8(i % 251), count: i % 5000 == 7 ? 3 * ByteOutput.chunk + i : 1 + (i * 7919) % 700)
            expected += piece
            if i % 3 == 0 { try out.write(piece) } else {
                let p = try out.room(piece.count)
                p.update(from: piece, count: piece.count)
                out.advance(piece.count)
            }
            if i == 10_000 { try out.flush() }
        }
        try out.commit()
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == expected)
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The hand-written header parser against JSONSerialization: the same answer for
/// every header it accepts, on headers as recur and PyTorch write them, reordered,
/// spaced, escaped, and with bytes damaged at random.
@Suite("Header parser")
struct HeaderParserTests {
    typealias Parsed = (kind: RecordKind, meta: [String: String], entries: [Codec.Entry], dataBytes: Int)

    static func same(_ a: Parsed, _ b: Parsed) -> Bool {
        a.kind == b.kind && a.meta == b.meta && a.dataBytes == b.dataBytes && a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { $0.name == $1.name && $0.dtype == $1.dtype && $0.shape == $1.shape && $0.begin == $1.begin && $0.end == $1.end }
    }

    static func headers() -> [String] {
        var out = [String]()
        for r in sampleStream() + [Record(kind: .model, metadata: ["format": "pt"],
                                          tensors: [("rnn.weight_ih_l0", StreamTensor([Float](repeating: 1, count: 12), shape: [4, 3])),
                                                    ("b", StreamTensor([Float](), shape: [0]))])] {
            let bytes = Codec.encode(r)
            let n = bytes.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) }
            out.append(String(decoding: bytes[8..<(8 + n)], as: UTF8.self))
        }
        out += [
            // PyTorch's order: tensors by name, metadata first or last, keys in another order
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt","kind":"model"}}"#,
            #"{ "__metadata__" : { "kind" : "example" , "id" : "x" } , "y" : { "shape" : [ 1 ] , "data_offsets" : [ 4 , 8 ] , "dtype" : "I32" } , "x" : { "data_offsets" : [0,4], "dtype":"F32", "shape":[1,1] } }"#,
            #"{"__metadata__":{"kind":"example","id":"\u00e9\ud83d\ude00\n\t\"\\\/\b\f\r"},"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}"#,
            #"{"__metadata__":{"kind":"example"}}"#,
            #"{}"#,
            #"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            #"{"__metadata__":{"kind":"example","kind":"batch"}}"#,
            #"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#,
            #"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}"#,
            #"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}"#,
            #"{"__metadata__":{"kind":"example","id":"\ud83d"}}"#,
            #"{"__metadata__":{"kind":"example"}} x"#,
            // found in review: a 19-digit number (overflowed), an escaped __metadata__ key
            // (a tensor to the fast parser), control bytes as \u digits
            #"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[9999999999999999999],"data_offsets":[0,4]}}"#,
            #"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}"#,
            #"{"__metadata__":{"kind":"example"},"\u005f_metadata__":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#,
            #"{"\u005f_metadata__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            "{\"__metadata__\":{\"kind\":\"example\",\"id\":\"\\u00\u{14}1\"}}",
            #"{"__metadata__":{"kind":"example","id":"\u00E9\u00e9"}}"#,
            // data not from 0, with a gap, overlapping
            #"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            #"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}"#,
            #"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}}"#,
        ]
        return out
    }

    /// Whatever the fast parser accepts, the general one accepts with the same result;
    /// and whatever the lean example parser (`ExampleHeader`) accepts is an example
    /// to the general parser, with the same id, x and y.
    static func check(_ bytes: [UInt8]) {
        let fast = bytes.withUnsafeBufferPointer { HeaderParser.parse($0, defaultKind: .model) }
        let general = try? Codec.parseGeneralHeader(bytes, where_: "h", defaultKind: .model)
        if let fast {
            #expect(general != nil && same(fast, general!), "\(String(decoding: bytes, as: UTF8.self))")
        }
        // as a record: length, header, then its data
        let record = withUnsafeBytes(of: UInt64(bytes.count).littleEndian, Array.init) + bytes + [UInt8](repeating: 0, count: 64)
        guard let lean = record.withUnsafeBufferPointer(ExampleHeader.parse) else { return }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let g = general, g.kind == .example else {
            Issue.record("the lean parser accepts what the general one refuses: \(text)")
            return
        }
        #expect(lean.recordBytes == 8 + bytes.count + g.dataBytes, "\(text)")
        let id = lean.id.map { r in record.withUnsafeBufferPointer { ExampleHeader.text($0, r) } }
        #expect(id == g.meta["id"], "\(text)")
        for (name, part) in [("x", lean.x), ("y", lean.y)] {
            let e = g.entries.first { $0.name == name }
            #expect(e?.dtype == part?.dtype && e?.shape == part?.shape.array
                    && e.map { (8 + bytes.count + $0.begin)..<(8 + bytes.count + $0.end) } == part?.bytes, "\(name) of \(text)")
        }
    }

    @Test func agreesWithJSONSerialization() {
        var accepted = 0
        for h in Self.headers() {
            let bytes = Array(h.utf8)
            Self.check(bytes)
            if bytes.withUnsafeBufferPointer({ HeaderParser.parse($0, defaultKind: .model) }) != nil { accepted += 1 }
        }
        #expect(accepted >= 8)  // the usual headers take the fast path
        let lean = Self.headers().filter { h in
            let bytes = Array(h.utf8)
            let record = withUnsafeBytes(of: UInt64(bytes.count).littleEndian, Array.init) + bytes + [UInt8](repeating: 0, count: 64)
            return record.withUnsafeBufferPointer(ExampleHeader.parse) != nil
        }
        #expect(lean.count >= 4)  // so do the usual examples
    }

    @Test func damagedHeadersNeverDisagree() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]:,"\ 0123456789.eE-uabcdefkindFI3U8"#.utf8) + [0xC3, 0xA9, 0xFF, 0x0A]
        for h in Self.headers() {
            for _ in 0..<300 {
                var bytes = Array(h.utf8)
                for _ in 0..<Int.random(in: 1...3, using: &rng) where !bytes.isEmpty {
                    let at = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: bytes[at] = alphabet.randomElement(using: &rng)!
                    case 1: bytes.remove(at: at)
                    default: bytes.insert(alphabet.randomElement(using: &rng)!, at: at)
                    }
                }
                Self.check(bytes)
            }
        }
    }
}

@Suite("Example pool")
struct ExamplePoolTests {
    /// Examples of every form batch meets: x of I32, F32, U8 and I64 with and without
    /// feature axes, y a class (I32, F32, U8, I64) or per step, no y, ids plain,
    /// escaped or missing; lengths from 0.
    static func examples(_ rng: inout SystemRandomNumberGenerator) -> [[Record]] {
        var streams = [[Record]]()
        for form in 0..<10 {
            var out = [Record]()
            for k in 0..<23 {
                let t = Int.random(in: 0...(k % 5 == 0 ? 1 : 9), using: &rng)
                let f = form % 4 == 1 ? 3 : 1
                let x: StreamTensor
                switch form % 4 {
                case 0: x = StreamTensor((0..<t).map { _ in Int32.random(in: 0...90, using: &rng) }, shape: [t])
                case 1: x = StreamTensor((0..<(t * f)).map { _ in Float.random(in: -1...1, using: &rng) }, shape: [t, f])
                case 2: x = StreamTensor(shape: [t], values: .u8((0..<t).map { _ in UInt8.random(in: 0...255, using: &rng) }))
                default: x = StreamTensor(shape: [t, 1], values: .i64((0..<t).map { _ in Int64.random(in: -90...90, using: &rng) }))
                }
                var r = Record(kind: .example, metadata: [:], tensors: [("x", x)])
                switch k % 4 {
                case 0: r.metadata["id"] = "f.txt:\(k)"
                case 1: r.metadata["id"] = "a \"quoted\"\t\\ näme \u{1}\(k)"
                case 2: break
                default: r.metadata["id"] = ""
                }
                r.metadata["extra"] = "dropped"
                switch form / 2 {
                case 0: r["y"] = StreamTensor([Int32(k % 3)], shape: [1])
                case 1: r["y"] = StreamTensor([Float(k)], shape: [1])
                case 2: r["y"] = StreamTensor((0..<t).map { Int32($0) }, shape: [t])
                case 3: r["y"] = form % 2 == 0 ? StreamTensor(shape: [1], values: .u8([UInt8(k)])) : StreamTensor(shape: [1], values: .i64([Int64(k) - 5]))
                default: break
                }
                out.append(r)
            }
            streams.append(out)
        }
        return streams
    }

    /// Batches cut from the pool are byte for byte `Padding.batch`'s, for groups of
    /// every size in any order, read from streams whose headers the lean parser reads
    /// and from streams whose headers it leaves to the general one (and with the
    /// headers kept).
    @Test func batchesEqualPadding() throws {
        var rng = SystemRandomNumberGenerator()
        for stream in Self.examples(&rng) {
            for crowded in [false, true] {
                var bytes = Codec.encode(StreamMeta().record)
                for r in stream {
                    // more metadata than the lean parser reads: the general parser's path
                    var r = r
                    if crowded { for k in 0..<9 { r.metadata["k\(k)"] = "\(k)" } }
                    bytes += Codec.encode(r)
                }
                let reader = try StreamReader(try ByteInput(bytes: bytes))
                let pool = ExamplePool(keepsHeaders: crowded)
                while try pool.read(reader) {}
                #expect(pool.count == stream.count)
                #expect(pool.steps == stream.map { $0["x"]!.shape[0] })
                for size in [1, 2, 5, 23] {
                    // every group of one order, one after another into one output (records
                    // of odd length, a U8 class alone, move the next ones off alignment)
                    let order = (0..<stream.count).shuffled(using: &rng)
                    let path = TestFiles.path("pool")
                    let out = try ByteOutput(path: path)
                    var expected = [UInt8]()
                    for start in stride(from: 0, to: order.count, by: size) {
                        let group = Array(order[start..<min(start + size, order.count)])
                        try pool.writeBatch(group, pad: -7, to: out)
                        expected += Codec.encode(try Padding.batch(group.map { stream[$0] }, pad: -7))
                    }
                    try out.commit()
                    let written = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
                    try? FileManager.default.removeItem(atPath: path)
                    #expect(written == expected, "size \(size)")
                }
            }
        }
    }

    /// Compacting keeps the examples asked for, renumbered, and their batches (headers
    /// kept or read again).
    @Test func compactKeepsTheLiveExamples() throws {
        var rng = SystemRandomNumberGenerator()
        let stream = Self.examples(&rng)[4]
        for keeps in [false, true] {
            let reader = try StreamReader(try ByteInput(bytes: encode([StreamMeta().record] + stream)))
            let pool = ExamplePool(keepsHeaders: keeps)
            while try pool.read(reader) {}
            var a = [5, 1, 9], b = [22, 0]
            pool.compact(&a, &b)
            #expect(a == [0, 1, 2] && b == [3, 4] && pool.count == 5)
            #expect(pool.steps == [5, 1, 9, 22, 0].map { stream[$0]["x"]!.shape[0] })
            let path = TestFiles.path("pool")
            let out = try ByteOutput(path: path)
            try pool.writeBatch([3, 0, 4], pad: 0, to: out)
            try out.commit()
            let written = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
            try? FileManager.default.removeItem(atPath: path)
            #expect(written == Codec.encode(try Padding.batch([22, 5, 0].map { stream[$0] }, pad: 0)))
        }
    }

    /// A meta record between two streams is checked and skipped; a batch record is
    /// an error that names it; examples that do not go together are errors from
    /// both paths.
    @Test func otherRecordsAndMismatchesAreErrors() throws {
        let stream = sampleStream()
        let pool = ExamplePool()
        let reader = try StreamReader(try ByteInput(bytes: encode(stream) + encode(stream)))
        while try pool.read(reader) {}
        #expect(pool.count == 4)
        let batch = try Padding.batch([stream[1]], pad: 0)
        let mixed = try StreamReader(try ByteInput(bytes: encode(stream) + Codec.encode(batch)))
        #expect(throws: StreamError.self) { while try pool.read(mixed) {} }
        // x of floats, then x of integers
        let bad = [stream[1], Record(kind: .example, metadata: ["id": "c"], tensors: [("x", StreamTensor([Int32(1)], shape: [1]))])]
        let badPool = ExamplePool()
        let badReader = try StreamReader(try ByteInput(bytes: encode([stream[0]] + bad)))
        while try badPool.read(badReader) {}
        let out = try ByteOutput(path: TestFiles.path("pool"))
        #expect(throws: StreamError.self) { try badPool.writeBatch([0, 1], pad: 0, to: out) }
        #expect(throws: StreamError.self) { try Padding.batch(bad, pad: 0) }
        // per-step y longer than every x
        let long = [Record(kind: .example, tensors: [("x", StreamTensor([Int32(1)], shape: [1])), ("y", StreamTensor([Int32(1), 2], shape: [2]))])]
        let longPool = ExamplePool()
        let longReader = try StreamReader(try ByteInput(bytes: encode([stream[0]] + long + long)))
        while try longPool.read(longReader) {}
        #expect(throws: StreamError.self) { try longPool.writeBatch([0, 1], pad: 0, to: out) }
        #expect(throws: StreamError.self) { try Padding.batch(long + long, pad: 0) }
        // an I64 beyond 32 bits; a per-step y of 0 steps but 2^40 elements a step
        let wide = [Record(kind: .example, tensors: [("x", StreamTensor(shape: [2], values: .i64([1, 1 << 40])))])]
        let huge = [Record(kind: .example, tensors: [("x", StreamTensor([Int32(1)], shape: [1])),
                                                     ("y", StreamTensor([Int32](), shape: [0, 1 << 20, 1 << 20]))])]
        for bad in [wide + wide, huge + huge] {
            let p = ExamplePool()
            let r = try StreamReader(try ByteInput(bytes: encode([stream[0]] + bad)))
            while try p.read(r) {}
            #expect(throws: StreamError.self) { try p.writeBatch([0, 1], pad: 0, to: out) }
            #expect(throws: StreamError.self) { try Padding.batch(bad, pad: 0) }
        }
        try out.commit()
        try? FileManager.default.removeItem(atPath: out.name)
    }
}
