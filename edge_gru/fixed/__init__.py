"""Fixed-point GRU: quantization, integer kernels (Numba), the ``.egru`` model file."""
