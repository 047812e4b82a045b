import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// The GPU as a `KernelDevice`: the CUDA driver API (primary context, one stream,
/// stream-ordered allocation), the kernels compiled by NVRTC to the device's own
/// architecture and loaded as a module, and cuBLAS for products, TF32 off (strict
/// float32, like the CPU). Every status is checked; a failing call ends the process
/// with one line naming it (`cuda: cuLaunchKernel: CUDA_ERROR_…`), since a device fault
/// leaves nothing to recover. `RECUR_CUDA_SYNC=1` synchronises after every launch.
public final class CUDADevice: KernelDevice, @unchecked Sendable {
    public let device = Device.cuda
    typealias Status = Int32
    typealias Ptr = UInt64  // CUdeviceptr

    // driver API
    let cuDeviceGet: @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Status
    let cuDeviceGetAttribute: @convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> Status
    let cuDevicePrimaryCtxRetain: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, Int32) -> Status
    let cuCtxSetCurrent: @convention(c) (OpaquePointer?) -> Status
    let cuStreamCreate: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UInt32) -> Status
    let cuStreamSynchronize: @convention(c) (OpaquePointer?) -> Status
    let cuModuleLoadData: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UnsafeRawPointer) -> Status
    let cuModuleGetFunction: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, OpaquePointer?, UnsafePointer<CChar>) -> Status
    let cuLaunchKernel: @convention(c) (OpaquePointer?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, OpaquePointer?,
                                        UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Status
    let cuMemAllocAsync: @convention(c) (UnsafeMutablePointer<Ptr>, Int, OpaquePointer?) -> Status
    let cuMemFreeAsync: @convention(c) (Ptr, OpaquePointer?) -> Status
    let cuMemcpyHtoDAsync: @convention(c) (Ptr, UnsafeRawPointer, Int, OpaquePointer?) -> Status
    let cuMemcpyDtoHAsync: @convention(c) (UnsafeMutableRawPointer, Ptr, Int, OpaquePointer?) -> Status
    let cuMemcpyDtoDAsync: @convention(c) (Ptr, Ptr, Int, OpaquePointer?) -> Status
    let cuMemsetD32Async: @convention(c) (Ptr, UInt32, Int, OpaquePointer?) -> Status
    let cuGetErrorName: @convention(c) (Status, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Status
    // cuBLAS
    let cublasSgemm: @convention(c) (OpaquePointer?, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>, UnsafeRawPointer, Int32,
                                     UnsafeRawPointer, Int32, UnsafePointer<Float>, UnsafeMutableRawPointer, Int32) -> Status

    let stream: OpaquePointer?
    let blas: OpaquePointer?
    let functions: [String: OpaquePointer?]
    /// The device's compute capability, e.g. (9, 0) for an H100/H200.
    public let capability: (major: Int32, minor: Int32)
    let syncEveryLaunch = getenv("RECUR_CUDA_SYNC").map { String(cString: $0) == "1" } ?? false

    /// The GPU, set up once per process; the error says what is missing.
    public static let shared: Result<CUDADevice, TensorError> = {
        do { return .success(try CUDADevice()) } catch let e as TensorError { return .failure(e) } catch {
            return .failure(.deviceUnavailable("cuda: \(error)"))
        }
    }()

    init() throws {
        _ = try CUDADriver.shared.get()  // driver present, recent enough, a GPU seen
        let lib = try CUDALibraries.open(["libcuda.so.1", "libcuda.so"], what: "no NVIDIA driver")
        func f<T>(_ name: String, _ t: T.Type) throws -> T { try CUDALibraries.symbol(lib, name, as: t) }
        let errorName = try f("cuGetErrorName", (@convention(c) (Status, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Status).self)
        func check(_ status: Status, _ call: String) throws {
            guard status == 0 else { throw TensorError.deviceUnavailable("cuda: \(call): \(CUDADriver.name(status, errorName))") }
        }
        let deviceGet = try f("cuDeviceGet", (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Status).self)
        let attribute = try f("cuDeviceGetAttribute", (@convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> Status).self)
        let retain = try f("cuDevicePrimaryCtxRetain", (@convention(c) (UnsafeMutablePointer<OpaquePointer?>, Int32) -> Status).self)
        let setCurrent = try f("cuCtxSetCurrent", (@convention(c) (OpaquePointer?) -> Status).self)
        let streamCreate = try f("cuStreamCreate", (@convention(c) (UnsafeMutablePointer<OpaquePointer?>, UInt32) -> Status).self)
        let loadData = try f("cuModuleLoadData", (@convention(c) (UnsafeMutablePointer<OpaquePointer?>, UnsafeRawPointer) -> Status).self)
        let getFunction = try f("cuModuleGetFunction", (@convention(c) (UnsafeMutablePointer<OpaquePointer?>, OpaquePointer?, UnsafePointer<CChar>) -> Status).self)

        var dev: Int32 = 0, ctx: OpaquePointer? = nil, s: OpaquePointer? = nil
        try check(deviceGet(&dev, 0), "cuDeviceGet")
        var major: Int32 = 0, minor: Int32 = 0
        try check(attribute(&major, 75, dev), "cuDeviceGetAttribute")  // COMPUTE_CAPABILITY_MAJOR
        try check(attribute(&minor, 76, dev), "cuDeviceGetAttribute")  // COMPUTE_CAPABILITY_MINOR
        try check(retain(&ctx, dev), "cuDevicePrimaryCtxRetain")
        try check(setCurrent(ctx), "cuCtxSetCurrent")
        try check(streamCreate(&s, 1), "cuStreamCreate")  // CU_STREAM_NON_BLOCKING

        // kernels: NVRTC to this device's machine code
        let nvrtc = try NVRTC.shared.get()
        let cubin = try nvrtc.compile(CUDAKernels.source, arch: "sm_\(major)\(minor)")
        var module: OpaquePointer? = nil
        let loaded = cubin.binary.withUnsafeBytes { loadData(&module, $0.baseAddress!) }
        try check(loaded, "cuModuleLoadData")
        var table = [String: OpaquePointer?]()
        for name in CUDAKernels.names {
            var fn: OpaquePointer? = nil
            try check(getFunction(&fn, module, name), "cuModuleGetFunction(\(name))")
            table[name] = fn
        }

        // cuBLAS on the same stream, strict float32
        let cublas = try CUDALibraries.open(["libcublas.so.13", "libcublas.so"], what: "no cuBLAS")
        let create = try CUDALibraries.symbol(cublas, "cublasCreate_v2", as: (@convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Status).self)
        let setStream = try CUDALibraries.symbol(cublas, "cublasSetStream_v2", as: (@convention(c) (OpaquePointer?, OpaquePointer?) -> Status).self)
        let setMath = try CUDALibraries.symbol(cublas, "cublasSetMathMode", as: (@convention(c) (OpaquePointer?, Int32) -> Status).self)
        var handle: OpaquePointer? = nil
        guard create(&handle) == 0, setStream(handle, s) == 0, setMath(handle, 2) == 0 else {  // CUBLAS_PEDANTIC_MATH: no TF32
            throw TensorError.deviceUnavailable("cuda: cuBLAS could not be set up (cublasCreate_v2 / cublasSetStream_v2 / cublasSetMathMode)")
        }

        cuGetErrorName = errorName
        cuDeviceGet = deviceGet
        cuDeviceGetAttribute = attribute
        cuDevicePrimaryCtxRetain = retain
        cuCtxSetCurrent = setCurrent
        cuStreamCreate = streamCreate
        cuModuleLoadData = loadData
        cuModuleGetFunction = getFunction
        cuStreamSynchronize = try f("cuStreamSynchronize", type(of: cuStreamSynchronize))
        cuLaunchKernel = try f("cuLaunchKernel", type(of: cuLaunchKernel))
        cuMemAllocAsync = try f("cuMemAllocAsync", type(of: cuMemAllocAsync))
        cuMemFreeAsync = try f("cuMemFreeAsync", type(of: cuMemFreeAsync))
        cuMemcpyHtoDAsync = try f("cuMemcpyHtoDAsync_v2", type(of: cuMemcpyHtoDAsync))
        cuMemcpyDtoHAsync = try f("cuMemcpyDtoHAsync_v2", type(of: cuMemcpyDtoHAsync))
        cuMemcpyDtoDAsync = try f("cuMemcpyDtoDAsync_v2", type(of: cuMemcpyDtoDAsync))
        cuMemsetD32Async = try f("cuMemsetD32Async", type(of: cuMemsetD32Async))
        cublasSgemm = try CUDALibraries.symbol(cublas, "cublasSgemm_v2", as: type(of: cublasSgemm))
        capability = (major, minor)
        stream = s
        blas = handle
        functions = table
    }

    /// Ends the process with the failing call's name (a device fault is not recoverable).
    func check(_ status: Status, _ call: String) {
        guard status != 0 else { return }
        let message = "cuda: \(call): \(CUDADriver.name(status, cuGetErrorName))\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(1)
    }

    static func address(_ p: UnsafeRawPointer?) -> Ptr { UInt64(UInt(bitPattern: p)) }

    public func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        var p: Ptr = 0
        check(cuMemAllocAsync(&p, max(bytes, 4), stream), "cuMemAllocAsync")
        return UnsafeMutableRawPointer(bitPattern: UInt(p))!
    }
    public func deallocate(_ pointer: UnsafeMutableRawPointer) { check(cuMemFreeAsync(Self.address(pointer), stream), "cuMemFreeAsync") }
    public func upload(_ from: UnsafeRawPointer, to: UnsafeMutableRawPointer, _ bytes: Int) {
        check(cuMemcpyHtoDAsync(Self.address(to), from, bytes, stream), "cuMemcpyHtoDAsync_v2")
        check(cuStreamSynchronize(stream), "cuStreamSynchronize")  // the host buffer may go away after the call
    }
    public func download(_ from: UnsafeRawPointer, to: UnsafeMutableRawPointer, _ bytes: Int) {
        check(cuMemcpyDtoHAsync(to, Self.address(from), bytes, stream), "cuMemcpyDtoHAsync_v2")
        check(cuStreamSynchronize(stream), "cuStreamSynchronize")
    }
    public func copy(_ from: UnsafeRawPointer, to: UnsafeMutableRawPointer, _ bytes: Int) {
        check(cuMemcpyDtoDAsync(Self.address(to), Self.address(from), bytes, stream), "cuMemcpyDtoDAsync_v2")
    }
    public func fill32(_ dst: UnsafeMutableRawPointer, _ value: UInt32, _ count: Int) {
        check(cuMemsetD32Async(Self.address(dst), value, count, stream), "cuMemsetD32Async")
    }

    public func launch(_ kernel: String, grid: Int, block: Int, _ arguments: [KernelArgument]) {
        guard let fn = functions[kernel] else { check(500, "cuLaunchKernel(\(kernel)): no such kernel"); return }  // CUDA_ERROR_NOT_FOUND
        let status = arguments.withParameters { cuLaunchKernel(fn, UInt32(grid), 1, 1, UInt32(block), 1, 1, 0, stream, $0, nil) }
        check(status, "cuLaunchKernel(\(kernel))")
        if syncEveryLaunch { check(cuStreamSynchronize(stream), "cuStreamSynchronize after \(kernel)") }
    }

    /// Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLAS with the operands swapped.
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        var al = alpha, be = beta
        let status = cublasSgemm(blas, transB ? 1 : 0, transA ? 1 : 0, Int32(n), Int32(m), Int32(k), &al,
                                 UnsafeRawPointer(b), Int32(ldb), UnsafeRawPointer(a), Int32(lda), &be, UnsafeMutableRawPointer(c), Int32(ldc))
        if status != 0 {
            _ = "cuda: cublasSgemm_v2: status \(status)\n".withCString { write(2, $0, strlen($0)) }
            exit(1)
        }
    }
}
