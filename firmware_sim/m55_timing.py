"""Cortex-M55 timing model: cycles of the instructions QEMU executed, Helium (MVE) included.

QEMU runs the firmware functionally; its execution trace gives the start of every translation block run, and
:mod:`firmware_sim.qemu` turns that into straight runs of instructions ("segments"). This module decodes a
segment (:mod:`firmware_sim.m55_decode`) and schedules it on an in-order model of the M55, keeping the pipeline
state (busy pipes, registers not yet written) from one segment to the next. Rules and their sources:

- [LLVM] LLVM's Cortex-M55 scheduling model (llvm/lib/Target/ARM/ARMScheduleM55.td): in order; scalar
  ALU results in 1 cycle; loads, multiplies, MACs and the saturating/DSP instructions in 2 ("CX"); the long
  shifts (LSLL, ASRL, ...) 2; dual issue of two 16-bit instructions when one of them is a NOP, IT, ADD/SUB
  immediate, MOV or extension; every MVE instruction issues alone and keeps its pipe (load/store, integer,
  float/multiply) busy for two cycles (two 64-bit beats of a 128-bit vector); an MVE instruction may start on
  another pipe the cycle after the previous one started ("the first beat of the second instruction overlaps
  the second beat of the first"), so interleaved loads and MACs sustain one vector instruction per cycle while
  two loads in a row take four; MVE results: loads, integer operations 1 cycle after issue, multiplies and
  VMLADAV 2, VMLALDAV 3 (high word), narrowing moves and shifts 3; VCTP/VPST one cycle on the control pipe.
- [Helium guide] Arm, Helium optimization examples (Arm-Examples/Helium-Optimization,
  General_optimizations): the Cortex-M55 has a 64-bit (dual-beat) datapath, each vector operation takes two
  clock cycles, and instructions of different groups overlap (a load's second beat with a MAC's first).
- [LOB] Armv8.1-M low-overhead branches: the loop end (LE, LETP) is predicted once the loop is known, so a
  loop that runs again costs no branch; the first pass through a loop end pays a taken branch. Modelled:
  a one-entry loop cache keyed by the LE address, filled by an LE and emptied by DLS/DLSTP/WLS/WLSTP.
- [pipe] A taken branch (other than a cached loop end) costs 2 cycles beyond its issue: the M55 resolves
  branches one stage later than the M33, whose model (core_timing.CortexM33) charges 1; LLVM gives a
  misprediction penalty of 3 cycles counted from the fetch. Not validated on silicon.
- [memory] Scalar loads and stores share the data-side port with vector loads and stores (one access per
  cycle); LDM/STM/PUSH/POP move two registers per cycle on the 64-bit path a VLDR uses per beat; zero-wait
  memory (TCM): the M55 targets' memories are tightly coupled or modelled zero-wait (targets.toml).

Not modelled: the M55's branch target buffer beyond the loop cache, the data and instruction caches (the
targets run from TCM), exceptions. No GRU figure measured on M55 silicon exists to validate against; the
tests pin each rule with hand-counted sequences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from firmware_sim.core_timing import FLAGS, Ins, check_capstone
from firmware_sim.m55_decode import ALU, LS, VINT, Op, decode_v81m, is_v81m_space

LABEL = "Cortex-M55 in-order dual-beat model (LLVM scheduling model rules, beat overlap, loop cache)"
TAKEN_PENALTY = 2.0          # [pipe]
_DI = {"nop", "it", "adds", "subs", "add", "sub", "movs", "mov", "uxtb", "uxth", "sxtb", "sxth"}
_CX = ("smla", "smul", "smua", "smus", "smls", "smmul", "smmla", "smmls", "ssat", "usat", "qadd", "qsub", "qdadd",
       "qdsub", "sadd", "ssub", "uadd", "usub", "shadd", "uhadd", "qasx", "qsax", "sasx", "ssax", "usad", "sxtab",
       "uxtab", "sxtb16", "uxtb16", "sel", "pkh")


def _macs(name: str) -> int:
    if name.startswith(("smlad", "smlald", "smuad")):
        return 2
    return int(name in ("mul", "muls", "mla", "mls", "smull", "umull") or name.startswith(
        ("smla", "smul", "smmul", "smmla", "umlal")))


def _has_imm_operand(i) -> bool:
    from capstone import arm

    return any(o.type == arm.ARM_OP_IMM for o in i.operands)


def scalar_op(i, ins: Ins) -> Op:
    """The M55 view of a scalar instruction Capstone decoded (``i``) and its :class:`Ins`."""
    k, name = ins.kind, ins.name
    branch = "b" if ins.writes_pc or k in ("branch", "call") else ""
    common = dict(reads=ins.reads, writes=ins.writes, branch=branch, cond=ins.cond, target=ins.target,
                  indirect=ins.indirect, macs=_macs(name), kind=k)
    if k in ("ldm", "stm"):
        cycles = 1 + math.ceil(ins.nregs / 2)                       # [memory] two registers per cycle
        return Op(ins.addr, ins.size, name, LS, int(cycles), int(cycles) + (1 if k == "ldm" else 0),
                  cycles=cycles, **common)
    if k in ("load", "ldrd"):
        return Op(ins.addr, ins.size, name, LS, 1, 2, dual="t1" if ins.size == 2 else "", **common)   # [LLVM]
    if k in ("store", "strd"):
        return Op(ins.addr, ins.size, name, LS, 1, 1, dual="t1" if ins.size == 2 else "", **common)
    if k == "div":
        return Op(ins.addr, ins.size, name, ALU, 1, 7, cycles=6.5, **common)   # Arm: 2-11 cycles (midpoint)
    if k in ("mul", "mla", "mull", "mlal") or (k == "dsp" and name.startswith(_CX)):
        short = name == "muls" and ins.size == 2                    # [LLVM] tMUL: one cycle, T1
        return Op(ins.addr, ins.size, name, ALU, 1, 1 if short else 2, dual="t1" if short else "", **common)
    dual = ""
    if ins.size == 2:
        di = name in _DI and (name not in ("adds", "subs", "add", "sub") or _has_imm_operand(i))
        dual = "di" if di else "t1"
    return Op(ins.addr, ins.size, name, ALU, 1, 1, dual=dual, **common)


class Decoder:
    """Instructions of a code image for the M55: Capstone for the scalar ones, :func:`decode_v81m` for the
    Armv8.1-M additions. Decoded instructions are cached by address."""

    def __init__(self) -> None:
        check_capstone()
        import capstone

        self._cs = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS
                               | capstone.CS_MODE_V8)
        self._cs.detail = True
        self._cache: dict[int, Op] = {}

    def op(self, code: bytes, addr: int) -> Op:
        """The instruction at ``addr`` (``code`` holds at least its 4 bytes, or 2 at the end of a section)."""
        got = self._cache.get(addr)
        if got is not None:
            return got
        hw1 = int.from_bytes(code[:2], "little")
        op = None
        if hw1 >> 11 >= 0x1D and len(code) >= 4:
            word = (hw1 << 16) | int.from_bytes(code[2:4], "little")
            if is_v81m_space(word):
                op = decode_v81m(word, addr) or Op(addr, 4, "mve", VINT, 2, 1, frozenset(), frozenset(), mve=True)
        if op is None:
            i = next(self._cs.disasm(code[:4], addr), None)
            if i is None:
                size = 4 if hw1 >> 11 >= 0x1D else 2
                op = Op(addr, size, "unknown", ALU, 1, 1, frozenset(), frozenset())
            else:
                op = scalar_op(i, Ins.from_capstone(i))
        self._cache[addr] = op
        return op


def ops_from_halfwords(text: str, addr: int = 0) -> list[Op]:
    """Instructions from hex halfwords as objdump prints them (``"ecb5 1e88 eef2 ae20 ..."``), at ``addr``."""
    raw = b"".join(int(h, 16).to_bytes(2, "little") for h in text.split())
    dec, ops, a = Decoder(), [], 0
    while a < len(raw):
        ops.append(dec.op(raw[a:a + 4], addr + a))
        a += ops[-1].size
    return ops


@dataclass
class Schedule:
    """Cycles of one segment from an entry pipeline state, and the state it leaves (times relative to the
    cycle after the last issue)."""

    cycles: float
    exit: tuple


def _pairs(prev: Op | None, prev_paired: bool, op: Op) -> bool:
    """[LLVM] dual issue: two 16-bit instructions, one of them of the DI class, the second independent."""
    if prev is None or prev_paired or not prev.dual or not op.dual or prev.branch:
        return False
    if prev.dual != "di" and op.dual != "di":
        return False
    return not (prev.writes & op.reads) and FLAGS not in (prev.writes & op.reads)


def schedule(ops: list[Op], entry: tuple = ()) -> Schedule:
    """Issue ``ops`` in order on the M55 model, starting from the relative state ``entry``
    (``((resource, cycles until free or ready), ...)``). Returns the cycles until the next instruction may issue
    and the state then."""
    free: dict = {}
    ready: dict = {}
    for key, t in entry:
        (free if isinstance(key, str) else ready)[key] = float(t)
    now = 0.0              # earliest issue of the next instruction
    last_issue = -1.0
    prev: Op | None = None
    prev_paired = False
    for op in ops:
        dep = max((ready.get(r, 0.0) for r in op.reads), default=0.0)
        pipe_free = free.get(op.pipe, 0.0) if (op.mve or op.pipe == LS) else 0.0
        paired = _pairs(prev, prev_paired, op) and dep <= last_issue and pipe_free <= last_issue
        issue = last_issue if paired else max(now, dep, pipe_free)
        if op.mve or op.pipe == LS:
            free[op.pipe] = issue + op.beats                         # [LLVM] the pipe is busy for its beats
        for r in op.writes:
            ready[r] = issue + op.latency
        last_issue = issue
        now = max(now, issue + (op.cycles if not op.mve else 1.0))
        prev, prev_paired = op, paired
    keep = tuple(sorted(((k, t - now) for k, t in list(free.items()) + list(ready.items()) if t > now),
                        key=lambda kv: str(kv[0])))
    return Schedule(now, keep)


def drain(state: tuple, cycles: float) -> tuple:
    """The state ``cycles`` later (after a taken branch's refill)."""
    return tuple((k, t - cycles) for k, t in state if t - cycles > 0)


def loop_floor(ops: list[Op]) -> float:
    """The fewest cycles one turn of a loop body can take under the model: its busiest vector pipe (beats),
    or its issue slots when more (the loop end is free once cached)."""
    busy: dict[str, float] = {}
    for op in ops:
        if op.mve or op.pipe == LS:
            busy[op.pipe] = busy.get(op.pipe, 0.0) + op.beats
    issue = sum(1 for op in ops if op.branch != "le")
    return max([issue, *busy.values()])


@dataclass
class LoopStat:
    """A loop whose body is one segment closed by a loop end: MACs and cycles per turn, turns run."""

    function: str
    macs: int
    cycles: float
    floor: float
    turns: int = 0


@dataclass
class M55Clock:
    """Cycle accounting over a stream of executed segments (see :meth:`run`)."""

    cycles: float = 0.0
    state: tuple = ()
    loop_cache: int | None = None
    memo: dict = field(default_factory=dict)

    def run(self, key: tuple, ops: list[Op], taken: bool) -> float:
        """Account one execution of the segment ``ops`` (``key`` identifies it); ``taken``: its last instruction
        branched. Returns the cycles it added."""
        last = ops[-1] if ops else None
        cached_end = last is not None and last.branch == "le" and self.loop_cache == last.addr
        body = ops[:-1] if cached_end else ops                       # [LOB] a cached loop end is not issued
        hit = self.memo.get((key, cached_end, self.state))
        if hit is None:
            hit = schedule(body, self.state)
            self.memo[(key, cached_end, self.state)] = hit
        added, state = hit.cycles, hit.exit
        if any(op.name in ("dls", "dlstp", "wls", "wlstp") for op in ops):
            self.loop_cache = None
        if last is not None and last.branch and taken and not cached_end:
            added += TAKEN_PENALTY
            state = drain(state, TAKEN_PENALTY)
        if last is not None and last.branch == "le":
            self.loop_cache = last.addr if taken else None
        self.cycles += added
        self.state = state
        return added


def steady_turn(ops: list[Op]) -> float:
    """Cycles of one turn of a loop whose body is ``ops`` (ending in a cached loop end), in the steady state."""
    ops = ops[:-1] if ops and ops[-1].branch == "le" else ops
    state: tuple = ()
    seen: dict = {}
    for _ in range(16):
        s = schedule(ops, state)
        if s.exit in seen or s.exit == state:
            return s.cycles
        seen[state] = s.cycles
        state = s.exit
    return s.cycles


__all__ = ["LABEL", "TAKEN_PENALTY", "Decoder", "LoopStat", "M55Clock", "Op", "Schedule", "drain", "loop_floor",
           "ops_from_halfwords", "scalar_op", "schedule", "steady_turn"]
