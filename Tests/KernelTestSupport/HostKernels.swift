import Foundation
import Tensor
import TensorCUDA
import TestFiles
#if canImport(Glibc)
import Glibc
#endif

/// The CUDA kernels compiled for the host (CUDA.md's plan for checking kernel logic
/// without a GPU): the same source, after a small header that makes `__global__`
/// functions plain C++ and `blockIdx`/`threadIdx` per-call variables, built with the
/// system's C++ compiler; a launcher runs every thread of every block in turn, with the
/// arguments passed as cuLaunchKernel passes them (an array of pointers to each value).
/// Kernels whose threads do not talk to each other (all of recur's) run unchanged.
public final class HostKernelDevice: KernelDevice, @unchecked Sendable {
    public let device = Device.cuda
    private let library: UnsafeMutableRawPointer
    private var launchers = [String: @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int, Int) -> Void]()
    private let lock = NSLock()

    static let prelude = """
        #include <math.h>
        #include <cstddef>
        #include <utility>
        struct rk_dim3 { long x = 0, y = 0, z = 0; };
        static thread_local rk_dim3 blockIdx, threadIdx, blockDim;
        #define __global__
        #define __device__
        #define __forceinline__ inline

        """

    static func launchers(_ names: [String]) -> String {
        """

        template <typename... A, std::size_t... I>
        static void rk_call(void (*k)(A...), void **args, std::index_sequence<I...>) { k(*static_cast<A *>(args[I])...); }
        template <typename... A>
        static void rk_launch(void (*k)(A...), void **args, long grid, long block) {
            blockDim.x = block;
            for (long b = 0; b < grid; b++)
                for (long t = 0; t < block; t++) { blockIdx.x = b; threadIdx.x = t; rk_call(k, args, std::index_sequence_for<A...>{}); }
        }

        """ + names.map { "extern \"C\" void \($0)_host(void **args, long grid, long block) { rk_launch(\($0), args, grid, block); }" }
            .joined(separator: "\n") + "\n"
    }

    /// Whether this machine has a C++ compiler to build the host kernels with.
    public static var compilerPresent: Bool {
        ["/usr/bin/c++", "/usr/local/bin/c++", "/usr/bin/g++"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Compiles the kernels for the host; nil where they do not build (see `compilerPresent`).
    public static let shared: HostKernelDevice? = {
        let dir = TestFiles.path("host-kernels")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let source = dir + "/kernels.cpp", lib = dir + "/libkernels.so"
        let text = prelude + CUDAKernels.source + launchers(CUDAKernels.names)
        guard FileManager.default.createFile(atPath: source, contents: Data(text.utf8)) else { return nil }
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["c++", "-std=c++17", "-O1", "-shared", "-fPIC", "-w", "-o", lib, source]
        cc.standardError = FileHandle.nullDevice
        guard (try? cc.run()) != nil else { return nil }
        cc.waitUntilExit()
        guard cc.terminationStatus == 0, let handle = dlopen(lib, RTLD_NOW) else { return nil }
        return HostKernelDevice(handle)
    }()

    init(_ library: UnsafeMutableRawPointer) { self.library = library }

    /// The backend that runs the host-compiled kernels (nil without a C++ compiler).
    public static let backend: KernelBackend? = shared.map { KernelBackend($0) }

    public func allocate(_ bytes: Int) -> UnsafeMutableRawPointer { malloc(max(bytes, 1))! }
    public func deallocate(_ pointer: UnsafeMutableRawPointer) { free(pointer) }
    public func upload(_ from: UnsafeRawPointer, to: UnsafeMutableRawPointer, _ bytes: Int) { memcpy(to, from, bytes) }
    public func download(_ from: UnsafeRawPointer, to: UnsafeMutableRawPointer, _ bytes: Int) { memcpy(to, from, bytes) }
    public func copy(_ from: UnsafeRawPointer, to: UnsafeMutableRawPointer, _ bytes: Int) { memmove(to, from, bytes) }
    public func fill32(_ dst: UnsafeMutableRawPointer, _ value: UInt32, _ count: Int) {
        let p = dst.assumingMemoryBound(to: UInt32.self)
        for i in 0..<count { p[i] = value }
    }

    public func launch(_ kernel: String, grid: Int, block: Int, _ arguments: [KernelArgument]) {
        lock.lock()
        let f: @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int, Int) -> Void
        if let known = launchers[kernel] { f = known } else {
            guard let p = dlsym(library, kernel + "_host") else { lock.unlock(); fatalError("no host kernel \(kernel)") }
            f = unsafeBitCast(p, to: (@convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int, Int) -> Void).self)
            launchers[kernel] = f
        }
        lock.unlock()
        arguments.withParameters { f($0, grid, block) }
    }

    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        CPUBackend.shared.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                               beta: beta, c: c, ldc: ldc)
    }
}
