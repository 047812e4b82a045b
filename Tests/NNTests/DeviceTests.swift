import Testing
import Tensor
@testable import NN

/// Moving a module between backends: a second CPU backend stands in for another device.
@Suite("Devices: modules move, results stay")
struct DeviceTests {
    @Test func movedModelGivesTheSameOutputsAndGradients() throws {
        var rng = RandomSource(seed: 3)
        let gru = GRU(inputSize: 3, hiddenSize: 5, numLayers: 2, batchFirst: true, bidirectional: true, rng: &rng)
        let fc = Linear(10, 2, rng: &rng)
        let x = Tensor.uniform([4, 6, 3], -1, 1, rng: &rng)
        func run(_ x: Tensor) throws -> (out: [Float], grads: [[Float]]) {
            gru.zeroGrad(); fc.zeroGrad()
            let (y, _, _) = try gru.forward(x, lengths: [6, 4, 2, 5])
            let logits = fc(y)
            logits.sum().backward()
            return (logits.values, (gru.parameters + fc.parameters).map { $0.grad?.values ?? [] })
        }
        let before = try run(x)
        let other = CPUBackend()
        gru.move(to: other); fc.move(to: other)
        #expect(gru.parameters.allSatisfy { $0.backend === other } && fc.backend === other)
        let after = try run(x.on(other))
        #expect(after.out == before.out)
        #expect(after.grads == before.grads)
        #expect((gru.parameters + fc.parameters).allSatisfy { $0.grad?.backend === other })
        // an optimiser made after the move keeps its moments there
        let adam = Adam(gru.parameters, lr: 0.01)
        adam.update()
        #expect(adam.m.allSatisfy { $0.backend === other })
        // and back: the same values
        gru.move(to: Backends.cpu)
        #expect(gru.parameters.allSatisfy { $0.backend === Backends.cpu })
    }
}
