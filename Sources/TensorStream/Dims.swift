/// A tensor's shape held inline (at most `Codec.maxRank` axes): what a header
/// parse makes without allocating an array per tensor.
public struct Dims: Sendable, Equatable {
    /// The number of axes.
    public private(set) var count = 0
    private var axes: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)

    public init() {}

    public init(_ shape: some Collection<Int>) {
        for d in shape { append(d) }
    }

    /// Axis `i` (< `count`).
    public subscript(i: Int) -> Int {
        precondition(i >= 0 && i < count)
        return withUnsafeBytes(of: axes) { $0.load(fromByteOffset: i * MemoryLayout<Int>.stride, as: Int.self) }
    }

    /// Adds an axis at the end.
    public mutating func append(_ d: Int) {
        precondition(count < Codec.maxRank)
        let at = count * MemoryLayout<Int>.stride
        withUnsafeMutableBytes(of: &axes) { $0.storeBytes(of: d, toByteOffset: at, as: Int.self) }
        count += 1
    }

    /// The axes as an array.
    public var array: [Int] { (0..<count).map { self[$0] } }

    /// The product of the axes from `first` on, or nil as `Codec.elementCount` says.
    public func elementCount(from first: Int = 0) -> Int? {
        Codec.elementCount((first..<max(first, count)).lazy.map { self[$0] })
    }

    /// The number of elements (see `elementCount(from:)`).
    public var elementCount: Int? { elementCount(from: 0) }

    /// Whether the axes from 1 on equal `other`'s from 1 on.
    public func sameInner(_ other: Dims) -> Bool {
        guard count == other.count else { return false }
        for i in stride(from: 1, to: count, by: 1) where self[i] != other[i] { return false }
        return true
    }

    public static func == (a: Dims, b: Dims) -> Bool {
        a.count == b.count && (0..<a.count).allSatisfy { a[$0] == b[$0] }
    }
}
