import Foundation
import Tensor

/// A PyTorch fixture: one safetensors file written by scripts/make_fixtures.py.
struct Fixture {
    let name: String
    var floats: [String: (shape: [Int], values: [Float])] = [:]
    var ints: [String: (shape: [Int], values: [Int64])] = [:]
    var meta: [String: String] = [:]

    init(_ name: String) throws {
        self.name = name
        guard let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures")
        else { throw TensorError.invalidArgument("fixture \(name) not found") }
        let data = try Data(contentsOf: url)
        let n = data.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self).littleEndian) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as! [String: Any]
        let body = data.subdata(in: (8 + n)..<data.count)
        for (key, value) in header {
            let info = value as! [String: Any]
            if key == "__metadata__" { meta = info as! [String: String]; continue }
            let shape = (info["shape"] as! [Int])
            let offs = info["data_offsets"] as! [Int]
            let bytes = body.subdata(in: offs[0]..<offs[1])
            switch info["dtype"] as! String {
            case "F32": floats[key] = (shape, bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
            case "I64": ints[key] = (shape, bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) })
            default: throw TensorError.invalidArgument("fixture \(name): dtype of \(key)")
            }
        }
    }

    func tensor(_ key: String, requiresGrad: Bool = false) -> Tensor {
        guard let f = floats[key] else { fatalError("fixture \(name) has no \(key)") }
        return Tensor(f.values, shape: f.shape, requiresGrad: requiresGrad)
    }
    func has(_ key: String) -> Bool { floats[key] != nil || ints[key] != nil }
    func values(_ key: String) -> [Float] { floats[key]!.values }
    func intValues(_ key: String) -> [Int] { ints[key]!.values.map { Int($0) } }
}

/// Largest violation of |a − b| ≤ atol + rtol·|b| (≤ 0 means within tolerance), like torch.allclose.
func mismatch(_ a: [Float], _ b: [Float], rtol: Float = 1e-5, atol: Float = 1e-6) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
    var worst: Float = -.infinity
    for (x, y) in zip(a, b) { worst = max(worst, abs(x - y) - (atol + rtol * abs(y))) }
    return a.isEmpty ? 0 : worst
}
