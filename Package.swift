// swift-tools-version:6.0
// The cnx package: a terminal workbench for ConvNeXt (see DESIGN.md in ../shared
// and docs/architecture.md). Dependencies point down the list of targets.
import PackageDescription
import Foundation

/// Kernel modules need a target CPU: without it Swift lowers SIMD FMA to one
/// `fmaf` call per lane (15-95x slower, ../shared/notes/swift-kernels.md).
/// The level is the build machine's: x86-64-v4 (AVX-512) where its CPU has it,
/// else x86-64-v3 (AVX2 + FMA), the same code in 8-lane registers; the bits are
/// the same on both (lane-wise IEEE operations, FMA on both), only the speed
/// differs. `CNX_MARCH=x86-64-v3` (or v4) overrides it, e.g. to build on one
/// machine for another. `cnx` checks at start-up that its CPU has what the
/// binary was built for (`KernelTarget` in Tensors, `CPUCheck` in Shell).
let kernelMarch: String = {
    if let forced = ProcessInfo.processInfo.environment["CNX_MARCH"], !forced.isEmpty { return forced }
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return "x86-64-v4" }  // not Linux: keep the level the project was measured on
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    let avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
    return avx512 ? "x86-64-v4" : "x86-64-v3"
}()

let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-Xcc", "-march=\(kernelMarch)"]),
    .define(kernelMarch == "x86-64-v4" ? "CNX_X86_64_V4" : "CNX_X86_64_V3"),
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
    // Kernels are optimised in debug builds too, so `swift test` runs them at speed.
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

let package = Package(
    name: "cnx",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cnx", targets: ["cnx"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        // System libraries (Debian packages; scripts/bootstrap installs them).
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        .systemLibrary(name: "CImageCodecs", pkgConfig: "libpng", providers: [.apt(["libturbojpeg0-dev", "libpng-dev"])]),
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),

        // OpenBLAS, loaded at run time with the same kernels on every CPU
        // (Sources/CBLAS/BLASLoader.c); Debian's libopenblas-dev provides it.
        .target(name: "CBLAS", linkerSettings: [.linkedLibrary("dl")]),
        // bf16 GEMM kernels in C: AVX512-BF16 intrinsics behind a CPU check,
        // and their emulation for other CPUs (docs/bf16.md, "Kernels").
        .target(name: "CBF16Kernels", cSettings: [
            // -Wno-psabi: the emulation's 64-byte vector helpers are static inline,
            // so the x86-64-v3 build's note that their ABI differs from AVX-512's is moot.
            .unsafeFlags(["-march=\(kernelMarch)", "-O3", "-fno-math-errno", "-ffp-contract=off", "-Wno-psabi"]),
        ]),

        // Library modules, lowest first.
        .target(name: "Tensors", dependencies: [
            "CBLAS", "CBF16Kernels",
            .product(name: "OrderedCollections", package: "swift-collections"),
        ], swiftSettings: kernelFlags),
        .target(name: "JaxRandom", dependencies: [
            "Tensors",
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: kernelFlags),
        // JSONValue and JSON string quoting: command results, transcripts, headers.
        .target(name: "JSON"),
        .target(name: "SafeTensors", dependencies: ["Tensors", "JSON"]),
        .target(name: "Models", dependencies: ["Tensors", "JaxRandom", "SafeTensors"], swiftSettings: kernelFlags),
        .target(name: "Optimizers", dependencies: ["Tensors"], swiftSettings: kernelFlags + [.unsafeFlags(["-Xcc", "-fno-math-errno"])]),
        .target(name: "Datasets", dependencies: ["Tensors", "JaxRandom", "CImageCodecs"], swiftSettings: kernelFlags),
        .target(name: "Training", dependencies: ["Tensors", "JaxRandom", "SafeTensors", "Models", "Optimizers", "Datasets"], swiftSettings: kernelFlags),
        .target(name: "Sessions", dependencies: [
            "Tensors", "JaxRandom", "JSON", "SafeTensors", "Models", "Optimizers", "Training",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Shell", dependencies: [
            "Tensors", "JaxRandom", "JSON", "SafeTensors", "Models", "Optimizers", "Datasets",
            "Training", "Sessions", "CEditLine",
            .product(name: "OrderedCollections", package: "swift-collections"),
        ]),
        .target(name: "JupyterKernel", dependencies: [
            "Shell", "Sessions", "Datasets", "JSON", "CZeroMQ",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // MPI's world as the replicas of a data-parallel job; only the executable starts it.
        .target(name: "Distributed", dependencies: ["Tensors", "CMPI"]),
        .executableTarget(name: "cnx", dependencies: [
            "Shell", "JupyterKernel", "Tensors", "JaxRandom", "Distributed",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "KernelBench", dependencies: ["Tensors", "JaxRandom", "Models"],
                          path: "Benchmarks/KernelBench", swiftSettings: kernelFlags),

        // Tests mirror the modules.
        .target(name: "TestSupport", dependencies: ["Tensors"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "TestSupport",
            .product(name: "RealModule", package: "swift-numerics")]),
        .testTarget(name: "JaxRandomTests", dependencies: ["JaxRandom", "Tensors", "TestSupport",
            .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "TestSupport",
            .product(name: "Crypto", package: "swift-crypto")], exclude: ["Fixtures"]),
        .testTarget(name: "OptimizersTests", dependencies: ["Optimizers", "SafeTensors", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "SafeTensors", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "SessionsTests", dependencies: ["Sessions", "TestSupport"]),
        .testTarget(name: "ShellTests", dependencies: ["Shell", "JSON", "TestSupport"]),
        .testTarget(name: "JupyterKernelTests", dependencies: ["JupyterKernel", "Shell", "Sessions", "Datasets", "JSON", "CZeroMQ", "TestSupport"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "SafeTensors", "TestSupport"]),
    ]
)
