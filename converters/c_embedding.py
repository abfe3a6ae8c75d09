"""The two ways the C runtime can hold an embedding, and how to choose.

* ``table``: the quantized table ``(vocab, E)`` (int8 or int16 per precision); each token is looked up
  and multiplied by the first GRU layer's input weights ``W (E, 3H)`` like any input.
* ``folded``: for every token the first layer's whole input projection ``x_all = requant(x W + b_i)``
  (Q3.12) is computed at export time and stored ``(vocab, cols)``; a token step then skips the
  ``E x 3H`` input product. Same integers (the fold is computed with the kernels' own rule), but the
  table is ``cols / E`` times wider and int16/int32 instead of int8/int16.

``auto`` picks ``folded`` only when the whole export's constants are no larger than with ``table``
(the exact :func:`converters.c_layout.layout_bytes` of both), so a large vocabulary never trades flash
for speed silently; ``--embedding folded`` asks for it explicitly.
"""

from __future__ import annotations

from converters.c_layout import layout_bytes
from edge_gru.errors import EdgeGruError
from edge_gru.fixed.model import FixedModel

EMBEDDING_LAYOUTS = ("auto", "table", "folded")


def layout_sizes(fm: FixedModel) -> dict[str, int]:
    """Constant bytes of the whole C export with each layout (:func:`converters.c_layout.layout_bytes`)."""
    return {layout: layout_bytes(fm, layout) for layout in ("table", "folded")}


def choose_layout(fm: FixedModel, requested: str) -> str:
    """``table`` or ``folded`` for ``fm`` (feature models: ``table``, the only one that applies).

    Raises:
        EdgeGruError: ``folded`` asked for a model without an embedding.
    """
    if requested not in EMBEDDING_LAYOUTS:
        raise EdgeGruError(f"unknown embedding layout {requested!r}; choose {', '.join(EMBEDDING_LAYOUTS)}")
    if fm.embedding is None:
        if requested == "folded":
            raise EdgeGruError("--embedding folded needs a model with an Embedding layer")
        return "table"
    if fm.window:
        if requested == "folded":
            raise EdgeGruError("--embedding folded is not supported for a model with a Bidirectional or go_backwards "
                               "GRU (the fold holds the forward direction's input product only); use table")
        return "table"
    if requested != "auto":
        return requested
    sizes = layout_sizes(fm)
    return "folded" if sizes["folded"] <= sizes["table"] else "table"


__all__ = ["EMBEDDING_LAYOUTS", "choose_layout", "layout_sizes"]
