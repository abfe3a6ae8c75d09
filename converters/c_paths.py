"""Which runtime paths a model's C export uses: the ``EG_MODEL_USES_*`` and ``EG_MODEL_PAIRS_*`` lines of its
``model.h`` (``edge_gru.c``, compiled next to it, builds only those), and the weight layout actually written."""

from __future__ import annotations

import numpy as np

from converters.c_layout import c_entries, fast_requant, pad2
from edge_gru.fixed.model import FixedModel

#: the pairs kernel's copies per exact K (model.h ``EG_MODEL_PAIRS_K1..4``): at most this many. A product of at most
#: PAIRS_STRAIGHT_MAX_K inputs gets a straight-line copy (no loop turn; its code grows with K, about 72 bytes per 4
#: inputs on a Cortex-M4), a longer one (up to PAIRS_ROLLED_MAX_K) a rolled copy: its groups PAIRS_ROLL a loop turn,
#: the remainder of K / 4 groups in a straight line, so its code stays under 2 PAIRS_ROLL - 1 groups whatever K
#: (edge_gru_dsp_pairs.h: EG_PAIRS_STRAIGHT_K, EG_PAIRS_ROLL); a part's cache limit ``max_k`` admits it when a loop
#: turn's groups fit it (PAIRS_ROLLED_MIN_K inputs); the other products take the loop copy of their K & 6 (two groups
#: a turn)
PAIRS_EXACT_COPIES = 4
PAIRS_STRAIGHT_MAX_K = 24
PAIRS_ROLL = 6   # (4 on the Cortex-M7)
PAIRS_ROLLED_MIN_K = 4 * PAIRS_ROLL
PAIRS_ROLLED_MAX_K = 254
#: the largest ``straight_max_k`` (the part's instruction cache's limit on a copy's inputs; see ``export_c``)
PAIRS_EXACT_MAX_K = 64


def effective_matrix_layout(fm: FixedModel, matrix: str, folded: bool = False) -> str:
    """``matrix``, or ``blocks`` for ``pairs`` when the pairs kernel would not run every GRU product: int16 weights,
    64-bit accumulators, or a product without a bias or one-instruction requantization (w8a8's, typically; the pairs
    layout has only plain C loops for those, the blocks layout its DSP and ARMv6-M kernels)."""
    if matrix != "pairs":
        return matrix
    slow = (fm.precision.w_bits != 8 or any(g["b_i"].dtype != np.int32 for g, _, _ in c_entries(fm))
            or i8_products(fm, folded, "pairs")[1])
    return "blocks" if slow else matrix


def uses(fm: FixedModel, folded: bool, matrix: str = "blocks", max_k: int = PAIRS_EXACT_MAX_K) -> dict[str, bool]:
    """Which runtime paths ``fm`` uses (``EG_MODEL_USES_*`` in model.h: edge_gru.c compiles only these)."""
    entries = [g for g, _, _ in c_entries(fm)]
    acc64 = [g["b_i"].dtype == np.int64 for g in entries] + [d["b"].dtype == np.int64 for d in fm.dense]
    after = [bool(g["reset_after"]) for g in entries]
    w16, a8 = fm.precision.w_bits == 16, fm.precision.a_bits == 8
    fast_ks, generic = fast_products(fm, folded, matrix)
    fast = {k & 6 for k in fast_ks - set(pairs_exact_ks(fm, folded, matrix, max_k))}
    return {"W8": not w16, "W16": w16, "A8": a8, "A16": not a8, "ACC32": not all(acc64), "ACC64": any(acc64),
            "RESET_AFTER": any(after), "RESET_BEFORE": not all(after), "FEATURES": not folded,   # eg_step: W needed
            "TABLE": fm.embedding is not None and not folded, "FOLD": folded, "DENSE": bool(fm.dense),
            "BLOCKS": matrix == "blocks", "ROWS": matrix == "rows", "PAIRS": matrix == "pairs",
            "PER_STEP": fm.per_step, "WINDOW": fm.window,
            **{f"I8_K{k}": k in fast for k in (0, 2, 4, 6)}, "I8_GENERIC": generic}


def pairs_exact_ks(fm: FixedModel, folded: bool, matrix: str = "pairs", max_k: int = PAIRS_EXACT_MAX_K) -> list[int]:
    """The inputs K of the products the pairs kernel runs in a copy of their own, the smallest first: a straight-line
    copy for K <= PAIRS_STRAIGHT_MAX_K, a rolled one above, within ``max_k`` (the part's instruction cache: a
    straight-line copy longer than ``max_k`` inputs, or a rolled one whose loop turn is, is left to the loop copy;
    see ``export_c``); empty for the other layouts."""
    if matrix != "pairs":
        return []
    chosen: list[int] = []
    for k in sorted(fast_products(fm, folded, matrix)[0]):
        fits = (k <= PAIRS_ROLLED_MAX_K and max_k >= PAIRS_ROLLED_MIN_K if k > PAIRS_STRAIGHT_MAX_K
                else k <= max_k)
        if len(chosen) < PAIRS_EXACT_COPIES and fits:
            chosen.append(k)
    return chosen


def pairs_exact_defines(fm: FixedModel, folded: bool, matrix: str, max_k: int = PAIRS_EXACT_MAX_K) -> list[str]:
    """The ``#define EG_MODEL_PAIRS_K*`` lines of model.h (0: no copy) and the limit they were chosen under."""
    ks = pairs_exact_ks(fm, folded, matrix, max_k)
    ks += [0] * (PAIRS_EXACT_COPIES - len(ks))
    return ["/* the pairs kernel's copies per product: each one's inputs K (0: none; none in the generic build), a "
            f"straight-line copy up to {PAIRS_STRAIGHT_MAX_K} inputs, a rolled one above, within "
            "EG_MODEL_PAIRS_MAX_K (convert --target: what the part's instruction cache holds) */\n",
            f"#define EG_MODEL_PAIRS_MAX_K {max_k}\n",
            *[f"#define EG_MODEL_PAIRS_K{i + 1} {k}\n" for i, k in enumerate(ks)]]


def i8_products(fm: FixedModel, folded: bool, matrix: str = "blocks") -> tuple[set[int], bool]:
    """The int8-weight, int32-accumulator products of the blocks and pairs layouts (the DSP kernels'): the ``K & 6``
    of those with a bias and one-instruction requantization (the assembly kernels have one copy per ``K & 6``), and
    whether any other runs (the C loop: no bias, other shifts, reset_after=False's recurrent products)."""
    fast, generic = fast_products(fm, folded, matrix)
    return {k & 6 for k in fast}, generic


def fast_products(fm: FixedModel, folded: bool, matrix: str = "blocks") -> tuple[set[int], bool]:
    """As :func:`i8_products`, with the inputs K (padded to even) of the fast products instead of their ``K & 6``."""
    fast: set[int] = set()
    generic = False
    if matrix == "rows" or fm.precision.w_bits != 8:
        return fast, generic
    for i, (g, _, _) in enumerate(c_entries(fm)):
        if g["b_i"].dtype != np.int32:
            continue
        products = [("h", pad2(g["units"]), bool(g["reset_after"]))]
        if not (folded and i == 0):
            products.append(("x", pad2(g["input_dim"]), True))
        for part, inputs, may_be_fast in products:
            if may_be_fast and g["use_bias"] and fast_requant(g, part) is not None:
                fast.add(inputs)
            else:
                generic = True
    return fast, generic


def uses_defines(fm: FixedModel, folded: bool, matrix: str = "blocks", max_k: int = PAIRS_EXACT_MAX_K) -> list[str]:
    """The ``#define EG_MODEL_USES_*`` lines of model.h."""
    lines = ["/* The runtime paths this model uses: edge_gru.c built next to this file compiles only these (one model\n"
             " * per firmware); build it with -DEG_GENERIC for every path (several models). */\n"]
    return lines + [f"#define EG_MODEL_USES_{k} {int(v)}\n" for k, v in uses(fm, folded, matrix, max_k).items()]


__all__ = ["PAIRS_EXACT_COPIES", "PAIRS_EXACT_MAX_K", "PAIRS_ROLL", "PAIRS_ROLLED_MAX_K", "PAIRS_ROLLED_MIN_K",
           "PAIRS_STRAIGHT_MAX_K", "effective_matrix_layout", "fast_products", "i8_products", "pairs_exact_defines",
           "pairs_exact_ks", "uses", "uses_defines"]
