import Foundation
import Testing
@testable import TensorStream
import TestFiles

/// Writes bytes to a fresh temp file and returns its path.
func tempFile(_ bytes: [UInt8], _ name: String = "s") -> String {
    let path = TestFiles.path(name)
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

func sampleStream() -> [Record] {
    var meta = StreamMeta()
    meta.task = "classify"
    meta.classes = ["no", "yes", "naïve \"quoted\""]
    meta.addTool("test")
    return [
        meta.record,
        Record(kind: .example, metadata: ["id": "a.wav"],
               tensors: [("x", StreamTensor([1, 2.5, -3], shape: [3, 1])), ("y", StreamTensor([Int32(2)], shape: [1]))]),
        Record(kind: .example, metadata: ["id": "b"], tensors: [("x", StreamTensor([Int32](), shape: [0])),
                                                               ("y", StreamTensor([Int32(0)], shape: [1]))]),
    ]
}

func encode(_ records: [Record]) -> [UInt8] { records.flatMap(Codec.encode) }

func readAll(_ bytes: [UInt8]) throws -> (meta: Record, records: [Record]) {
    let reader = try StreamReader(try ByteInput(path: tempFile(bytes)))
    var out = [Record]()
    while let r = try reader.next() { out.append(r) }
    return (reader.meta, out)
}

@Suite("Tensor stream format")
struct StreamTests {
    @Test func roundTrip() throws {
        let records = sampleStream()
        let bytes = encode(records)
        let (meta, rest) = try readAll(bytes)
        #expect(meta == records[0])
        #expect(rest == Array(records.dropFirst()))
        #expect(StreamMeta(meta).classes == ["no", "yes", "naïve \"quoted\""])
    }

    @Test func headersAreAlignedAndDeterministic() {
        for r in sampleStream() {
            let b = Codec.encode(r)
            let n = b.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) }
            #expect((8 + n) % 8 == 0)
            #expect(b == Codec.encode(r))
        }
    }

    @Test func gzipIsReadTransparently() throws {
        let bytes = encode(sampleStream())
        let plain = tempFile(bytes, "plain")
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gz.arguments = ["-k", plain]
        try gz.run()
        gz.waitUntilExit()
        let reader = try StreamReader(try ByteInput(path: plain + ".gz"))
        var n = 0
        while try reader.next() != nil { n += 1 }
        #expect(n == 2)
    }

    @Test func catOfAgreeingStreamsIsOneStream() throws {
        var second = sampleStream()
        var m = StreamMeta(second[0])
        m.addTool("another tool")  // provenance may differ
        second[0] = m.record
        let (_, rest) = try readAll(encode(sampleStream()) + encode(second))
        #expect(rest.count == 4)
    }

    @Test func catOfDisagreeingStreamsNamesTheField() throws {
        var second = sampleStream()
        var m = StreamMeta(second[0])
        m.classes = ["cat", "dog"]
        second[0] = m.record
        #expect { try readAll(encode(sampleStream()) + encode(second)) } throws: { e in
            "\(e)".contains("'classes'") && "\(e)".contains("record 4")
        }
    }

    @Test func frontEndComparesTheMFCCField() {
        let model = ["sample_rate": "8000", "mel_bands": "40", "mfcc": "none", "features": "40"]
        var old = model
        old["mfcc"] = nil                                   // a log-mel stream from before MFCCs
        #expect(FrontEnd.difference(model: model, stream: old) == nil)
        var mfcc = model
        mfcc["mfcc"] = "20"; mfcc["features"] = "20"
        #expect(FrontEnd.difference(model: model, stream: mfcc)?.hasPrefix("mfcc:") == true)
        #expect(FrontEnd.difference(model: mfcc, stream: old)?.hasPrefix("mfcc: the stream has none") == true)
        #expect(FrontEnd.difference(model: old, stream: mfcc)?.hasPrefix("features:") == true)  // an old model: its features differ
    }

    @Test func streamMustStartWithMeta() {
        #expect { try readAll(encode(Array(sampleStream().dropFirst()))) } throws: { e in
            "\(e)".contains("starts with a meta record")
        }
    }

    @Test func truncationNamesRecordAndOffset() throws {
        let bytes = encode(sampleStream())
        let firstLen = Codec.encode(sampleStream()[0]).count
        let secondEnd = firstLen + Codec.encode(sampleStream()[1]).count
        for (cut, record, offset) in [(firstLen + 3, 2, firstLen), (firstLen + 12, 2, firstLen),
                                      (bytes.count - 1, 3, secondEnd)] {
            #expect { try readAll(Array(bytes.prefix(cut))) } throws: { e in
                "\(e)".contains("record \(record) at byte offset \(offset)") && "\(e)".contains("truncated")
            }
        }
    }

    /// Hand-made corrupt headers: each must be a clear error, never a crash.
    @Test(arguments: [
        ("not json", "not valid JSON"),
        ("[1,2]", "not a JSON object"),
        (#"{"__metadata__":{"kind":"example"},"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, "unsupported dtype"),
        (#"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, "needs 8 bytes"),
        (#"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, "bad dimension"),
        (#"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, "not contiguous"),
        (#"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, "bad data_offsets"),
        (#"{"__metadata__":{"kind":"example"},"x":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#, "too large"),
        (#"{"__metadata__":{"kind":"weird"}}"#, "unknown record kind"),
        (#"{"__metadata__":{"id":"x"}}"#, "no kind"),
        (#"{"__metadata__":{"kind":"example","n":3}}"#, "not a string"),
        (#"{"__metadata__":{"kind":"example"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4000000]}}"#, "needs 4 bytes"),
    ])
    func corruptHeader(header: String, expected: String) throws {
        var bytes = Codec.encode(sampleStream()[0])
        let offset = bytes.count
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes += $0 }
        bytes += Array(header.utf8) + [UInt8](repeating: 0, count: 8)
        #expect { try readAll(bytes) } throws: { e in
            "\(e)".contains(expected) && "\(e)".contains("record 2 at byte offset \(offset)")
        }
    }

    @Test func hugeHeaderLengthIsRefusedBeforeReading() throws {
        var bytes = Codec.encode(sampleStream()[0])
        withUnsafeBytes(of: UInt64(1) << 40) { bytes += $0 }
        #expect { try readAll(bytes) } throws: { e in "\(e)".contains("header length") }
    }

    @Test func lyingDataLengthOnAPipeIsTruncationNotAllocation() throws {
        var bytes = Codec.encode(sampleStream()[0])
        let h = #"{"__metadata__":{"kind":"example"},"x":{"dtype":"U8","shape":[60000000000],"data_offsets":[0,60000000000]}}"#
        withUnsafeBytes(of: UInt64(h.utf8.count).littleEndian) { bytes += $0 }
        bytes += Array(h.utf8) + [1, 2, 3]
        #expect { try readAll(bytes) } throws: { e in "\(e)".contains("truncated data") }
    }

    @Test func missingFileAndDirectory() {
        #expect(throws: StreamError.self) { try ByteInput(path: "/nonexistent/x") }
        #expect(throws: StreamError.self) { try ByteInput(path: "/tmp") }
    }
}
