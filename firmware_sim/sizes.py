"""Section sizes of the C runtime + model objects per core (what the model adds to a firmware)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from firmware_sim.elf import read_elf
from firmware_sim.toolchain import Compiler, compile_object, runtime_defines

SIZE_CORES = ("cortex-m0plus", "cortex-m4", "cortex-m7")


def object_sizes(c_folder: str | Path, core: str, cc: Compiler | None = None) -> dict[str, int]:
    """``text``/``rodata``/``data``/``bss`` bytes of ``edge_gru.o`` + ``model.o`` compiled at -O2 for ``core``, and
    ``runtime_text``/``generic_text``: the ``.text`` of ``edge_gru.o`` alone as built for this model and with
    ``-DEG_GENERIC`` (every path); with the core's tuning defines (:func:`~firmware_sim.toolchain.runtime_defines`)."""
    c_folder = Path(c_folder)
    tuning = runtime_defines(core)
    total = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for src in ("edge_gru.c", "model.c"):
            obj = compile_object(c_folder / src, core, Path(tmp) / (src + ".o"), include_dirs=(c_folder,), cc=cc,
                                 defines=tuning)
            sizes = read_elf(obj).sizes()
            for k, v in sizes.items():
                total[k] += v
            if src == "edge_gru.c":
                total["runtime_text"] = sizes["text"]
        generic = compile_object(c_folder / "edge_gru.c", core, Path(tmp) / "generic.o", include_dirs=(c_folder,),
                                 cc=cc, defines=("EG_GENERIC", *tuning))
        total["generic_text"] = read_elf(generic).sizes()["text"]
    return total


def sizes_markdown(rows: dict[str, dict[str, int]], compiler: str) -> str:
    """A Markdown table of :func:`object_sizes` per core."""
    lines = [f"## Measured section sizes (runtime + model objects, -O2, {compiler})", "",
             "| core | .text | .rodata | .data | .bss | flash (.text+.rodata+.data) | runtime .text (-DEG_GENERIC) |",
             "|---|---|---|---|---|---|---|"]
    for core, s in rows.items():
        lines.append(f"| {core} | {s['text']:,} | {s['rodata']:,} | {s['data']:,} | {s['bss']:,} | "
                     f"{s['text'] + s['rodata'] + s['data']:,} | {s['runtime_text']:,} ({s['generic_text']:,}) |")
    return "\n".join(lines) + "\n"


__all__ = ["SIZE_CORES", "object_sizes", "sizes_markdown"]
