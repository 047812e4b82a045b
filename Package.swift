// swift-tools-version:6.1
import Foundation
import PackageDescription

let package = Package(
    name: "recur",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "NN", targets: ["NN"]),
        .executable(name: "recur-bench", targets: ["recur-bench"]),
        .executable(name: "wav2seq", targets: ["wav2seq"]),
        .executable(name: "tok", targets: ["tok"]),
    ],
    traits: [
        // Data-parallel fit under mpirun: swift build -c release --traits MPI --build-path .build-mpi
        // (needs libopenmpi-dev or libmpich-dev). A plain build never touches MPI.
        .trait(name: "MPI", description: "Build fit with MPI (Open MPI or MPICH) for data-parallel training."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, libsndfile1-dev).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile",
                       providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // MPI, only in a build with the MPI trait (Debian's mpi-c: Open MPI or MPICH).
        .systemLibrary(name: "CMPI", pkgConfig: "mpi-c", providers: [.apt(["libopenmpi-dev"])]),
        // Hand-written hot kernels; FMA/AVX-512 picked at run time (target_clones).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
        // What every backend implements (the Backend protocol), devices, errors.
        .target(name: "TensorCore", path: "Sources/Backends/Core"),
        // OpenBLAS's wide kernels on a CPU newer than it: OPENBLAS_CORETYPE set, the program restarted.
        .target(name: "BLASCore", dependencies: ["CBLAS"], path: "Sources/Backends/BLASCore"),
        // The CPU backend: OpenBLAS and the hand-written kernels.
        .target(name: "TensorCPU", dependencies: ["TensorCore", "CBLAS", "CKernels", "BLASCore"], path: "Sources/Backends/CPU"),
        // The CUDA backend: driver, NVRTC and cuBLAS opened at run time (dlopen), nothing linked.
        .target(name: "TensorCUDA", dependencies: ["TensorCore"], path: "Sources/Backends/CUDA"),
        // Seeded random numbers, the same on every machine (no BLAS: the data tools use it).
        .target(name: "Random"),
        // Tensors, autograd tape, the backend registry.
        .target(name: "Tensor", dependencies: ["Random", "TensorCore", "TensorCPU", "TensorCUDA"]),
        // Layers, cells, losses, optimisers.
        .target(name: "NN", dependencies: ["Tensor"]),
        // Model specs and presets, checkpoints, the training loop: what fit/predict/sample/ppl share.
        .target(name: "Models", dependencies: ["NN", "TensorStream"]),
        // The stream format: records, reader, writer, meta.
        .target(name: "TensorStream", dependencies: ["CZlib"], plugins: ["VersionStamp"]),
        // Writes the commit of the build into TensorStream (RecurVersion), before each build.
        .plugin(name: "VersionStamp", capability: .buildTool()),
        // What every tool shares: argument conventions, errors, inputs and outputs.
        .target(name: "ToolKit", dependencies: [
            "TensorStream", "CKernels", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "charidx", dependencies: ["ToolKit", "Random"]),
        .executableTarget(name: "num2seq", dependencies: ["ToolKit"]),
        .executableTarget(name: "batch", dependencies: ["ToolKit", "Random", "CKernels"]),
        .executableTarget(name: "seqinfo", dependencies: ["ToolKit"]),
        // The processes a training run is spread over: this one alone, or an MPI job.
        .target(name: "Communicators", dependencies: ["Models", .target(name: "CMPI", condition: .when(traits: ["MPI"]))]),
        .executableTarget(name: "fit", dependencies: ["ToolKit", "Models", "Communicators", "Plot"]),
        // Pictures of training: SVG line charts, sparklines, fit's log read back.
        .target(name: "Plot"),
        .executableTarget(name: "seqplot", dependencies: ["Plot", "ToolKit", "TensorStream"]),
        .executableTarget(name: "predict", dependencies: ["ToolKit", "Models"]),
        .executableTarget(name: "sample", dependencies: ["ToolKit", "Models", "TextKit"]),
        .executableTarget(name: "ppl", dependencies: ["ToolKit", "Models"]),
        // Text: BERT WordPiece, word tokenisation, vocabularies.
        .target(name: "TextKit"),
        .executableTarget(name: "tok", dependencies: [
            "TextKit", "TensorStream", "ToolKit", "Random",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "recur-bench", dependencies: [
            "NN", "ToolKit", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Audio decoding (libsndfile), resampling, silence trimming, log-mel features.
        .target(name: "AudioKit", dependencies: ["CSndFile"]),
        .executableTarget(name: "wav2seq", dependencies: [
            "AudioKit", "TensorStream", "ToolKit", "CSndFile",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The CUDA kernels compiled for the host, so tests check their logic without a GPU.
        .target(name: "KernelTestSupport", dependencies: ["Tensor", "TensorCUDA", "TestFiles"], path: "Tests/KernelTestSupport"),
        // The tests' files, in a folder of the test process's own that goes when it exits.
        .target(name: "TestFiles", path: "Tests/TestFiles"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TensorCPU", "TensorCUDA", "CKernels", "KernelTestSupport"]),
        .testTarget(name: "TensorStreamTests", dependencies: ["TensorStream", "ToolKit", "TestFiles"]),
        .testTarget(name: "ToolTests", dependencies: [
            "TensorStream", "Models", "Communicators", "KernelTestSupport", "TestFiles", "charidx", "num2seq", "batch", "seqinfo", "fit", "predict", "sample", "ppl", "tok", "wav2seq", "seqplot", "recur-bench", "Plot",
        ]),
        .testTarget(name: "NNTests", dependencies: ["NN", "KernelTestSupport"], resources: [.copy("Fixtures")]),
        // Depends on the wav2seq executable so that it is built before its end-to-end tests run.
        .testTarget(name: "Wav2SeqTests", dependencies: ["AudioKit", "TensorStream", "wav2seq"]),
        .testTarget(name: "TokTests", dependencies: ["TextKit", "TensorStream", "ToolKit", "CZlib", "tok", "TestFiles"],
                    resources: [.copy("Fixtures")]),
    ]
)

// libFuzzer harnesses (scripts/fuzz), only in a build made for them: RECUR_FUZZ=1 swift build
// --sanitize fuzzer. They have no main of their own: libFuzzer's drives LLVMFuzzerTestOneInput.
if ProcessInfo.processInfo.environment["RECUR_FUZZ"] != nil {
    let noMain: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]
    package.targets += [
        .executableTarget(name: "fuzz-stream", dependencies: ["TensorStream"], path: "Fuzz/stream", swiftSettings: noMain),
        .executableTarget(name: "fuzz-checkpoint", dependencies: ["Models"], path: "Fuzz/checkpoint", swiftSettings: noMain),
        .executableTarget(name: "fuzz-text", dependencies: ["TextKit", "ToolKit"], path: "Fuzz/text", swiftSettings: noMain),
        .executableTarget(name: "fuzz-numbers", dependencies: ["ToolKit"], path: "Fuzz/numbers", swiftSettings: noMain),
        .executableTarget(name: "fuzz-audio", dependencies: ["AudioKit"], path: "Fuzz/audio", swiftSettings: noMain),
    ]
}
