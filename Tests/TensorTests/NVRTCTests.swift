import Foundation
import Testing
@testable import TensorCUDA

/// The CUDA kernels compile, through the same Swift loader the backend uses, with
/// NVRTC from the `nvidia-cuda-nvrtc` wheel (`.ci/run` installs it into .build-nvrtc;
/// or set RECUR_CUDA_LIBS): to sm_90 machine code and compute_80 PTX, with an empty
/// log and every kernel the backend launches present. No GPU is needed.
@Suite("CUDA kernels compile (NVRTC)")
struct NVRTCTests {
    /// The folder holding libnvrtc.so.13, if this machine has one.
    static let folder: String? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = (ProcessInfo.processInfo.environment["RECUR_CUDA_LIBS"].map { [$0] } ?? [])
            + [root.appendingPathComponent(".build-nvrtc/nvidia/cu13/lib").path]
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/libnvrtc.so.13") }
    }()

    @Test func everyKernelIsDefinedOnce() {
        for name in CUDAKernels.names {
            #expect(CUDAKernels.source.components(separatedBy: "__global__ void \(name)(").count == 2, "\(name)")
        }
        let defined = CUDAKernels.source.components(separatedBy: "__global__ void ").count - 1
        #expect(defined == CUDAKernels.names.count, "kernels in the source that the backend does not list")
    }

    @Test(.enabled(if: folder != nil, "no libnvrtc.so.13 (pip install --target .build-nvrtc nvidia-cuda-nvrtc==13.0.88)"),
          arguments: ["sm_90", "compute_80"])
    func compiles(arch: String) throws {
        setenv("RECUR_CUDA_LIBS", Self.folder!, 1)
        let nvrtc = try NVRTC.shared.get()
        #expect(nvrtc.version.major == 13)
        let out = try nvrtc.compile(CUDAKernels.source, arch: arch)
        #expect(out.log.isEmpty, "NVRTC log for \(arch): \(out.log)")
        if arch.hasPrefix("sm_") {
            #expect(out.binary.starts(with: [0x7F, 0x45, 0x4C, 0x46]), "a CUBIN is an ELF file")
        }
        let text = String(decoding: out.binary, as: UTF8.self)
        for name in CUDAKernels.names {
            #expect(text.contains(arch.hasPrefix("sm_") ? name : ".entry \(name)("), "\(arch): kernel \(name) missing")
        }
        // a source that does not compile is an error carrying NVRTC's log
        #expect(throws: (any Error).self) { try nvrtc.compile("extern \"C\" __global__ void broken( { }", arch: arch) }
    }
}
