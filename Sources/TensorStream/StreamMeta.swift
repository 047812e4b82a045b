import Foundation

/// Typed access to the fields of a `meta` record. Values are strings in the
/// safetensors metadata; lists are JSON arrays inside those strings.
///
/// Fields: `task` (classify, tag, lm, regress), `classes` and `vocab` (JSON
/// string arrays), `sample_rate`, `features` (width of float inputs), `pad_id`,
/// `tools` (JSON array of the commands that made the stream; not compared when
/// streams are joined). Tools keep fields they do not know.
public struct StreamMeta: Sendable, Equatable {
    public var fields: [String: String]

    public init(_ fields: [String: String] = [:]) { self.fields = fields }
    public init(_ record: Record) { fields = record.metadata }

    public var record: Record { Record(kind: .meta, metadata: fields) }

    public var task: String? {
        get { fields["task"] }
        set { fields["task"] = newValue }
    }
    public var classes: [String]? {
        get { fields["classes"].flatMap(Self.parseList) }
        set { fields["classes"] = newValue.map(Self.encodeList) }
    }
    public var vocab: [String]? {
        get { fields["vocab"].flatMap(Self.parseList) }
        set { fields["vocab"] = newValue.map(Self.encodeList) }
    }
    public var sampleRate: Int? {
        get { fields["sample_rate"].flatMap { Int($0) } }
        set { fields["sample_rate"] = newValue.map(String.init) }
    }
    public var features: Int? {
        get { fields["features"].flatMap { Int($0) } }
        set { fields["features"] = newValue.map(String.init) }
    }
    public var tools: [String] {
        get { fields["tools"].flatMap(Self.parseList) ?? [] }
        set { fields["tools"] = Self.encodeList(newValue) }
    }

    /// Adds a command line to the provenance, and the version of recur that ran it.
    public mutating func addTool(_ command: String) {
        tools = tools + [command]
        fields["recur_version"] = RecurVersion.description
    }

    /// The first field (other than `tools`) on which two metas differ, or nil.
    public static func disagreement(_ a: [String: String], _ b: [String: String]) -> String? {
        for key in Set(a.keys).union(b.keys).sorted() where key != "tools" && key != "recur_version" && a[key] != b[key] { return key }
        return nil
    }

    /// A JSON array of strings, as metadata values hold lists.
    public static func list(_ items: [String]) -> String { encodeList(items) }

    static func encodeList(_ list: [String]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(2 + list.reduce(0) { $0 + 3 + $1.utf8.count })
        bytes.append(UInt8(ascii: "["))
        for (i, item) in list.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            Codec.appendQuoted(item, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }
    /// The strings of a JSON array held in a metadata value, or nil.
    public static func parseList(_ s: String) -> [String]? {
        (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String]
    }
}
