"""Build the C runtime for a target, emulate it on a data set, report cycles, flash and RAM."""

from __future__ import annotations

import re
import struct
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from importlib.resources import as_file, files
from pathlib import Path

import numpy as np

from converters.c_export import embedding_layout, export_matrix_layout
from converters.c_layout import kernel_macs
from edge_gru.errors import DataError, EdgeGruError, ModelFileError
from edge_gru.fixed.io import load_fixed
from edge_gru.fixed.model import FixedModel
from firmware_sim.elf import read_elf
from firmware_sim.emulator import EmulationResult, Emulator
from firmware_sim.memory import PLACEMENTS
from firmware_sim.targets import Target, uses_qemu
from firmware_sim.toolchain import Compiler, build_elf, resolve_compiler, runtime_defines

IO_HEADER = 0x100
MAGIC = 0x4F494745


@dataclass
class SimResult:
    """Figures of one model on one target; cycles are emulated with the per-core model."""

    target: str
    part: str
    core: str
    clock_mhz: float
    cycle_model: str
    sequences: int
    timesteps: int
    macs_per_sequence: int
    cycles_per_sequence: float
    cycles_per_sequence_min: float
    cycles_per_sequence_max: float
    cycles_per_step: float
    cycles_per_mac: float
    latency_ms: float
    instructions_per_sequence: float
    text_bytes: int
    rodata_bytes: int
    data_bytes: int
    bss_bytes: int
    stack_bytes: int
    flash_bytes: int
    ram_bytes: int
    flash_available: int
    ram_available: int
    fits: bool
    kernel: str = "portable"                                      # "dsp", "armv6m" or "portable"
    padded_macs_per_sequence: int = 0                             # MACs the kernel executes (layout padding)
    loop_cycles_per_mac: float | None = None                      # steady-state inner-loop turns, per MAC
    breakdown: dict[str, float] = field(default_factory=dict)     # function -> cycles per sequence
    outputs: np.ndarray | None = field(default=None, repr=False)  # int32 (N, K)
    method: str = "emulated"
    compiler: dict = field(default_factory=dict)                  # what built the firmware (Compiler.describe)
    steps_per_sequence: float = 0.0                               # real (unmasked) steps fed, on average
    tokens: bool = False                                          # token-id input (cycles_per_step = per token)
    embedding: str = "table"                                      # "table" or "folded" (converters/c_embedding.py)
    placement: str = "flash"                                      # where code and weights run (firmware_sim.memory)
    matrix_layout: str = "blocks"                                 # how the GRU weights were stored (c_layout.py)
    memory: str = ""                                              # the memory system the cycles include, by name
    memory_description: str = ""
    memory_validated: str = ""                                    # what it was checked against ("" = not validated)
    cycles_cold: float = 0.0                                      # first sequence after reset (cold caches)
    stall_cycles_per_sequence: float = 0.0                        # of the warm cycles: memory stalls
    ram_resident_bytes: int = 0                                   # code/constants copied to RAM at start-up
    emulator: str = "unicorn"                                     # what executed the firmware
    loop_floor_cycles_per_mac: float | None = None                # the matrix loop's floor under the core's model
    matrix_loop_cycles_per_sequence: float = 0.0                  # of the cycles: the matrix kernels' inner-loop turns

    def breakdown_total(self, prefix: str | tuple[str, ...]) -> float:
        """Cycles per sequence of the functions whose names start with ``prefix`` (or any of several)."""
        return sum(v for k, v in self.breakdown.items() if k.startswith(prefix))

    def as_dict(self) -> dict:
        """The figures as a JSON-ready dictionary (without the outputs)."""
        d = asdict(self)
        d.pop("outputs")
        return d


def export_for_target(fm: FixedModel, folder: Path, embedding: str = "auto", placement: str = "flash",
                      matrix: str = "blocks", straight_max_k: int | None = None) -> Path:
    """Write the C export of ``fm`` into ``folder`` (a scratch directory)."""
    from converters.c_export import export_c
    from converters.c_paths import PAIRS_EXACT_MAX_K

    export_c(fm, folder, force=True, embedding=embedding, placement=placement, matrix=matrix,
             straight_max_k=PAIRS_EXACT_MAX_K if straight_max_k is None else straight_max_k)
    return folder


#: cores whose DSP kernels read the pairs layout (converters/c_layout.py)
PAIRS_CORES = ("cortex-m4", "cortex-m7", "cortex-m33")


def matrix_layout_for(target: Target, portable: bool = False) -> str:
    """The GRU weight layout a target's kernel reads: ``rows`` for the Helium kernel of the Cortex-M55, ``pairs``
    for the DSP kernels of the Cortex-M4/M7/M33, ``blocks`` for the ARMv6-M kernel and the portable C path."""
    if portable:
        return "blocks"
    return "rows" if target.core == "cortex-m55" else "pairs" if target.core in PAIRS_CORES else "blocks"


#: bytes of code a straight-line copy of the pairs kernel takes per input (72 per group of 4 on the M4) and beside
#: them (S, block start and end), measured with zig and gcc (docs/c-runtime.md)
STRAIGHT_BYTES_PER_INPUT, STRAIGHT_BYTES_FIXED = 18, 70


def straight_max_k_for(target: Target, placement: str = "flash") -> int:
    """The most inputs a product may have for its own straight-line copy of the pairs kernel on ``target``
    (``converters.c_export.export_c``'s ``straight_max_k``): every product the export allows where the code runs
    from zero-wait memory or streams through a prefetch; behind an instruction cache, those whose straight-line copy
    fills at most half of it (a rolled copy, for more than 24 inputs, where a loop turn of 24 does:
    ``converters.c_paths.pairs_exact_ks``). A copy that outgrows the cache misses on every block: GRU(64)'s 64-input
    straight-line copy (1.2 kB) made the STM32L4R5 (1 kB ART cache) 1.9x slower than its loop copy, in the
    emulator; its rolled copy is 2% faster than the loop copy there."""
    from converters.c_paths import PAIRS_EXACT_MAX_K

    mem = target.memory
    code = mem.region(mem.fast_code if placement == "ram" else mem.code)
    if code.zero_wait:
        return PAIRS_EXACT_MAX_K
    caches = [c.size for c in mem.caches if c.enabled and c.holds in ("i", "id") and code.name in c.fronts]
    if not caches:
        return PAIRS_EXACT_MAX_K
    k = (min(caches) // 2 - STRAIGHT_BYTES_FIXED) // STRAIGHT_BYTES_PER_INPUT
    return max(0, min(PAIRS_EXACT_MAX_K, k - k % 2))


def emulation_target(target: Target) -> Target:
    """The target as the emulator runs it: code and data regions grown (:meth:`Target.roomy`) and, for a Cortex-M55
    (QEMU), every region moved to the emulated board's memory (:func:`firmware_sim.qemu.relocate`)."""
    roomy = target.roomy()
    if uses_qemu(target):
        from firmware_sim.qemu import relocate

        return replace(roomy, memory=relocate(roomy.memory))
    return roomy


def check_emulator(target: Target) -> None:
    """Raise before any work when the target's emulator is missing (QEMU for the Cortex-M55).

    Raises:
        ToolMissingError: one line saying what to install.
    """
    if uses_qemu(target):
        from firmware_sim.qemu import find_qemu

        find_qemu()


def make_emulator(image, target: Target, io_bytes: int):
    """The emulator for the target's core: QEMU for the Cortex-M55, unicorn for the others."""
    if uses_qemu(target):
        from firmware_sim.qemu import QemuEmulator

        return QemuEmulator(image, target, io_bytes=io_bytes)
    return Emulator(image, target, io_bytes=io_bytes)


def emulator_name(target: Target) -> str:
    """What runs the target's firmware: ``QEMU 7.2.22 mps3-an547`` or ``unicorn 2.1.3``."""
    if uses_qemu(target):
        from firmware_sim.qemu import describe

        return describe()
    import unicorn

    return f"unicorn {unicorn.__version__}"


def build_firmware(c_folder: Path, target: Target, work: Path, portable: bool = False,
                   cc: Compiler | None = None, placement: str = "flash", generic: bool = False) -> Path:
    """Cross-compile an exported C folder with the emulator harness for ``target``.

    ``portable`` forces the portable C path even where the core has the DSP extension; ``cc`` is the
    compiler (default: :func:`~firmware_sim.toolchain.resolve_compiler`); ``placement`` where code and
    weights run (the folder must have been exported for it when it is not ``flash``); ``generic`` builds every
    runtime path (``-DEG_GENERIC``) instead of only those the folder's model uses.
    """
    c_folder = Path(c_folder)
    missing = [n for n in ("edge_gru.c", "edge_gru.h", "model.c", "model.h") if not (c_folder / n).is_file()]
    if missing:
        raise ModelFileError(f"{c_folder}: not an edge-gru C export (missing {', '.join(missing)}); "
                             "make one with `edge-gru convert MODEL --format c -o DIR`")
    defines = ("EG_PORTABLE",) if portable else ()
    defines += ("EG_GENERIC",) if generic else ()
    defines += runtime_defines(target.core)          # per-core tuning (the M7's schedule of the int8 kernel)
    if uses_qemu(target):
        defines += ("EG_QEMU", "EG_MARK_CALLS")
    with as_file(files("firmware_sim").joinpath("c", "harness_sim.c")) as harness:     # package data
        return build_elf([c_folder / "edge_gru.c", c_folder / "model.c", harness], target, work,
                         name="edge_gru_sim", include_dirs=(c_folder,), defines=defines, cc=cc, placement=placement)


def _matrix_loop(res: EmulationResult) -> int | None:
    """Index in ``res.mac_loops`` of the matrix kernel's inner loop: on the M55 (QEMU) the eg_matrix loop that
    ran the most MACs, elsewhere the one with the most MACs per turn (then the most turns). None without one."""
    loops = [i for i, loop in enumerate(res.mac_loops) if loop[0].startswith("eg_matrix")]
    if not loops:
        return None
    if res.helium:
        return max(loops, key=lambda i: res.mac_loops[i][1] * res.mac_loops[i][3])
    return max(loops, key=lambda i: (res.mac_loops[i][1], res.mac_loops[i][3]))


def _matrix_loop_cost(res: EmulationResult) -> float | None:
    """Cycles per MAC of a turn of the matrix kernel's inner loop (:func:`_matrix_loop`), None without one."""
    i = _matrix_loop(res)
    if i is None:
        return None
    _, macs, cycles, _ = res.mac_loops[i]
    return cycles / macs


def _matrix_loop_floor(res: EmulationResult) -> float | None:
    """Cycles per MAC the core's model allows at best for that loop (its floor; None without one)."""
    i = _matrix_loop(res)
    if i is None or not res.loop_floors:
        return None
    return res.loop_floors[i] / res.mac_loops[i][1]


def reported_kernel(stdout: str) -> str | None:
    """The code path the firmware printed (``edge-gru kernel: NAME``), None when it printed none."""
    m = re.search(r"edge-gru kernel: (\w+)", stdout)
    return m.group(1) if m else None


def kernel_path(elf: Path) -> str:
    """The matrix kernel in ``elf``, read from its machine code and symbols.

    ``mve`` for the Helium kernels, ``dsp`` when it uses the DSP extension's dual MACs (SMLAD, SMLALD),
    ``armv6m`` for the Thumb-1 assembly kernels, else ``portable``. A runtime specialized to its model holds only
    the kernels that model runs, so this is what the model runs on the core.
    """
    import capstone

    image = read_elf(elf)
    if any(s.startswith("eg_matrix_mve") for s in image.symbols):
        return "mve"
    if any(s in image.symbols for s in ("eg_matrix_v6m", "eg_gates_v6m_sig", "eg_gates_v6m_cand", "eg_update_v6m16")):
        return "armv6m"
    md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
    for addr, data, _ in image.segments:
        for ins in md.disasm(data, addr):
            if ins.mnemonic.startswith(("smlad", "smlald")):
                return "dsp"
    return "portable"


def _io_block(xq: np.ndarray, lengths: np.ndarray, out_dim: int, stream: bool = False) -> tuple[bytes, int]:
    """The I/O window's header and inputs (see firmware_sim/c/harness_sim.c); returns them and the outputs' offset."""
    tokens = xq.ndim == 2
    n, t = xq.shape[:2]
    x_bytes = xq.astype("<i4" if tokens else "<i2").tobytes()
    len_off = IO_HEADER + (len(x_bytes) + 15) // 16 * 16
    out_off = len_off + (4 * n + 15) // 16 * 16
    header = struct.pack("<11i", MAGIC, n, t, 1 if tokens else xq.shape[2], -1, out_dim, IO_HEADER, out_off,
                         int(tokens), len_off, int(stream))
    block = bytearray(len_off - IO_HEADER + 4 * n)
    block[:len(x_bytes)] = x_bytes
    block[len_off - IO_HEADER:] = np.asarray(lengths, "<i4").tobytes()
    return header + bytes(IO_HEADER - len(header)) + bytes(block), out_off


def emulate(elf: Path, target: Target, xq: np.ndarray, out_dim: int, count_cycles: bool = True, chunk: int = 50,
            progress: Callable[[int], None] | None = None, lengths: np.ndarray | None = None,
            per_step: bool = False, stream: bool = False) -> tuple[np.ndarray, EmulationResult, np.ndarray]:
    """Run the firmware on integer inputs ``(N, T, F)`` (or token ids ``(N, T)``) in chunks of ``chunk`` sequences.

    ``lengths (N,)``: the steps fed of each sequence (default all). ``per_step``: the firmware's model outputs
    after every step (``EG_MODEL_PER_STEP``). ``stream``: a stateful model's firmware feeds the sequences as
    consecutive chunks of one stream, the state carried over (one chunk of ``chunk`` sequences: all of them).

    Returns:
        The int32 outputs ``(N, K)`` (per step: ``(N, T, K)``, row ``j`` after the ``j``-th fed step, zero beyond
        the length; the result's ``zero_output`` holds the outputs of the zero state), the summed emulation result,
        and the cycles of every sequence. Each chunk starts from reset: its first sequence runs with cold caches
        (see :func:`cold_mask`).
    """
    tokens = np.asarray(xq).ndim == 2
    xq = np.ascontiguousarray(xq, np.int32 if tokens else np.int16)
    if xq.ndim not in (2, 3) or xq.shape[0] == 0 or xq.shape[1] == 0:
        raise DataError(f"integer inputs must be a non-empty (N, T, F) array or (N, T) token ids, got {xq.shape}")
    lengths = np.full(len(xq), xq.shape[1], np.int32) if lengths is None else np.asarray(lengths, np.int32)
    image = read_elf(elf)
    outs, per_seq, stall_seq = [], [], []
    total: EmulationResult | None = None
    rows = xq.shape[1] if per_step else 1          # outputs per sequence
    zero = None
    chunk = len(xq) if stream else chunk          # a stream is one run: a reset would end it
    for start in range(0, len(xq), chunk):
        part = xq[start:start + chunk]
        block, out_off = _io_block(part, lengths[start:start + chunk], out_dim, stream)
        words = out_dim * (rows * len(part) + int(per_step))
        emu = make_emulator(image, target, out_off + 4 * words)
        emu.write_io(0, block)
        res = emu.run(count_cycles=count_cycles)
        if res.exit_code != 0:
            why = {3: "I/O header not found", 4: "the model's feature or output size differs from the data",
                   5: "a sequence length outside 0..T (or beyond a window model's EG_MODEL_WINDOW)",
                   6: "a token id outside the vocabulary"}
            raise EdgeGruError(f"the firmware exited with {res.exit_code}: {why.get(res.exit_code, 'failure')}")
        got = np.frombuffer(emu.read_io(out_off, 4 * words), "<i4")
        if per_step:
            zero, got = got[:out_dim].astype(np.int32), got[out_dim:]
        outs.append(got.reshape(len(part), rows, out_dim) if per_step else got.reshape(len(part), out_dim))
        if len(res.marks) == len(part) + 1:
            per_seq.append(np.diff(np.asarray(res.marks, float)))
            stall_seq.append(np.diff(np.asarray(res.mark_stalls, float)))
        total = res if total is None else _merge(total, res)
        if progress:
            progress(len(part))
    assert total is not None
    cycles = np.concatenate(per_seq) if per_seq else np.full(len(xq), total.cycles / len(xq))
    total.mark_stalls = list(np.concatenate(stall_seq)) if stall_seq else []     # per sequence here
    total.zero_output = zero
    return np.concatenate(outs).astype(np.int32), total, cycles


def cold_mask(n: int, chunk: int = 50) -> np.ndarray:
    """Which of ``n`` sequences emulated in chunks of ``chunk`` ran first after a reset (cold caches)."""
    mask = np.zeros(n, bool)
    mask[::chunk] = True
    return mask


def _merge(a: EmulationResult, b: EmulationResult) -> EmulationResult:
    fn = dict(a.by_function)
    for k, v in b.by_function.items():
        fn[k] = fn.get(k, 0.0) + v
    return EmulationResult(exit_code=b.exit_code, stdout=a.stdout + b.stdout, cycles=a.cycles + b.cycles,
                           instructions=a.instructions + b.instructions, marks=[], by_function=fn,
                           stack_bytes=max(a.stack_bytes, b.stack_bytes), model=a.model,
                           mac_loops=a.mac_loops + b.mac_loops, memory=a.memory,
                           memory_stats=_merge_stats(a.memory_stats, b.memory_stats),
                           loop_floors=a.loop_floors + b.loop_floors, helium=a.helium)


def _merge_stats(a, b):
    if a is None or b is None:
        return a or b
    from firmware_sim.memory import MemoryStats

    cache = {k: (a.cache.get(k, (0, 0))[0] + v[0], a.cache.get(k, (0, 0))[1] + v[1]) for k, v in b.cache.items()}
    return MemoryStats(a.fetch_stall + b.fetch_stall, a.load_stall + b.load_stall, a.loads + b.loads, cache)


def simulate(model: FixedModel | str | Path, target: Target, X: np.ndarray, quantized: bool = False,
             work_dir: str | Path | None = None, progress: Callable[[int], None] | None = None,
             portable: bool = False, cc: Compiler | str | None = None,
             lengths: np.ndarray | None = None, embedding: str = "auto", placement: str | None = None,
             generic: bool = False, stream: bool = False) -> SimResult:
    """Emulate ``model`` (a FixedModel, ``.egru`` or C export folder) on ``target`` over inputs ``X``.

    Args:
        model: The fixed-point model, or the path of a ``.egru`` file or C export folder.
        target: The microcontroller.
        X: Float inputs ``(N, T, F)``, or integer inputs when ``quantized``.
        quantized: ``X`` already holds the integer inputs.
        work_dir: Keep the build here (a temporary directory otherwise).
        progress: Called with the number of sequences done after each chunk.
        portable: Build the portable C path even on cores with the DSP extension.
        cc: The cross-compiler, or a ``--cc`` choice (``gcc``, ``zig``, a command); default zig's clang.
        lengths: Optional ``(N,)`` real sequence lengths (steps beyond are not fed).
        embedding: For a model (not a C folder) with an embedding: ``auto``, ``table`` or ``folded``.
        placement: ``flash`` (default), ``weights-ram`` or ``ram`` (:data:`firmware_sim.memory.PLACEMENTS`); a C
            folder keeps the placement it was exported for unless this names another (``ram`` works for any
            folder, ``weights-ram`` needs a folder exported for RAM weights).
        generic: Build every runtime path (``-DEG_GENERIC``, what a firmware with several models uses) instead of
            only the paths the model uses.
        stream: A stateful model: the sequences are consecutive chunks of one stream, fed without a reset
            between them (the outputs after each chunk, or per step); one emulator run, so no cold/warm split.

    Returns:
        Cycles (warm: mean over the sequences after the first since reset; ``cycles_cold`` the first), latency,
        memory and the integer outputs of every sequence.
    """
    cc = cc if isinstance(cc, Compiler) else resolve_compiler(cc)
    check_emulator(target)
    with tempfile.TemporaryDirectory(prefix="edge-gru-sim-") as tmp:
        work = Path(work_dir) if work_dir else Path(tmp)
        fm, c_folder, placement = _resolve(model, work, embedding, placement, matrix_layout_for(target, portable),
                                           target)
        if quantized:
            xq = np.asarray(X)
            lens = np.full(len(xq), xq.shape[1], np.int32) if lengths is None else np.asarray(lengths, np.int32)
        else:
            xq, lens = fm.device_input(np.asarray(X), lengths)
        # Build and emulate with room to spare so a model that does not fit is still measured; `fits`
        # compares the measured flash and RAM with the real part.
        roomy = emulation_target(target)
        elf = build_firmware(c_folder, roomy, work / "build", portable, cc, placement, generic)
        image = read_elf(elf)
        if stream and not (fm.stateful and not fm.window):
            raise DataError("stream=True feeds the sequences as chunks of one stream: it needs a stateful model")
        out, res, per_seq = emulate(elf, roomy, xq, fm.output_dim, progress=progress, lengths=lens,
                                    per_step=fm.per_step, stream=stream)
        if fm.per_step:         # place the device's rows at the input's steps (masked and padded ones included)
            index = fm.prefix_step_index(lens, xq.shape[1]) if quantized \
                else fm.device_step_index(np.asarray(X), lengths)
            out = fm.expand_device_outputs(out, res.zero_output, index)
        kernel = reported_kernel(res.stdout) or kernel_path(elf)
        layout = embedding_layout(c_folder) if fm.tokens else "table"
        matrix = export_matrix_layout(c_folder)

    n, t = xq.shape[0], xq.shape[1]
    steps = fm.steps_run(xq, lens)          # real (unmasked) steps per sequence, on average
    sizes = image.sizes()
    head = fm.macs_per_sequence(1) - fm.macs_per_step
    macs = int(round(steps * fm.macs_per_step + head * (steps if fm.per_step else 1)))
    cold = cold_mask(n)
    cps = float(per_seq[~cold].mean()) if (~cold).any() else float(per_seq.mean())
    flash = sizes["text"] + sizes["rodata"] + sizes["data"]
    mem = roomy.memory
    in_ram = image.copied_to_ram(lambda a: (r := mem.region_at(a)) is not None and r.writable)
    ram = sizes["data"] + sizes["bss"] + res.stack_bytes + in_ram
    seq_stall = np.asarray(res.mark_stalls, float)
    stall = float(seq_stall[~cold].mean()) if len(seq_stall) == n and (~cold).any() else 0.0
    breakdown = {k: v / n for k, v in sorted(res.by_function.items(), key=lambda kv: -kv[1])
                 if k not in ("main", "Reset_Handler", "eg_exit", "eg_semihost", "eg_puts", "eg_kernel_path", "memset",
                              "memcpy", "eg_model_place")}     # start-up and harness code, not the inference
    return SimResult(
        target=target.name, part=target.part, core=target.core, clock_mhz=target.clock_mhz, cycle_model=res.model,
        sequences=n, timesteps=t, macs_per_sequence=macs, cycles_per_sequence=cps,
        cycles_per_sequence_min=float(per_seq.min()), cycles_per_sequence_max=float(per_seq.max()),
        cycles_per_step=cps / max(steps, 1e-9), cycles_per_mac=cps / macs if macs else float("nan"),
        latency_ms=cps / (target.clock_mhz * 1e3), instructions_per_sequence=res.instructions / n,
        text_bytes=sizes["text"], rodata_bytes=sizes["rodata"], data_bytes=sizes["data"], bss_bytes=sizes["bss"],
        stack_bytes=res.stack_bytes, flash_bytes=flash, ram_bytes=ram, flash_available=target.flash_bytes,
        ram_available=target.ram_bytes, fits=flash <= target.flash_bytes and ram <= target.ram_bytes,
        kernel=kernel, breakdown=breakdown, outputs=out,
        padded_macs_per_sequence=kernel_macs(fm, max(1, round(steps)), layout),
        loop_cycles_per_mac=_matrix_loop_cost(res), compiler=cc.describe(target.core), steps_per_sequence=steps,
        tokens=fm.tokens, embedding=layout, placement=placement, matrix_layout=matrix, memory=mem.name,
        memory_description=mem.describe(), memory_validated=mem.validated,
        cycles_cold=float(per_seq[cold].mean()), stall_cycles_per_sequence=stall, ram_resident_bytes=in_ram,
        emulator=emulator_name(target), loop_floor_cycles_per_mac=_matrix_loop_floor(res),
        matrix_loop_cycles_per_sequence=sum(c * turns for f, _, c, turns in res.mac_loops if f.startswith("eg_matrix"))
        / n)


def folder_placement(folder: Path, placement: str | None) -> str:
    """The placement a C folder runs with: its own unless ``placement`` names another it supports (``ram`` links
    any folder's code and constants into RAM; ``weights-ram`` needs the folder's ``.eg_weights`` section).

    Raises:
        DataError: ``weights-ram`` asked of a folder exported with its weights in flash.
    """
    from converters.c_export import export_placement

    own = export_placement(folder)
    if placement == "weights-ram" and own == "flash":
        raise DataError(f"{folder} was exported with its weights in flash; for --placement weights-ram export it "
                        f"with `edge-gru convert {folder / 'model.egru'} --format c --placement weights-ram -o DIR`")
    return placement or own


def _resolve(model: FixedModel | str | Path, work: Path, embedding: str = "auto",
             placement: str | None = None, matrix: str = "blocks",
             target: Target | None = None) -> tuple[FixedModel, Path, str]:
    from converters.c_export import check_c_folder

    if placement is not None and placement not in PLACEMENTS:
        raise DataError(f"unknown placement {placement!r}; choose one of {', '.join(PLACEMENTS)}")
    max_k = None if target is None else straight_max_k_for(target, placement or "flash")
    if isinstance(model, FixedModel):
        return (model, export_for_target(model, work / "c", embedding, placement or "flash", matrix, max_k),
                placement or "flash")
    p = Path(model)
    if p.is_dir():
        fm = check_c_folder(p)             # the firmware sizes its buffers from model.h: it must match model.egru
        return fm, p, folder_placement(p, placement)
    if p.suffix == ".egru":
        fm = load_fixed(p)
        return (fm, export_for_target(fm, work / "c", embedding, placement or "flash", matrix, max_k),
                placement or "flash")
    raise ModelFileError(f"{p}: simulate needs a .egru file or a C export folder")


__all__ = ["SimResult", "build_firmware", "check_emulator", "emulate", "simulate"]
