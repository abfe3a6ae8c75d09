"""Per-core cycle model, applied per basic block.

Every core has its own timing rules in :mod:`firmware_sim.core_timing`, each citing its source.
This module decodes a block once (Capstone), asks the core's rules for its static cost, and keeps
the counters the emulator updates as blocks execute: executions, taken branches, entries by a taken
branch, fall-through entries (where an effect crosses an emulator block split) and, on cores with a
branch predictor, mispredictions. Assumptions, stated in every report: zero wait-state memory, no
caches, no interrupts, data-dependent latencies (division) taken at their midpoint. The target's memory
system (:mod:`firmware_sim.memory`) adds its stall cycles to each block's ``stall``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware_sim.core_timing import TIMINGS, Ins, Timing, check_capstone


def _macs(name: str) -> int:
    """Multiply-accumulates of one instruction: the dual 16-bit MACs count 2, other multiplies 1; SMMUL(R), the high
    word of a product, is the kernels' requantization (inside a block loop that runs its inputs in straight lines),
    not a MAC."""
    if name.startswith(("smlad", "smlald", "smuad")):
        return 2
    return int(name in ("mul", "mla", "mls", "smull", "umull") or name.startswith(("smla", "smul", "smmla",
                                                                                   "umlal", "umaal")))


@dataclass
class Block:
    """One basic block: static cycles, refill when its last branch is taken, end address, counters."""

    cycles: float
    refill: float
    end: int
    instructions: int
    function: str
    count: int = 0
    taken: int = 0
    macs: int = 0              # multiply-accumulates its instructions perform (SMLAD: 2, MULS/MLA: 1)
    back_target: int | None = None  # target of a backward branch ending the block: a loop from there
    start: int = 0
    entry_penalty: float = 0.0      # extra cycles when entered by a taken branch (e.g. an unaligned wide target)
    branch_entries: int = 0
    head: Ins | None = None         # first and last instruction, for effects across a fall-through
    tail: Ins | None = None
    fall_entries: dict[int, int] = field(default_factory=dict)     # previous block start -> fall-through entries
    fall_adjust: dict[int, float] = field(default_factory=dict)    # previous block start -> cycle adjustment
    predictor: object | None = None  # a core's branch predictor state for the block's last branch
    mispredicts: int = 0
    mispredict_penalty: float = 0.0
    region: object | None = None    # the slow memory region it is fetched from (None: zero-wait)
    stall: float = 0.0              # memory stall cycles of all its executions (fetches and the loads it made)
    ins: list = field(default_factory=list, repr=False)   # its decoded instructions

    def total(self) -> float:
        """Cycles of all its executions."""
        adjust = sum(self.fall_adjust.get(k, 0.0) * n for k, n in self.fall_entries.items())
        return (self.cycles * self.count + self.refill * self.taken + self.entry_penalty * self.branch_entries
                + self.mispredict_penalty * self.mispredicts + adjust + self.stall)

    def after_fall_through(self, prev: Block) -> float:
        """Cycle adjustment when ``prev`` falls through into this block (cached per predecessor)."""
        return self.fall_adjust.get(prev.start, 0.0)


class CostModel:
    """Static per-block costs for one core, from a Capstone disassembly of the block."""

    def __init__(self, core: str) -> None:
        check_capstone()
        import capstone

        if core not in TIMINGS:
            raise ValueError(f"no cycle model for {core}")
        self.core = core
        self.timing: Timing = TIMINGS[core]
        self.label = self.timing.label
        self._cs = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        self._cs.detail = True
        self._predictors: dict[int, list] = {}

    def reset(self) -> None:
        """Forget the branch history (a program start)."""
        self._predictors.clear()

    def _predictor(self, last: Ins) -> list | None:
        """The predictor state of the branch ``last``: one per branch address, whichever block ends in it."""
        state = self.timing.new_predictor(last)
        return None if state is None else self._predictors.setdefault(last.addr, state)

    def decode(self, code: bytes, addr: int) -> list[Ins]:
        """The instructions of ``code`` at ``addr``."""
        return [Ins.from_capstone(i) for i in self._cs.disasm(code, addr)]

    def block(self, code: bytes, addr: int, function: str = "?") -> Block:
        """Cost of the block ``code`` at ``addr``."""
        ins = self.decode(code, addr)
        cost = self.timing.block_cost(ins)
        last = ins[-1] if ins else None
        back = (last.target if last is not None and last.name == "b" and last.target is not None
                and last.target <= last.addr else None)
        return Block(cost.cycles, cost.refill, addr + len(code), len(ins), function,
                     macs=sum(_macs(i.name) for i in ins), back_target=back, start=addr,
                     entry_penalty=self.timing.entry_penalty(ins[0]) if ins else 0.0,
                     head=ins[0] if ins else None, tail=last,
                     predictor=self._predictor(last) if last is not None else None,
                     mispredict_penalty=self.timing.mispredict_penalty, ins=ins)

    def link_fall_through(self, prev: Block, block: Block) -> None:
        """Count a fall-through from ``prev`` into ``block`` and cache the cycle adjustment it brings."""
        key = prev.start
        if key not in block.fall_adjust:
            block.fall_adjust[key] = (self.timing.boundary_adjust(prev.tail, block.head)
                                      if prev.tail is not None and block.head is not None else 0.0)
        block.fall_entries[key] = block.fall_entries.get(key, 0) + 1


__all__ = ["Block", "CostModel"]
