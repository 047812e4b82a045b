// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "recur",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "NN", targets: ["NN"]),
        .executable(name: "recur-bench", targets: ["recur-bench"]),
        .executable(name: "tok", targets: ["tok"]),
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
        // Hand-written hot kernels; FMA/AVX-512 picked at run time (target_clones).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
        // Tensors, autograd tape, backends.
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"]),
        // Layers, cells, losses, optimisers.
        .target(name: "NN", dependencies: ["Tensor"]),
        // The stream format: records, reader, writer, meta.
        .target(name: "TensorStream", dependencies: ["CZlib"]),
        // What every tool shares: argument conventions, errors, inputs and outputs.
        .target(name: "ToolKit", dependencies: [
            "TensorStream", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Text: BERT WordPiece, word tokenisation, vocabularies.
        .target(name: "TextKit"),
        .executableTarget(name: "tok", dependencies: [
            "TextKit", "TensorStream", "ToolKit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "recur-bench", dependencies: [
            "NN", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "TensorStreamTests", dependencies: ["TensorStream", "ToolKit"]),
        .testTarget(name: "NNTests", dependencies: ["NN"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokTests", dependencies: ["TextKit", "TensorStream", "ToolKit", "CZlib"],
                    resources: [.copy("Fixtures")]),
    ]
)
