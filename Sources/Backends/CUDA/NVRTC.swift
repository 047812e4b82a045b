import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// NVRTC, CUDA's run-time compiler (`libnvrtc.so.13`): the backend's kernels are one
/// CUDA C source (`CUDAKernels.source`) compiled when the backend starts, to machine
/// code (CUBIN) for the device's own architecture, so no PTX from a newer compiler
/// ever reaches an older driver.
public final class NVRTC: @unchecked Sendable {
    typealias Status = Int32
    typealias Program = OpaquePointer
    let create: @convention(c) (UnsafeMutablePointer<Program?>, UnsafePointer<CChar>, UnsafePointer<CChar>?, Int32,
                                UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?) -> Status
    let compileProgram: @convention(c) (Program?, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> Status
    let logSize: @convention(c) (Program?, UnsafeMutablePointer<Int>) -> Status
    let log: @convention(c) (Program?, UnsafeMutablePointer<CChar>) -> Status
    let cubinSize: @convention(c) (Program?, UnsafeMutablePointer<Int>) -> Status
    let cubin: @convention(c) (Program?, UnsafeMutablePointer<CChar>) -> Status
    let ptxSize: @convention(c) (Program?, UnsafeMutablePointer<Int>) -> Status
    let ptx: @convention(c) (Program?, UnsafeMutablePointer<CChar>) -> Status
    let destroy: @convention(c) (UnsafeMutablePointer<Program?>) -> Status
    let errorString: @convention(c) (Status) -> UnsafePointer<CChar>
    let versionFunction: @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Status

    /// NVRTC, loaded once per process.
    public static let shared: Result<NVRTC, TensorError> = {
        do { return .success(try NVRTC()) } catch let e as TensorError { return .failure(e) } catch {
            return .failure(.deviceUnavailable("cuda: \(error)"))
        }
    }()

    init() throws {
        // The wheel's libnvrtc needs its builtins library loaded first, globally, by path,
        // from the folder libnvrtc itself comes from (the two versions must match).
        if let dir = CUDALibraries.folders.first(where: { access($0 + "/libnvrtc.so.13", R_OK) == 0 }) {
            if let builtins = ["libnvrtc-builtins.so.13.0", "libnvrtc-builtins.so.13"].first(where: { access(dir + "/" + $0, R_OK) == 0 }) {
                _ = dlopen(dir + "/" + builtins, RTLD_NOW | RTLD_GLOBAL)
            }
        }
        let lib = try CUDALibraries.open(["libnvrtc.so.13", "libnvrtc.so"], what: "no NVRTC, CUDA's run-time compiler")
        func f<T>(_ name: String, _ t: T.Type) throws -> T { try CUDALibraries.symbol(lib, name, as: t) }
        create = try f("nvrtcCreateProgram", type(of: create))
        compileProgram = try f("nvrtcCompileProgram", type(of: compileProgram))
        logSize = try f("nvrtcGetProgramLogSize", type(of: logSize))
        log = try f("nvrtcGetProgramLog", type(of: log))
        cubinSize = try f("nvrtcGetCUBINSize", type(of: cubinSize))
        cubin = try f("nvrtcGetCUBIN", type(of: cubin))
        ptxSize = try f("nvrtcGetPTXSize", type(of: ptxSize))
        ptx = try f("nvrtcGetPTX", type(of: ptx))
        destroy = try f("nvrtcDestroyProgram", type(of: destroy))
        errorString = try f("nvrtcGetErrorString", type(of: errorString))
        versionFunction = try f("nvrtcVersion", type(of: versionFunction))
    }

    /// NVRTC's version, e.g. (13, 0).
    public var version: (major: Int32, minor: Int32) {
        var a: Int32 = 0, b: Int32 = 0
        _ = versionFunction(&a, &b)
        return (a, b)
    }

    /// What a compilation gives: the binary (CUBIN for `sm_XY`, PTX text for
    /// `compute_XY`) and the compiler's log (empty when it had nothing to say).
    public struct Output {
        public let binary: [UInt8]
        public let log: String
    }

    /// Compiles `source` for `arch` ("sm_90": CUBIN, "compute_80": PTX). Throws a
    /// `TensorError` with NVRTC's log when the source does not compile.
    public func compile(_ source: String, arch: String, name: String = "recur_kernels.cu") throws -> Output {
        var program: Program? = nil
        try check(create(&program, source, name, 0, nil, nil), "nvrtcCreateProgram")
        defer { _ = destroy(&program) }
        let options = ["--gpu-architecture=\(arch)", "--std=c++17", "--fmad=true", "-default-device"]
        let cOptions = options.map { strdup($0) }
        defer { cOptions.forEach { free($0) } }
        let status = cOptions.map { UnsafePointer($0) }.withUnsafeBufferPointer {
            compileProgram(program, Int32(options.count), $0.baseAddress)
        }
        var n = 0
        _ = logSize(program, &n)
        var logBytes = [CChar](repeating: 0, count: max(n, 1))
        _ = log(program, &logBytes)
        let text = String(decoding: logBytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingCharacters(in: [" ", "\n"])
        guard status == 0 else {
            throw TensorError.deviceUnavailable("cuda: nvrtcCompileProgram: \(String(cString: errorString(status))): \(text)")
        }
        let isCubin = arch.hasPrefix("sm_")
        try check(isCubin ? cubinSize(program, &n) : ptxSize(program, &n), isCubin ? "nvrtcGetCUBINSize" : "nvrtcGetPTXSize")
        var bytes = [CChar](repeating: 0, count: n)
        try check(isCubin ? cubin(program, &bytes) : ptx(program, &bytes), isCubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX")
        return Output(binary: bytes.map { UInt8(bitPattern: $0) }, log: text)
    }

    func check(_ status: Status, _ call: String) throws {
        guard status == 0 else { throw TensorError.deviceUnavailable("cuda: \(call): \(String(cString: errorString(status)))") }
    }
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
