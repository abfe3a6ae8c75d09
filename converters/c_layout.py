"""Where every constant of a fixed-point model goes in the C export, and how many bytes it takes.

The weight layout the C kernels read (``edge_gru.h`` describes it), the gate column padding, the scratch
length, the MACs the kernels execute with the padding, the folded embedding table, and the exact byte
counts. :mod:`converters.c_export` writes these arrays; :mod:`converters.c_embedding` chooses the
embedding layout from the byte counts here.
"""

from __future__ import annotations

import numpy as np

from edge_gru.fixed import kernels as K
from edge_gru.fixed.directions import MERGE_CODES, directions, layer_output_dim
from edge_gru.fixed.model import FixedModel

#: eg_gru_t.dir codes (edge_gru.h EG_DIR_*)
DIR_FORWARD, DIR_PAIR, DIR_BACKWARD = 0, 1, 2


def c_entries(fm: FixedModel) -> list[tuple[dict, int, int]]:
    """The ``eg_model_t.gru`` entries: ``(direction's dict, EG_DIR_*, EG_MERGE_*)``, a Bidirectional layer as its
    forward then its backward direction."""
    out = []
    for g in fm.grus:
        if g.get("backward") is not None:
            out += [(g, DIR_FORWARD, 0), (g["backward"], DIR_PAIR, MERGE_CODES[g["merge"]])]
        else:
            out.append((g, DIR_BACKWARD if g.get("go_backwards") else DIR_FORWARD, 0))
    return out


def window_sizes(fm: FixedModel) -> tuple[int, int]:
    """``(window, width)``: the most steps a window model's buffers hold (its sequence length; 0 for a streaming
    model) and the widest row they hold (the input features, every layer's output)."""
    if not fm.window:
        return 0, 0
    return int(fm.timesteps or 0), max([fm.features, *(layer_output_dim(g) for g in fm.grus)])


def pad4(n: int) -> int:
    return (n + 3) // 4 * 4


def gate_columns(H: int, reset_after: bool) -> tuple[int, int]:
    """``(cols, hoff)``: padded column count and the candidate gate's first column (see edge_gru.h)."""
    if reset_after:
        return pad4(3 * H), 2 * H
    return pad4(2 * H) + pad4(H), pad4(2 * H)


def pad_gates(a: np.ndarray, H: int, reset_after: bool, fill: int = 0) -> np.ndarray:
    """``(..., 3H)`` -> ``(..., cols)``: z, r, h columns placed as the kernel expects, padding = ``fill``."""
    cols, hoff = gate_columns(H, reset_after)
    out = np.full((*a.shape[:-1], cols), fill, a.dtype)
    out[..., :2 * H] = a[..., :2 * H]
    out[..., hoff:hoff + H] = a[..., 2 * H:3 * H]
    return out


def pad2(n: int) -> int:
    return (n + 1) // 2 * 2


def kernel_layout(W: np.ndarray, H: int, reset_after: bool = True) -> np.ndarray:
    """GRU weights ``(in, 3H)`` -> the kernel's flat layout (see edge_gru.h).

    Blocks of 4 columns; the inputs, padded to an even count K, in groups of 4: a group holds 4 columns
    x 4 weights (int8 ordered w0, w2, w1, w3 for SXTB16); when K = 2 mod 4 a last half group holds
    4 columns x 2 weights (int8: c0w0, c1w0, c0w1, c1w1, c2w0, ...; int16: c0w0, c0w1, c1w0, ...).
    """
    Wp = pad_gates(W, H, reset_after)
    K, nb = pad2(W.shape[0]), Wp.shape[1] // 4
    K4 = K // 4 * 4
    Wk = np.zeros((K, Wp.shape[1]), W.dtype)
    Wk[:W.shape[0]] = Wp
    blocks = Wk[:K4].reshape(K4 // 4, 4, nb, 4).transpose(2, 0, 3, 1)   # (block, group, column, element)
    if W.dtype == np.int8:
        blocks = blocks[..., [0, 2, 1, 3]]
    parts = [blocks.reshape(nb, -1)]
    if K > K4:
        half = Wk[K4:].reshape(2, nb, 4).transpose(1, 2, 0)               # (block, column, element)
        if W.dtype == np.int8:                                           # (block, pair, element, column)
            half = half.reshape(nb, 2, 2, 2).transpose(0, 1, 3, 2)
        parts.append(half.reshape(nb, -1))
    return np.ascontiguousarray(np.concatenate(parts, axis=1)).ravel()


def pairs_layout(W: np.ndarray, H: int, reset_after: bool = True) -> np.ndarray:
    """int8 GRU weights ``(in, 3H)`` -> the pairs layout (see edge_gru.h): the blocks layout's blocks, groups and
    half group, but a 32-bit word holds a pair of columns (c, c+1) at two inputs (k, k+1): bytes ``c wk + 128``
    (unsigned), ``c+1 wk``, ``c wk+1 + 128``, ``c+1 wk+1``; a group is the words (c0 c1, k0 k1), (c0 c1, k2 k3),
    (c2 c3, k0 k1), (c2 c3, k2 k3). Read as two int16, a word is ``256 (c+1 w) + c w + 128`` per input, so one
    SMLAD accumulates ``256 a_(c+1) + a_c + 128 sum x`` and one SXTB16 + SMLAD ``a_(c+1)``: 3 DSP instructions
    per 4 MACs instead of 4. int16 weights keep the blocks layout."""
    if W.dtype != np.int8:
        return kernel_layout(W, H, reset_after)
    Wp = pad_gates(W, H, reset_after)
    K, nb = pad2(W.shape[0]), Wp.shape[1] // 4
    K4 = K // 4 * 4
    Wk = np.zeros((K, Wp.shape[1]), np.int8)
    Wk[:W.shape[0]] = Wp
    Wk = Wk.reshape(K, nb, 2, 2).copy()                                  # (input, block, pair, column in pair)
    Wk[..., 0] = (Wk[..., 0].view(np.uint8) ^ 0x80).view(np.int8)        # c wk + 128 as an unsigned byte
    groups = Wk[:K4].reshape(K4 // 4, 2, 2, nb, 2, 2).transpose(3, 0, 4, 1, 2, 5)   # (block, group, pair, k>>1, k&1, c)
    parts = [groups.reshape(nb, -1)]
    if K > K4:
        parts.append(Wk[K4:].transpose(1, 2, 0, 3).reshape(nb, -1))           # (block, pair, k&1, c)
    return np.ascontiguousarray(np.concatenate(parts, axis=1)).ravel()


#: how a GRU's weights are stored in the C export (``eg_gru_t.layout``): ``blocks`` for the ARMv6-M, DSP and
#: portable kernels, ``pairs`` for the DSP kernels of the Cortex-M4/M7/M33 (fewer instructions per MAC; other builds
#: run plain loops over it), ``rows`` for the Helium (MVE) kernel of the Cortex-M55 (other builds: plain loops)
MATRIX_LAYOUTS = ("blocks", "pairs", "rows")


def pad8(n: int) -> int:
    return (n + 7) // 8 * 8


def rows_chunk(g: dict, a_bits: int) -> int:
    """Inputs per chunk of the rows layout for a GRU layer: 16 for int8 weights against int8 activations with int32
    accumulators (the Helium kernel's VMLADAVA.S8 takes 16), else 8 (VMLADAVA.S16 / VMLALDAVA.S16)."""
    return 16 if g["W"].dtype == np.int8 and a_bits == 8 and g["b_i"].dtype == np.int32 else 8


def rows_layout(W: np.ndarray, H: int, reset_after: bool = True, chunk: int = 8) -> np.ndarray:
    """GRU weights ``(in, 3H)`` -> the rows layout (see edge_gru.h): per block of 4 columns, the inputs in chunks
    of ``chunk`` (K padded to a multiple of it with zeros), each chunk holding ``chunk`` weights of each of the 4
    columns in turn; a chunk of 16 stores a column's weights interleaved, inputs 0, 8, 1, 9, ..., 7, 15 (the order
    in which VMOVNB/VMOVNT pack 16 inputs into one int8 vector)."""
    Wp = pad_gates(W, H, reset_after)
    KC, nb = (W.shape[0] + chunk - 1) // chunk * chunk, Wp.shape[1] // 4
    Wk = np.zeros((KC, Wp.shape[1]), W.dtype)
    Wk[:W.shape[0]] = Wp
    chunks = Wk.reshape(KC // chunk, chunk, nb, 4).transpose(2, 0, 3, 1)      # (block, chunk, column, element)
    if chunk == 16:
        chunks = chunks[..., np.arange(16).reshape(2, 8).T.ravel()]          # 0, 8, 1, 9, ...
    return np.ascontiguousarray(chunks).ravel()


def matrix_layout(W: np.ndarray, H: int, reset_after: bool, layout: str, chunk: int = 8) -> np.ndarray:
    """``W`` stored for ``layout`` (one of :data:`MATRIX_LAYOUTS`; ``chunk``: see :func:`rows_chunk`)."""
    if layout not in MATRIX_LAYOUTS:
        raise ValueError(f"unknown matrix layout {layout!r}")
    if layout == "rows":
        return rows_layout(W, H, reset_after, chunk)
    return pairs_layout(W, H, reset_after) if layout == "pairs" else kernel_layout(W, H, reset_after)


def is_folded(fm: FixedModel, embedding: str) -> bool:
    return fm.embedding is not None and embedding == "folded"


def fast_requant(g: dict, part: str) -> np.ndarray | None:
    """``m * 2^(32-n)`` per padded column of a GRU layer's ``x`` or ``h`` product (int32), the multipliers of the
    kernels' one-instruction requantization, when the accumulator is int32 and every shift is in [16, 32];
    else ``None`` (the table is not written)."""
    H, ra = g["units"], bool(g["reset_after"])
    n, m = pad_gates(g["n" + part], H, ra, fill=17), pad_gates(g["m" + part], H, ra)
    if g["b_i"].dtype != np.int32 or n.min() < 16 or n.max() > 32:
        return None
    return (m.astype(np.int64) << (32 - n.astype(np.int64))).astype(np.int32)


def step_scratch_len(fm: FixedModel) -> int:
    """int32 entries of scratch one step and the head use (see eg_step and eg_output in edge_gru.c)."""
    entries = [g for g, _, _ in c_entries(fm)]
    kx = [pad2(g["input_dim"]) for g in entries]
    step = max(kx) + max(pad2(g["units"]) + 2 * gate_columns(g["units"], g["reset_after"])[0] + g["units"]
                         for g in entries)
    widths = [layer_output_dim(fm.grus[-1])] + [d["units"] for d in fm.dense]
    return max(step, 2 * max(widths))


def scratch_len(fm: FixedModel) -> int:
    """int32 entries of the scratch buffer: a step's and the head's, then (window models) the two int16 sequence
    buffers of ``window * width`` entries each (:func:`window_sizes`)."""
    window, width = window_sizes(fm)
    return step_scratch_len(fm) + window * width


def kernel_macs(fm: FixedModel, timesteps: int, embedding: str = "table") -> int:
    """Multiply-accumulates the C kernels execute per sequence, the layout's zero padding included."""
    step = sum(gate_columns(g["units"], g["reset_after"])[0] * (pad2(g["input_dim"]) + pad2(g["units"]))
               for g, _, _ in c_entries(fm))
    if is_folded(fm, embedding):           # the first layer's input product is looked up
        g = fm.grus[0]
        step -= gate_columns(g["units"], g["reset_after"])[0] * pad2(g["input_dim"])
    return timesteps * step + (timesteps if fm.per_step else 1) * sum(d["units"] * d["input_dim"] for d in fm.dense)


def layout_bytes(fm: FixedModel, embedding: str = "table", matrix: str = "blocks") -> int:
    """Bytes of constant model data in the C export (kernel layout ``matrix``, padding included, and tables)."""
    total = fm.sig_tab.nbytes + fm.tanh_tab.nbytes
    folded = is_folded(fm, embedding)
    if folded:
        g = fm.grus[0]
        total += fm.vocab * gate_columns(g["units"], g["reset_after"])[0] * np.dtype(
            fold_dtype(fold_table(fm))).itemsize
    elif fm.embedding is not None:
        total += fm.embedding["table"].nbytes
    for i, (g, _, _) in enumerate(c_entries(fm)):
        H, wb = g["units"], g["W"].itemsize
        ra, cols = g["reset_after"], gate_columns(H, g["reset_after"])[0]
        chunk = rows_chunk(g, fm.precision.a_bits)
        w_size = 0 if folded and i == 0 else matrix_layout(g["W"], H, ra, matrix, chunk).size
        total += (w_size + matrix_layout(g["U"], H, ra, matrix, chunk).size) * wb
        total += cols * (2 * g["b_i"].itemsize + 4 * 4)
        total += sum(rq.nbytes for rq in (fast_requant(g, "x"), fast_requant(g, "h")) if rq is not None)
    for d in fm.dense:
        total += d["W"].nbytes + d["b"].nbytes + d["m"].nbytes + d["n"].nbytes
    return total


def memory_figures(fm: FixedModel, embedding: str = "table", matrix: str = "blocks") -> dict[str, int]:
    """Bytes the model needs, exact: constant data (flash) and state + scratch (RAM)."""
    state = 2 * sum(d["units"] for g in fm.grus for d in directions(g))
    scratch = 4 * scratch_len(fm)
    return {"constant_bytes": layout_bytes(fm, embedding, matrix), "state_bytes": state, "scratch_bytes": scratch,
            "ram_bytes": state + scratch}


def fold_table(fm: FixedModel) -> np.ndarray:
    """``(vocab, 3H)`` first-layer ``requant(b_i + table_q W, mx, nx)`` of every token (int64 values)."""
    g = fm.grus[0]
    acc = fm.embedding["table"].astype(np.int64) @ g["W"].astype(np.int64)        # x W
    if g["use_bias"]:
        acc = acc + g["b_i"].astype(np.int64)                                       # + b_i
    return K.requant_columns(acc, g["mx"].astype(np.int64), g["nx"].astype(np.int64))  # requant -> Q3.12


def fold_dtype(fold: np.ndarray) -> type:
    """int16 when every folded value fits, else int32 (the kernels add it to the recurrent part unsaturated)."""
    return np.int16 if fold.size == 0 or (fold.min() >= -32768 and fold.max() <= 32767) else np.int32
