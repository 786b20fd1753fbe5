// KernelBench: `swift run -c release KernelBench [--threads N] [--quick] [--only NAME] [--gemm-shapes]`.
// The measuring code lives in Bench.swift (top-level code here is @MainActor).
import Tensors

KernelBench.run(arguments: Array(CommandLine.arguments.dropFirst()))
