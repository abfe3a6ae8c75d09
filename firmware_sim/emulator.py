"""Run a Cortex-M ELF in unicorn with Arm semihosting and the per-block cycle model."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_gru.errors import EdgeGruError, ToolMissingError
from firmware_sim.core_timing import Timing
from firmware_sim.cycles import CostModel
from firmware_sim.elf import ElfImage, read_elf
from firmware_sim.memory import MemoryState, MemoryStats
from firmware_sim.targets import Target
from firmware_sim.toolchain import IO_BASE, STACK_PAINT

PAGE = 0x1000
UC_CPU = {"cortex-m0plus": "UC_CPU_ARM_CORTEX_M0", "cortex-m3": "UC_CPU_ARM_CORTEX_M3",
          "cortex-m4": "UC_CPU_ARM_CORTEX_M4", "cortex-m7": "UC_CPU_ARM_CORTEX_M7",
          "cortex-m33": "UC_CPU_ARM_CORTEX_M33"}     # the Cortex-M55 (Helium) runs on QEMU: firmware_sim/qemu.py
SYS_WRITEC, SYS_WRITE0, SYS_WRITE, SYS_EXIT, SYS_EXIT_EXTENDED = 0x03, 0x04, 0x05, 0x18, 0x20
MARK_OFFSET = 0x10            # IO_BASE + 0x10: a write here records the cycle count (sequence boundaries)


class EmulationError(EdgeGruError):
    """The emulated program faulted, ran away or did not exit."""


# An innermost loop whose body (the executed blocks from a backward branch's target to the branch) performs at
# least MAC_LOOP_MACS multiply-accumulates per turn is a matrix kernel's inner loop (ours do 16 or 32);
# its static cost per turn (the taken back-branch's refill included) per MAC is the loop's
# steady-state cycles per MAC. Bodies may span several emulator blocks (they split at 1 KB pages and at the
# emulator's block size limit: _turn_blocks follows one turn through them).
MAC_LOOP_MACS = 8


def _mac_loops(blocks: dict, timing: Timing) -> tuple[list[tuple[str, int, float, int]], list[float]]:
    """Executed innermost MAC loops: (function, MACs per turn, static cycles per turn, times the branch ran, turns
    entered by falling through from the code before the loop included), and
    each one's floor: the fewest cycles per turn the core's model gives the body's instructions, the back branch
    left out (:meth:`~firmware_sim.core_timing.Timing.floor_cost`)."""
    loops: list[tuple[str, int, float, int]] = []
    floors: list[float] = []
    for b in blocks.values():
        t = b.back_target
        if t is None or not b.count:
            continue
        body = _turn_blocks(blocks, t, b)
        if not body or any(o.back_target is not None for o in body if o is not b):
            continue   # never repeated, or an outer loop
        macs = sum(o.macs for o in body)
        if macs >= MAC_LOOP_MACS:
            body.sort(key=lambda o: o.start)
            turn = sum(o.cycles for o in body) + b.refill + sum(
                o.after_fall_through(p) for p, o in zip(body, body[1:], strict=False) if p.end == o.start)
            # a turn entered by falling through from the code before the loop runs inside that longer block
            first = sum(o.count for o in blocks.values() if o.start < t and o.end == b.end and o.back_target == t)
            loops.append((b.function, macs, turn, b.count + first))
            floors.append(timing.floor_cost([i for o in body for i in o.ins]))
    return loops, floors


def _turn_blocks(blocks: dict, t: int, b) -> list:
    """The executed blocks of one turn of the loop from ``t`` to ``b``'s back branch: the block at ``t``, then each
    block starting where the one before ends, up to ``b`` (a long straight body is split into several emulator
    blocks, and a turn entered from the code before it may have been split elsewhere: those overlapping blocks are
    not part of the steady turn); empty when the turn cannot be followed that way."""
    by_start = {o.start: o for o in blocks.values() if t <= o.start < b.end}
    chain, at = [], t
    while at in by_start and len(chain) <= len(by_start):
        chain.append(by_start[at])
        if chain[-1] is b:
            return chain
        at = chain[-1].end
    return []


@dataclass
class EmulationResult:
    """What a run produced: exit code, semihosting output, cycles and where they went."""

    exit_code: int | None
    stdout: str
    cycles: float
    instructions: int
    marks: list[float]                          # cycle count at each write to the mark register
    mark_values: list[int] = field(default_factory=list)   # the value written at each mark
    by_function: dict[str, float] = field(default_factory=dict)
    stack_bytes: int = 0
    model: str = ""
    mac_loops: list[tuple[str, int, float, int]] = field(default_factory=list)   # see _mac_loops
    memory: str = ""                            # the memory system the cycles include (its name)
    memory_stats: MemoryStats | None = None     # stall cycles and cache hits/misses of the run
    mark_stalls: list[float] = field(default_factory=list)   # memory stall cycles so far, at each mark
    loop_floors: list[float] = field(default_factory=list)   # each mac_loops entry's floor, cycles per turn
    helium: bool = False                        # run on QEMU's Cortex-M55 (firmware_sim.qemu)
    zero_output: Any = None                     # per-step models: the outputs of the zero state (int32 array)


def _round_up(n: int) -> int:
    return (n + PAGE - 1) // PAGE * PAGE


def _uc():
    try:
        import unicorn
        import unicorn.arm_const as arm
    except ImportError as exc:  # pragma: no cover - exercised only without unicorn
        raise ToolMissingError("the emulator needs unicorn: pip install 'edge-gru[sim]'") from exc
    return unicorn, arm


class Emulator:
    """A target's memory map with an ELF loaded; call :meth:`run` once per program start."""

    def __init__(self, elf: str | Path | ElfImage, target: Target, io_bytes: int = 0) -> None:
        if target.core not in UC_CPU:
            raise EmulationError(f"{target.core} does not run on unicorn (no Helium there): firmware_sim.qemu runs it")
        self.unicorn, self.arm = _uc()
        self.image = elf if isinstance(elf, ElfImage) else read_elf(elf)
        self.target = target
        self.costs = CostModel(target.core)
        self.io_size = _round_up(max(io_bytes, PAGE) + 0x100)
        uc = self.unicorn.Uc(self.unicorn.UC_ARCH_ARM, self.unicorn.UC_MODE_THUMB | self.unicorn.UC_MODE_MCLASS)
        uc.ctl_set_cpu_model(getattr(self.arm, UC_CPU[target.core]))
        mem = target.memory
        for r in mem.regions:
            uc.mem_map(r.base, _round_up(r.size))
        uc.mem_map(IO_BASE, self.io_size)
        for addr, data, memsz in self.image.segments:
            if not any(r.contains(addr, memsz) for r in mem.regions):
                raise EmulationError(f"ELF segment at {addr:#x} (+{memsz}) lies outside {target.name}'s memory")
            uc.mem_write(addr, data)
        self.uc = uc

    def write_io(self, offset: int, data: bytes) -> None:
        """Write bytes into the emulator-only I/O window at ``IO_BASE + offset``."""
        self.uc.mem_write(IO_BASE + offset, data)

    def read_io(self, offset: int, n: int) -> bytes:
        """Read ``n`` bytes of the I/O window at ``IO_BASE + offset``."""
        return bytes(self.uc.mem_read(IO_BASE + offset, n))

    def _paint_stack(self) -> tuple[int, int]:
        data = self.target.memory.region(self.target.memory.data)
        lo = self.image.symbols.get("_ebss", data.base)
        hi = data.end
        self.uc.mem_write(lo, STACK_PAINT.to_bytes(4, "little") * ((hi - lo) // 4))
        return lo, hi

    def _stack_used(self, lo: int, hi: int) -> int:
        mem = bytes(self.uc.mem_read(lo, hi - lo))
        pat = STACK_PAINT.to_bytes(4, "little")
        i = 0
        while i < len(mem) and mem[i:i + 4] == pat:
            i += 4
        return hi - (lo + i)

    def run(self, max_instructions: int = 2_000_000_000, count_cycles: bool = True) -> EmulationResult:
        """Reset the core, run until semihosting ``SYS_EXIT``; count cycles per basic block, plus what the
        target's memory system charges (wait states, prefetch, caches) with its state across the whole run."""
        U, A = self.unicorn, self.arm
        uc = self.uc
        mem = self.target.memory
        vec = bytes(uc.mem_read(mem.region(mem.code).base, 8))
        sp, pc = int.from_bytes(vec[:4], "little"), int.from_bytes(vec[4:], "little")
        lo, hi = self._paint_stack()
        uc.reg_write(A.UC_ARM_REG_SP, sp)
        blocks: dict = {}
        self.costs.reset()
        out: list[str] = []
        state: dict = {"exit": None, "fault": None}
        costs, image = self.costs, self.image
        prev = [None]
        sentinel = costs.block(b"", 0)
        prev[0] = sentinel
        marks: list[float] = []
        mark_values: list[int] = []
        mark_stalls: list[float] = []
        stalls = [0.0]

        def total() -> float:
            return sum(b.total() for b in blocks.values())

        timing = costs.timing
        link = costs.link_fall_through
        memory = MemoryState(mem)
        slow = memory.slow
        fetch, load = memory.fetch, memory.load

        def on_block(uc_, addr, size, _ud):
            b = blocks.get(addr)
            if b is None:
                b = blocks[addr] = costs.block(bytes(uc_.mem_read(addr, size)), addr, image.function_at(addr))
                b.region = next((r for r in slow if r.contains(addr, size)), None)
            if b.region is not None:
                s = fetch(b.region, addr, addr + size, b.cycles)
                b.stall += s
                stalls[0] += s
            p = prev[0]
            taken = addr != p.end
            if taken:
                p.taken += 1
                b.branch_entries += 1
            elif p.tail is not None and not p.tail.writes_pc:
                link(p, b)
            if p.predictor is not None and timing.mispredicted(p.predictor, taken, addr):
                p.mispredicts += 1
            b.count += 1
            prev[0] = b

        def on_load(uc_, access, addr, size, value, region):
            s = load(region, addr)
            prev[0].stall += s
            stalls[0] += s

        def on_mark(uc_, access, addr, size, value, _ud):
            marks.append(total())
            mark_stalls.append(stalls[0])
            mark_values.append(value & 0xFFFFFFFF)

        def on_intr(uc_, intno, _ud):
            pc_ = uc_.reg_read(A.UC_ARM_REG_PC)
            if intno != 7 or bytes(uc_.mem_read(pc_, 2)) != b"\xab\xbe":     # BKPT 0xAB = semihosting
                state["fault"] = f"exception {intno} at {pc_:#x} ({image.function_at(pc_)})"
                uc_.emu_stop()
                return
            op, arg = uc_.reg_read(A.UC_ARM_REG_R0), uc_.reg_read(A.UC_ARM_REG_R1)
            ret = 0
            if op == SYS_WRITEC:
                out.append(chr(uc_.mem_read(arg, 1)[0]))
            elif op == SYS_WRITE0:
                s = bytearray()
                while len(s) < 65536:
                    c = uc_.mem_read(arg + len(s), 1)[0]
                    if c == 0:
                        break
                    s.append(c)
                out.append(s.decode("latin-1"))
            elif op == SYS_WRITE:
                words = bytes(uc_.mem_read(arg, 12))
                ptr, n = int.from_bytes(words[4:8], "little"), int.from_bytes(words[8:12], "little")
                out.append(bytes(uc_.mem_read(ptr, n)).decode("latin-1"))
            elif op in (SYS_EXIT, SYS_EXIT_EXTENDED):
                words = bytes(uc_.mem_read(arg, 8))
                reason, code = int.from_bytes(words[:4], "little"), int.from_bytes(words[4:], "little")
                state["exit"] = code if reason == 0x20026 else 128 + (reason & 0x7F)
                uc_.emu_stop()
                return
            else:
                ret = 0xFFFFFFFF
            uc_.reg_write(A.UC_ARM_REG_R0, ret)
            uc_.reg_write(A.UC_ARM_REG_PC, (pc_ + 2) | 1)

        hooks = [uc.hook_add(U.UC_HOOK_INTR, on_intr),
                 uc.hook_add(U.UC_HOOK_MEM_WRITE, on_mark, begin=IO_BASE + MARK_OFFSET, end=IO_BASE + MARK_OFFSET + 3)]
        if count_cycles:
            hooks.append(uc.hook_add(U.UC_HOOK_BLOCK, on_block))
            # data reads of the slow regions only (SRAM and TCM are zero-wait). unicorn 2.1.4 skips instructions
            # while a read hook is installed (seen after a not-taken CBZ that starts a block): pyproject.toml keeps
            # it below 2.1.4; test_every_placement_is_bit_exact_and_only_cycles_change fails under it
            hooks += [uc.hook_add(U.UC_HOOK_MEM_READ, on_load, r, begin=r.base, end=r.end - 1) for r in slow]
        interrupted = _StopOnInterrupt(uc)
        try:
            with interrupted:
                uc.emu_start(pc | 1, 0xFFFFFFFF, count=max_instructions)
        except U.UcError as exc:
            pc_ = uc.reg_read(A.UC_ARM_REG_PC)
            raise EmulationError(f"the program faulted on {self.target.core}: {exc} at {pc_:#x} "
                                 f"({image.function_at(pc_)})") from exc
        finally:
            for h in hooks:
                uc.hook_del(h)
        if interrupted.hit:
            raise KeyboardInterrupt
        if state["fault"]:
            raise EmulationError(f"the program faulted on {self.target.core}: {state['fault']}")
        if state["exit"] is None:
            raise EmulationError(f"the program did not exit within {max_instructions:,} instructions "
                                 "(missing SYS_EXIT or an endless loop)")
        by_fn: dict[str, float] = {}
        for b in blocks.values():
            by_fn[b.function] = by_fn.get(b.function, 0.0) + b.total()
        loops, floors = _mac_loops(blocks, timing)
        return EmulationResult(exit_code=state["exit"], stdout="".join(out), cycles=total(),
                               instructions=sum(b.instructions * b.count for b in blocks.values()), marks=marks,
                               mark_values=mark_values,
                               by_function=by_fn, stack_bytes=self._stack_used(lo, hi), model=costs.label,
                               mac_loops=loops, memory=mem.name, memory_stats=memory.finish(),
                               mark_stalls=mark_stalls, loop_floors=floors)


class _StopOnInterrupt:
    """Ctrl-C during ``emu_start``: Python raises KeyboardInterrupt inside a unicorn hook, and unicorn swallows
    exceptions raised in hooks, so the run went on to the end. Instead, the signal stops the emulation and the
    interrupt is raised once ``emu_start`` has returned (main thread only; elsewhere nothing changes)."""

    def __init__(self, uc: object) -> None:
        self.uc, self.hit, self._old = uc, False, None

    def _handler(self, signum: int, frame: object) -> None:
        self.hit = True
        self.uc.emu_stop()

    def __enter__(self) -> _StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


__all__ = ["MAC_LOOP_MACS", "EmulationError", "EmulationResult", "Emulator", "MARK_OFFSET"]
