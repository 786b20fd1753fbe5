import Tensors
print("KernelBench: kernels not yet implemented")
