"""Helpers that alter fixed-point models for the conformance tests."""

import numpy as np

from edge_gru.fixed.model import quantize_model
from edge_gru.spec import random_spec


def big_odd_biases(fm) -> None:
    """Odd columns' int32 biases of an int8-weight model set to +-2^28 (the sums still fit int32: at most
    127 * 32767 * 38 < 2^28 for the tests' models): the pairs layout stores an even column's bias as
    b_c + 256 b_(c+1), which then wraps modulo 2^32."""
    if fm.precision.w_bits != 8:
        return
    for g in fm.grus:
        for key in ("b_i", "b_h"):
            b = g[key]
            if b.dtype == np.int32 and g["use_bias"]:
                b[1::2] = np.where(np.arange(len(b[1::2])) % 2, 1, -1) * (1 << 28)


def emulator_model(i, rng):
    """Random model number ``i`` of the emulator tests (precision, sizes, head, reset_after, bias and weight scale
    cycle with ``i``) and 12 inputs for it, the first saturated."""
    prec = ["w8a8", "w8a16", "w16a16"][i % 3]
    spec = random_spec(rng, 1 + (i * 5) % 11, [1 + (i * 7) % 23] * (1 + i % 2),
                       [(3, "sigmoid"), (4, "relu"), (2, "softmax")][: i % 4], timesteps=1 + i % 6,
                       reset_after=bool(i % 2), use_bias=i % 5 != 4, scale=0.2 + 0.3 * (i % 4))
    X = rng.normal(0, 2, (12, spec.timesteps, spec.features)).astype(np.float32)
    X[0] *= 50    # saturated inputs
    return quantize_model(spec, X[:6], prec), X
