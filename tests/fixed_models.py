"""Helpers that alter fixed-point models for the conformance tests."""

import numpy as np


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
