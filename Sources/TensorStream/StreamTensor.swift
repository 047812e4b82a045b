/// Element types a stream may carry (safetensors dtype names).
public enum DType: String, Sendable, CaseIterable {
    case f32 = "F32", i32 = "I32", i64 = "I64", u8 = "U8"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32, .i32: return 4
        case .i64: return 8
        case .u8: return 1
        }
    }
}

/// One named tensor of a record, on the host: row-major, little-endian.
public struct StreamTensor: Sendable, Equatable {
    public enum Values: Sendable, Equatable {
        case f32([Float])
        case i32([Int32])
        case i64([Int64])
        case u8([UInt8])
    }
    public var shape: [Int]
    public var values: Values

    public init(_ values: [Float], shape: [Int]) { self.shape = shape; self.values = .f32(values) }
    public init(_ values: [Int32], shape: [Int]) { self.shape = shape; self.values = .i32(values) }
    public init(shape: [Int], values: Values) { self.shape = shape; self.values = values }

    public var dtype: DType {
        switch values {
        case .f32: return .f32
        case .i32: return .i32
        case .i64: return .i64
        case .u8: return .u8
        }
    }
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The values as floats (integers converted).
    public var floats: [Float] {
        switch values {
        case .f32(let v): return v
        case .i32(let v): return v.map(Float.init)
        case .i64(let v): return v.map(Float.init)
        case .u8(let v): return v.map(Float.init)
        }
    }
    /// The values as 32-bit integers, or nil for floats or out-of-range 64-bit values.
    public var ints: [Int32]? {
        switch values {
        case .f32: return nil
        case .i32(let v): return v
        case .i64(let v): return v.allSatisfy({ Int64(Int32.min) <= $0 && $0 <= Int64(Int32.max) }) ? v.map { Int32($0) } : nil
        case .u8(let v): return v.map(Int32.init)
        }
    }

    /// Little-endian bytes of the values.
    func bytes() -> [UInt8] {
        func raw<T>(_ v: [T]) -> [UInt8] { v.withUnsafeBytes { Array($0) } }  // x86-64 and arm64 are little-endian
        switch values {
        case .f32(let v): return raw(v)
        case .i32(let v): return raw(v)
        case .i64(let v): return raw(v)
        case .u8(let v): return v
        }
    }

    /// Decodes `bytes` (already validated: count × size bytes).
    static func decode(_ dtype: DType, shape: [Int], _ bytes: UnsafeRawBufferPointer) -> StreamTensor {
        func load<T>(_: T.Type) -> [T] {
            let n = bytes.count / MemoryLayout<T>.size
            return [T](unsafeUninitializedCapacity: n) { buf, done in
                if n > 0 { UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<(n * MemoryLayout<T>.size)])) }
                done = n
            }
        }
        switch dtype {
        case .f32: return StreamTensor(shape: shape, values: .f32(load(Float.self)))
        case .i32: return StreamTensor(shape: shape, values: .i32(load(Int32.self)))
        case .i64: return StreamTensor(shape: shape, values: .i64(load(Int64.self)))
        case .u8: return StreamTensor(shape: shape, values: .u8(load(UInt8.self)))
        }
    }
}
