"""Run Cortex-M55 firmware in QEMU (``qemu-system-arm -M mps3-an547``) and time it with the M55 model.

unicorn (QEMU 5.0 inside) has neither a Cortex-M55 nor Helium, so M55 targets run on the system emulator:
QEMU's ``mps3-an547`` machine is Arm's AN547 FPGA image, a Cortex-M55 with MVE. QEMU is functional only; the
cycles come from :mod:`firmware_sim.m55_timing`, applied to what QEMU executed. QEMU's ``-d exec,nochain`` log
names the start of every translation block it runs; a block runs straight from its start to its first branch
(or to the start of the next block when QEMU cut it there), which rebuilds the executed instruction stream
exactly from the ELF's code. (The alternative, a TCG plugin, needs a plugin built against QEMU's headers,
which Debian does not ship; the log needs nothing but the emulator.)

Memory: every region of the target is placed in the AN547's 2 GB DDR for the emulation (names, sizes and
kinds kept, so flash/RAM accounting is the target's); the M55 model charges no wait states, which is what the
M55 targets' tightly coupled or zero-wait memories give (a target with a slower region is refused). The two
reset vectors are also loaded at address 0, where the AN547 starts. Inputs go into the I/O window at
0x60000000 (``-device loader``); at exit the firmware writes the window back to a file through semihosting.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from edge_gru.errors import EdgeGruError, ToolMissingError
from firmware_sim.elf import ElfImage, read_elf
from firmware_sim.emulator import EmulationError, EmulationResult
from firmware_sim.m55_timing import LABEL, Decoder, LoopStat, M55Clock, loop_floor, steady_turn
from firmware_sim.memory import MemorySystem
from firmware_sim.targets import Target
from firmware_sim.toolchain import IO_BASE, STACK_PAINT

MACHINE = "mps3-an547"
DDR_BASE, DDR_END = 0x70000000, 0xE0000000     # the AN547's DDR above the I/O window
SLOT = 0x04000000                              # 64 MB per relocated region
IO_MARKS, IO_DUMP_LEN, IO_PATH = 0x40, 0x7C, 0x80   # (startup code: eg_mark, eg_dump_io)
MIN_VERSION = (7, 0)
INSTALL = "install QEMU's Arm system emulator: sudo apt-get install qemu-system-arm (Debian/Ubuntu)"


def find_qemu() -> str:
    """The ``qemu-system-arm`` to run (``$EDGE_GRU_QEMU`` or PATH).

    Raises:
        ToolMissingError: none is installed, or it is older than 7.0 or lacks the mps3-an547 machine.
    """
    chosen = os.environ.get("EDGE_GRU_QEMU")
    path = chosen or shutil.which("qemu-system-arm")
    if not path:
        raise ToolMissingError(f"Cortex-M55 targets run on QEMU, which is not installed: {INSTALL}")
    if chosen and not (os.path.isfile(chosen) and os.access(chosen, os.X_OK)):
        raise ToolMissingError(f"EDGE_GRU_QEMU={chosen} is not an executable qemu-system-arm; {INSTALL}")
    version = qemu_version(path)
    if version < MIN_VERSION:
        raise ToolMissingError(f"{path} is QEMU {'.'.join(map(str, version))}; the Cortex-M55 (mps3-an547) needs "
                               f"7.0 or newer: {INSTALL}")
    return path


def qemu_version(path: str | None = None) -> tuple[int, ...]:
    """QEMU's version as a tuple (``(7, 2, 22)``)."""
    return _version(path or find_qemu())


@functools.cache
def _version(path: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolMissingError(f"cannot run {path}: {exc}; {INSTALL}") from exc
    m = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", out)
    if not m:
        raise ToolMissingError(f"{path} printed no QEMU version; {INSTALL}")
    return tuple(int(g) for g in m.groups() if g is not None)


def describe() -> str:
    """One line naming the emulator (for reports): ``QEMU 7.2.22 mps3-an547``."""
    return f"QEMU {'.'.join(map(str, qemu_version()))} {MACHINE}"


def relocate(memory: MemorySystem) -> MemorySystem:
    """The memory system with every region moved into the AN547's DDR (64 MB apart), for building the image that
    QEMU runs. Only the addresses change; the timing model charges no memory waits.

    Raises:
        EdgeGruError: a region is not zero-wait (the M55 model has no memory waits) or larger than 64 MB.
    """
    slow = [r.name for r in memory.regions if not r.zero_wait]
    if slow:
        raise EdgeGruError(f"memory {memory.name}: region(s) {', '.join(slow)} have wait states, which the "
                           "Cortex-M55 model does not charge; give M55 targets zero-wait (TCM or read_cycles = 1) "
                           "regions")
    if memory.caches:
        raise EdgeGruError(f"memory {memory.name}: the Cortex-M55 model has no caches; remove [[...cache]]")
    out = []
    for i, r in enumerate(sorted(memory.regions, key=lambda r: r.base)):
        if r.size > SLOT:
            raise EdgeGruError(f"memory {memory.name}: region {r.name} ({r.size >> 20} MB) is larger than the "
                               "64 MB the emulated M55 gives a region")
        out.append(replace(r, base=DDR_BASE + i * SLOT))
    return replace(memory, regions=tuple(out))


def _code_map(path: Path) -> list[tuple[int, bytes]]:
    """(run address, bytes) of the executable sections."""
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        return [(s["sh_addr"], s.data()) for s in elf.iter_sections()
                if s["sh_flags"] & SH_FLAGS.SHF_EXECINSTR and s["sh_type"] == "SHT_PROGBITS"]


class QemuEmulator:
    """The :class:`~firmware_sim.emulator.Emulator` interface for a Cortex-M55 image run by QEMU."""

    def __init__(self, elf: str | Path | ElfImage, target: Target, io_bytes: int = 0, work: Path | None = None) -> None:
        self.image = elf if isinstance(elf, ElfImage) else read_elf(elf)
        if not self.image.path:
            raise EmulationError("QEMU needs the ELF file the image was read from")
        self.target = target
        self.qemu = find_qemu()
        self.io = bytearray(max(io_bytes, 0x100))
        self.work = Path(work) if work else Path(self.image.path).parent

    def write_io(self, offset: int, data: bytes) -> None:
        """Write bytes into the I/O window at ``IO_BASE + offset``."""
        end = offset + len(data)
        if end > len(self.io):
            self.io.extend(bytes(end - len(self.io)))
        self.io[offset:end] = data

    def read_io(self, offset: int, n: int) -> bytes:
        """Read ``n`` bytes of the I/O window (as the program left it)."""
        return bytes(self.io[offset:offset + n])

    def _command(self, trace: Path | None, vec: Path, io: Path, paint: Path) -> list[str]:
        cmd = [self.qemu, "-M", MACHINE, "-nodefaults", "-display", "none", "-monitor", "none", "-serial", "none",
               "-semihosting-config", "enable=on,target=native", "-kernel", str(self.image.path),
               "-device", f"loader,file={vec},addr=0x0,force-raw=on",
               "-device", f"loader,file={io},addr={IO_BASE:#x},force-raw=on",
               "-device", f"loader,file={paint},addr={self.image.symbols['_ebss']:#x},force-raw=on"]
        if trace is not None:
            cmd += ["-d", "exec,nochain", "-D", str(trace)]
        return cmd

    def run(self, max_instructions: int = 2_000_000_000, count_cycles: bool = True,
            timeout: float = 1800.0) -> EmulationResult:
        """Run the program to its semihosting exit; time it with the M55 model when ``count_cycles``."""
        work = self.work
        work.mkdir(parents=True, exist_ok=True)
        vec, io, out, trace = work / "qemu_vec.bin", work / "qemu_io.bin", work / "qemu_io_out.bin", work / "qemu.log"
        paint = work / "qemu_stack.bin"                 # the stack painted from the host (eg_exit measures it)
        lo, hi = self.image.symbols.get("_ebss", 0), self.image.symbols.get("_estack", 0)
        if not 0 < lo < hi:
            raise EmulationError("the image has no _ebss/_estack symbols (not built by firmware_sim)")
        if not paint.is_file() or paint.stat().st_size != hi - lo:
            paint.write_bytes(STACK_PAINT.to_bytes(4, "little") * ((hi - lo) // 4))
        code = self.target.memory.region(self.target.memory.code).base
        vectors = next((data for addr, data, _ in self.image.segments if addr == code), None)
        if vectors is None or len(vectors) < 8:
            raise EmulationError(f"no vector table at the code region's base {code:#x}")
        vec.write_bytes(vectors[:8])
        window = bytearray(self.io)
        window[IO_DUMP_LEN:IO_DUMP_LEN + 4] = len(window).to_bytes(4, "little")
        name = out.name.encode() + b"\0"
        window[IO_PATH:IO_PATH + len(name)] = name
        io.write_bytes(bytes(window))
        for f in (out, trace):
            f.unlink(missing_ok=True)
        try:
            proc = subprocess.run(self._command(trace if count_cycles else None, vec, io, paint), cwd=work,
                                  capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise EmulationError(f"QEMU did not finish within {timeout:.0f} s (an endless loop?)") from exc
        stdout = proc.stdout.decode("latin-1") + proc.stderr.decode("latin-1")
        if not out.is_file():
            raise EmulationError(f"the program faulted or did not exit on the Cortex-M55 (QEMU exit status "
                                 f"{proc.returncode}): {stdout.strip()[-300:] or 'no output'}")
        dump = out.read_bytes()
        self.io = bytearray(dump[:len(window)])
        stack = _stack_used(dump[len(window):])
        res = EmulationResult(exit_code=proc.returncode, stdout=_program_output(stdout), cycles=0.0, instructions=0,
                              marks=[], stack_bytes=stack, model=LABEL, memory=self.target.memory.name)
        if count_cycles:
            self._time(trace, res)
            trace.unlink(missing_ok=True)
            logged = int.from_bytes(self.io[IO_MARKS:IO_MARKS + 4], "little")
            if logged == len(res.marks) and logged <= 10:          # the values eg_mark was called with
                res.mark_values = [int.from_bytes(self.io[IO_MARKS + 4 + 4 * i:IO_MARKS + 8 + 4 * i], "little")
                                   for i in range(logged)]
        return res

    def _time(self, trace: Path, res: EmulationResult) -> None:
        """Replay the executed blocks through the M55 model into ``res``."""
        code = _code_map(Path(self.image.path))
        decoder = Decoder()
        image = self.image
        mark = image.symbols.get("eg_mark", 1) & ~1      # (Thumb function symbols have bit 0 set)
        clock = M55Clock()
        segments: dict = {}
        by_fn: dict[str, float] = {}
        loops: dict[int, LoopStat | None] = {}

        def bytes_at(addr: int) -> bytes:
            for base, data in code:
                if base <= addr < base + len(data):
                    return data[addr - base:addr - base + 4]
            raise EmulationError(f"QEMU executed {addr:#x}, outside the image's code")

        def walk(start: int, nxt: int | None) -> tuple:
            ops = []
            a = start
            while True:
                op = decoder.op(bytes_at(a), a)
                ops.append(op)
                a += op.size
                if op.branch or a == nxt or len(ops) >= 1024:
                    break
            last = ops[-1]
            taken = bool(last.branch) and nxt is not None and nxt != last.addr + last.size
            fn = image.function_at(start)
            stat = None
            if last.branch == "le" and last.target is not None and last.target <= start:
                stat = loops.get(last.addr)
                if stat is None:                 # the loop body, decoded straight from the loop start to the LE
                    body, b = [], last.target
                    while b <= last.addr and len(body) < 1024:
                        body.append(decoder.op(bytes_at(b), b))
                        b += body[-1].size
                    if any(o.macs for o in body):
                        stat = loops[last.addr] = LoopStat(image.function_at(last.target), sum(o.macs for o in body),
                                                           steady_turn(body), loop_floor(body[:-1]))
            return (start, last.addr), ops, taken, fn, stat

        starts = _block_starts(trace)
        instructions = 0
        prev = next(starts, None)
        while prev is not None:
            nxt = next(starts, None)
            seg = segments.get((prev, nxt))
            if seg is None:
                seg = segments[(prev, nxt)] = walk(prev, nxt)
            key, ops, taken, fn, stat = seg
            if prev == mark:
                res.marks.append(clock.cycles)
                res.mark_values.append(len(res.marks) - 1)
                res.mark_stalls.append(0.0)
            added = clock.run(key, ops, taken)
            by_fn[fn] = by_fn.get(fn, 0.0) + added
            instructions += len(ops)
            if stat is not None and taken:
                stat.turns += 1
            prev = nxt
        res.cycles = clock.cycles
        res.instructions = instructions
        res.by_function = by_fn
        ran = [s for s in loops.values() if s is not None and s.turns]
        res.mac_loops = [(s.function, s.macs, s.cycles, s.turns) for s in ran]
        res.loop_floors = [s.floor for s in ran]
        res.helium = True


def _stack_used(region: bytes) -> int:
    """Bytes of the painted stack region (``_ebss`` to ``_estack``) the program wrote."""
    import numpy as np

    words = np.frombuffer(region[:len(region) // 4 * 4], "<u4")
    written = np.flatnonzero(words != STACK_PAINT)
    return 4 * (len(words) - int(written[0])) if len(written) else 0


def _block_starts(trace: Path):
    """The start address of every translation block QEMU ran, in order (``-d exec`` lines)."""
    with open(trace, "rb") as fh:
        for line in fh:
            if line.startswith(b"Trace "):
                try:
                    yield int(line.split(b"[", 1)[1].split(b"/", 2)[1], 16)
                except (IndexError, ValueError):
                    continue


def _program_output(text: str) -> str:
    """What the program printed through semihosting (QEMU's own warnings dropped)."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("qemu-system-arm:"))


__all__ = ["MACHINE", "QemuEmulator", "describe", "find_qemu", "qemu_version", "relocate"]
