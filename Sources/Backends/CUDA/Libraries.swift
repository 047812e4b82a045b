import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// NVIDIA's libraries, opened at run time with `dlopen` (nothing is linked and no
/// NVIDIA header is used: the prototypes are ours), so the same binary builds and runs
/// where there is no GPU, and says exactly what is missing there.
///
/// Search order for each library: the folders in `$RECUR_CUDA_LIBS` (colon-separated),
/// the plain soname (the loader's paths: a driver installs `libcuda.so.1` there), the
/// CUDA toolkit's `lib64`, then `nvidia/cu13/lib` in Python's site-packages (where
/// PyTorch's wheels and `pip install nvidia-cuda-nvrtc` put them).
public enum CUDALibraries {
    /// The folders in `$RECUR_CUDA_LIBS`, searched first.
    public static var environmentFolders: [String] {
        (getenv("RECUR_CUDA_LIBS").map { String(cString: $0) } ?? "").split(separator: ":").map(String.init)
    }

    /// Every folder searched, in order (the plain soname comes between the two kinds).
    public static var folders: [String] { environmentFolders + installFolders }

    /// Where toolkits and Python wheels install the libraries.
    static var installFolders: [String] {
        var dirs = ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"]
        for base in ["/usr/local/lib", "/usr/lib", "/root/.local/lib", "/opt/conda/lib"] {
            for v in ["python3", "python3.10", "python3.11", "python3.12", "python3.13"] {
                dirs.append("\(base)/\(v)/site-packages/nvidia/cu13/lib")
                dirs.append("\(base)/\(v)/dist-packages/nvidia/cu13/lib")
            }
        }
        return dirs
    }

    /// Opens the first of `names` found: in `$RECUR_CUDA_LIBS`, by soname, then in `folders`.
    /// Throws `TensorError.deviceUnavailable` naming the library and where it looked.
    public static func open(_ names: [String], what: String, global: Bool = false) throws -> UnsafeMutableRawPointer {
        let flags = RTLD_NOW | (global ? RTLD_GLOBAL : RTLD_LOCAL)
        for dir in environmentFolders { for n in names { if let h = dlopen(dir + "/" + n, flags) { return h } } }
        for n in names { if let h = dlopen(n, flags) { return h } }
        for dir in installFolders { for n in names { if let h = dlopen(dir + "/" + n, flags) { return h } } }
        throw TensorError.deviceUnavailable("cuda: \(what) (\(names.joined(separator: ", ")) not found; set RECUR_CUDA_LIBS to its folder)")
    }

    /// The function `name` of `library`, cast to `T`.
    public static func symbol<T>(_ library: UnsafeMutableRawPointer, _ name: String, as _: T.Type) throws -> T {
        guard let p = dlsym(library, name) else { throw TensorError.deviceUnavailable("cuda: \(name) is missing from its library") }
        return unsafeBitCast(p, to: T.self)
    }
}

/// The CUDA driver API: `libcuda.so.1`, which comes with the NVIDIA driver.
public final class CUDADriver: @unchecked Sendable {
    public typealias Status = Int32
    let cuInit: @convention(c) (UInt32) -> Status
    let cuDriverGetVersion: @convention(c) (UnsafeMutablePointer<Int32>) -> Status
    let cuDeviceGetCount: @convention(c) (UnsafeMutablePointer<Int32>) -> Status
    let cuGetErrorName: @convention(c) (Status, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Status

    /// The CUDA version the backend's kernels and libraries are built for (13.0).
    public static let requiredVersion = 13000

    /// The driver, loaded and initialised once per process.
    public static let shared: Result<CUDADriver, TensorError> = {
        do { return .success(try CUDADriver()) } catch let e as TensorError { return .failure(e) } catch {
            return .failure(.deviceUnavailable("cuda: \(error)"))
        }
    }()

    /// The driver's CUDA version, as 1000 × major + 10 × minor.
    public let version: Int32
    /// Number of CUDA devices.
    public let deviceCount: Int32

    init() throws {
        let lib = try CUDALibraries.open(["libcuda.so.1", "libcuda.so"], what: "no NVIDIA driver")
        cuInit = try CUDALibraries.symbol(lib, "cuInit", as: type(of: cuInit))
        cuDriverGetVersion = try CUDALibraries.symbol(lib, "cuDriverGetVersion", as: type(of: cuDriverGetVersion))
        cuDeviceGetCount = try CUDALibraries.symbol(lib, "cuDeviceGetCount", as: type(of: cuDeviceGetCount))
        cuGetErrorName = try CUDALibraries.symbol(lib, "cuGetErrorName", as: type(of: cuGetErrorName))
        var v: Int32 = 0
        guard cuDriverGetVersion(&v) == 0 else { throw TensorError.deviceUnavailable("cuda: cuDriverGetVersion failed") }
        version = v
        guard v >= Self.requiredVersion else {
            throw TensorError.deviceUnavailable("cuda: the driver supports CUDA \(v / 1000).\(v % 1000 / 10), recur needs \(Self.requiredVersion / 1000).\(Self.requiredVersion % 1000 / 10)")
        }
        var n: Int32 = 0
        let status = cuInit(0)
        guard status == 0 else { throw TensorError.deviceUnavailable("cuda: cuInit: \(Self.name(status, cuGetErrorName))") }
        _ = cuDeviceGetCount(&n)
        guard n > 0 else { throw TensorError.deviceUnavailable("cuda: the NVIDIA driver sees no GPU") }
        deviceCount = n
    }

    static func name(_ s: Status, _ f: @convention(c) (Status, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Status) -> String {
        var p: UnsafePointer<CChar>? = nil
        return f(s, &p) == 0 && p != nil ? String(cString: p!) : "CUDA error \(s)"
    }
}
