"""Instruction timing rules per Cortex-M core, each rule with its source.

One class per pipeline: :class:`ArmV6M` (Cortex-M0+), :class:`ArmV7M` (Cortex-M3 and M4, which share
a pipeline and differ in their multiplier and one load rule), :class:`CortexM33` and
:class:`CortexM7`. A rule's comment names where its number comes from. Sources:

- [M0+ TRM] Arm Cortex-M0+ Technical Reference Manual (DDI 0484), section 3.3, instruction timings.
- [M3 TRM] Arm Cortex-M3 TRM r2p0 (DDI 0337I), sections 3.3.1 "Cortex-M3 instructions" and
  "Load/store timings".
- [M4 TRM] Arm Cortex-M4 TRM (DDI 0439), section 3.3.1 instruction timings and 3.3.2 load/store
  timings (the same text is reproduced in TI's SWCU185 Cortex-M4 chapter).
- [align] compendium.i-0.nl "instruction alignment rules", measurements on an STM32 Cortex-M4:
  a branch to an unaligned 32-bit instruction takes one extra cycle.
- [M33 pipeline] elektroniknet.de, "Cortex-M23 und M33 sind erste ARMv8-M CPUs", page 3 (Arm's
  pipeline description): two main stages as the M0+ plus a third for multiply/MAC/DSP/divide; all
  branches resolved in stage 2; dual issue of 16-bit Thumb and branch instructions; load/store
  address generation starts in stage 2 (on the M3/M4 in stage 3, "which makes loads take two cycles").
- [M7 dual issue] published measurements of Cortex-M7 dual-issue restrictions (mastodon, tag
  #CortexM7): one shifted-operand instruction per cycle (bitfield, sign/zero extension and immediates
  wider than 8 bits count as shifted), DSP/SIMD only from the older slot, a shifted operand's input
  needed one cycle earlier, in-order issue.
- [R4 TRM] Arm Cortex-R4 TRM (DDI 0363), table "Branch instruction cycle timing behavior": a
  mispredicted branch costs 8 cycles on that 8-stage pipeline; Arm publishes no figure for the 6-stage
  Cortex-M7 (see :class:`CortexM7`).
- [CoreMark] benchmarks/cycle_validation.py: where a rule's constant is not published, the value
  chosen is the one that brings the emulated CoreMark/MHz closest to published GCC silicon figures;
  such constants say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edge_gru.errors import ToolMissingError

# Capstone decodes the instructions; its condition codes, registers and operand types are numbered per major
# version (6 renumbers them), so they are read by name from the installed module, and the major versions tested
# are stated here, in pyproject.toml and checked by tests/unit/test_firmware_sim.py.
CAPSTONE_MAJORS = (5,)
try:
    import capstone as _capstone
    from capstone import arm as _arm
except ImportError:          # timing Arm code needs it; check_capstone says what to install
    _capstone = _arm = None
else:
    AL, CC_INVALID = _arm.ARM_CC_AL, _arm.ARM_CC_INVALID                  # always / no condition
    PC, LR, SP = _arm.ARM_REG_PC, _arm.ARM_REG_LR, _arm.ARM_REG_SP
    OP_REG, OP_IMM, OP_MEM = _arm.ARM_OP_REG, _arm.ARM_OP_IMM, _arm.ARM_OP_MEM
    SFT_NONE = _arm.ARM_SFT_INVALID                                       # an operand without a shift
FLAGS = -1                   # pseudo-register: the condition flags


def check_capstone() -> None:
    """Raise unless a Capstone of a tested major version is installed.

    Raises:
        ToolMissingError: Capstone is missing or of another major version.
    """
    want = " or ".join(f"{m}.x" for m in CAPSTONE_MAJORS)
    if _capstone is None:
        raise ToolMissingError(f"timing Arm code needs capstone {want}: pip install 'edge-gru[sim]'")
    major = int(str(_capstone.__version__).split(".")[0])
    if major not in CAPSTONE_MAJORS:
        raise ToolMissingError(f"capstone {_capstone.__version__} is installed; the cycle model is tested with "
                               f"{want}: pip install 'capstone>={CAPSTONE_MAJORS[0]},<{CAPSTONE_MAJORS[-1] + 1}'")

_DSP = ("smla", "smul", "smua", "smus", "smls", "smmul", "smmla", "smmls", "sxt", "uxt", "ssat", "usat", "qadd",
        "qsub", "qdadd", "qdsub", "sadd", "ssub", "uadd", "usub", "pkh", "sel", "shadd", "uhadd", "qasx", "qsax",
        "sasx", "ssax", "usad", "rev", "rbit")
_MLAL = {"smlal", "umlal", "umaal", "smlald", "smlaldx", "smlsld", "smlsldx", "smlalbb", "smlalbt", "smlaltb",
         "smlaltt"}
_BITFIELD = ("ubfx", "sbfx", "bfi", "bfc", "sxt", "uxt")


@dataclass(frozen=True, slots=True)
class Ins:
    """What the timing rules need to know of one instruction."""

    addr: int
    size: int
    name: str
    kind: str            # alu mul mla mull mlal div dsp load store ldrd strd ldm stm branch call it
    cond: bool           # executes conditionally (B<cc>, CBZ, an instruction inside an IT block)
    reads: frozenset
    writes: frozenset
    base: int | None = None       # address registers of a load/store
    index: int | None = None
    writeback: bool = False
    nregs: int = 0                # registers an LDM/STM/PUSH/POP transfers
    target: int | None = None     # direct branch target
    indirect: bool = False        # branch to a register, a loaded value or a table
    shifted: bool = False         # shifted operand, bitfield, extension or wide immediate (M7 pairing)

    @property
    def writes_pc(self) -> bool:
        """Changes the program flow (branches and loads to PC)."""
        return PC in self.writes

    @property
    def dest(self) -> frozenset:
        """Registers written other than the base (the loaded values, the ALU result)."""
        return self.writes - {self.base}

    @staticmethod
    def from_capstone(i) -> Ins:
        """Decode a Capstone instruction (detail mode)."""
        name = i.insn_name()
        r, w = i.regs_access()
        reads, writes = set(r), set(w)
        if i.update_flags:
            writes.add(FLAGS)
        cond = i.cc not in (AL, CC_INVALID) and name != "it"
        if cond or name in ("adc", "sbc", "rrx"):
            reads.add(FLAGS)
        mem = next((o.mem for o in i.operands if o.type == OP_MEM), None)
        base = mem.base if mem is not None and mem.base else None
        index = mem.index if mem is not None and mem.index else None
        imm = [o.imm for o in i.operands if o.type == OP_IMM]
        kind = _kind(name, i)
        if kind in ("branch", "call"):
            writes.add(PC)       # (Capstone 5 leaves PC out of a 32-bit B<cc>'s writes: no refill was charged)
        if name in ("cbz", "cbnz"):
            cond = True
        target = imm[0] if kind in ("branch", "call") and name not in ("bx", "blx") and imm else None
        indirect = (kind in ("branch", "call") and target is None) or (PC in writes and kind not in ("branch", "call"))
        shifted = kind in ("alu", "dsp") and (
            any(o.type == OP_REG and o.shift.type != SFT_NONE for o in i.operands) or name.startswith(_BITFIELD)
            or any(v > 255 or v < 0 for v in imm))
        nregs = (len(i.operands) - (0 if name in ("push", "pop", "vpush", "vpop") else 1)) if kind in ("ldm", "stm") \
            else 0
        return Ins(i.address, i.size, name, kind, cond, frozenset(reads), frozenset(writes), base, index,
                   bool(i.writeback), nregs, target, indirect, shifted)


def _kind(name: str, i) -> str:
    if name in ("ldm", "ldmdb", "pop", "vpop"):
        return "ldm"
    if name in ("stm", "stmdb", "push", "vpush"):
        return "stm"
    if name == "ldrd":
        return "ldrd"
    if name == "strd":
        return "strd"
    if name.startswith("ldr") or name == "pld":
        return "load"
    if name.startswith("str"):
        return "store"
    if name in ("b", "bx", "cbz", "cbnz", "tbb", "tbh"):
        return "branch"
    if name in ("bl", "blx"):
        return "call"
    if name == "it":
        return "it"
    if name == "mul":
        return "mul"
    if name in ("mla", "mls"):
        return "mla"
    if name in ("smull", "umull"):
        return "mull"
    if name in _MLAL:
        return "mlal"
    if name in ("sdiv", "udiv"):
        return "div"
    if name.startswith(_DSP):
        return "dsp"
    return "alu"


@dataclass
class BlockCost:
    """Static cycles of a block (its last branch not taken) and the extra cycles when it is taken."""

    cycles: float
    refill: float


class Timing:
    """Rules shared by every core; subclasses give the numbers."""

    label = ""
    mispredict_penalty = 0.0

    def cost(self, i: Ins, prev: Ins | None) -> float:
        """Cycles ``i`` adds after ``prev`` (None at a block start), its branch not taken."""
        raise NotImplementedError

    def taken_extra(self, i: Ins) -> float:
        """Extra cycles when the conditional branch ``i`` is taken."""
        return 0.0

    def block_cost(self, ins: list[Ins]) -> BlockCost:
        """Cycles of a straight run of instructions (a basic block)."""
        cycles = 0.0
        prev = None
        for i in ins:
            cycles += self.cost(i, prev)
            prev = i
        last = ins[-1] if ins else None
        refill = self.taken_extra(last) if last is not None and last.cond and last.writes_pc else 0.0
        return BlockCost(cycles, refill)

    def floor_cost(self, ins: list[Ins]) -> float:
        """The fewest cycles the model gives a loop body's instructions without its closing branch, over three
        orders of them: as written, every load first (the loads pipeline back to back), and loads alternating with
        the rest (dual issue). A bound for the instruction mix, not a schedule the registers allow."""
        work = ins[:-1] if ins and ins[-1].writes_pc else list(ins)
        loads = [i for i in work if i.kind in ("load", "ldrd", "ldm")]
        rest = [i for i in work if i.kind not in ("load", "ldrd", "ldm")]
        mixed = [i for pair in zip(rest, loads, strict=False) for i in pair]
        n = min(len(rest), len(loads))
        mixed += rest[n:] + loads[n:]
        return min(self.block_cost(order).cycles for order in (work, loads + rest, mixed))

    def boundary_adjust(self, tail: Ins, head: Ins) -> float:
        """How ``head``'s cost changes when ``tail`` (the previous block's last instruction) precedes it."""
        return self.cost(head, tail) - self.cost(head, None)

    def entry_penalty(self, head: Ins) -> float:
        """Extra cycles when a taken branch lands on ``head``."""
        return 0.0

    def new_predictor(self, last: Ins) -> list | None:
        """Branch predictor state for a block ending in ``last``, None when the core predicts nothing."""
        return None

    def mispredicted(self, state: list, taken: bool, target: int) -> bool:
        """Update ``state`` with the outcome; whether the prediction was wrong."""
        return False


def _is_data_processing(i: Ins | None) -> bool:
    return i is not None and i.kind in ("alu", "mul", "mla", "mull", "mlal", "dsp", "div")


def _address_regs(i: Ins) -> set:
    return {r for r in (i.base, i.index) if r is not None}


class ArmV6M(Timing):
    """Cortex-M0+: two-stage pipeline, 32-bit fetch, single-cycle multiplier (as on RP2040 and STM32G0)."""

    label = "Cortex-M0+ TRM timings"

    def cost(self, i: Ins, prev: Ins | None) -> float:
        k = i.kind
        if k in ("load", "store"):
            return 2 + (1 if i.writes_pc else 0)                 # [M0+ TRM] LDR/STR 2
        if k in ("ldm", "stm"):
            return 1 + i.nregs + (2 if i.writes_pc else 0)      # [M0+ TRM] LDM/STM/PUSH/POP 1+N, POP {pc} 3+N
        if k == "call":
            return 3 if i.target is not None else 2              # [M0+ TRM] BL 3, BLX 2
        if k == "branch":
            if i.cond:
                return 1                                          # [M0+ TRM] B<cc> not taken 1 (taken: below)
            return 2                                              # [M0+ TRM] B 2, BX 2
        if i.writes_pc:
            return 2                                              # [M0+ TRM] MOV/ADD PC 2
        return 1                                                  # [M0+ TRM] data processing, MULS (fast) 1

    def taken_extra(self, i: Ins) -> float:
        return 1                                                  # [M0+ TRM] B<cc> taken 2


class ArmV7M(Timing):
    """Cortex-M3 and Cortex-M4: three-stage pipeline with load/store pipelining and speculative fetch."""

    def __init__(self, m4: bool) -> None:
        self.m4 = m4
        self.label = "Cortex-M4 TRM timings" if m4 else "Cortex-M3 TRM timings"

    def _load_pipelines(self, prev: Ins | None, i: Ins) -> bool:
        """[M3/M4 TRM load/store timings] "LDR [any] are pipelined when possible": the next LDR or STR loses
        a cycle unless its address uses the first LDR's destination. [M3 TRM r2p0] "any load with a base
        update is not normally pipelined" (the M4 TRM has no such rule). LDRD, loads to PC do not pipeline."""
        if prev is None or prev.kind != "load" or prev.writes_pc:
            return False
        if prev.writeback and not self.m4:
            return False
        return not (prev.dest & _address_regs(i))

    def _agu_stall(self, prev: Ins | None, i: Ins) -> float:
        """[M3/M4 TRM] "Any load or store that generates an address dependent on the result of a preceding
        data processing operation stalls the pipeline for an additional cycle"."""
        return 1.0 if _is_data_processing(prev) and prev.writes & _address_regs(i) else 0.0

    def cost(self, i: Ins, prev: Ins | None) -> float:
        k = i.kind
        if k == "load":
            if i.writes_pc:
                return 2 + 3 + self._agu_stall(prev, i)          # [M4 TRM] LDR PC: 2 for the load, 3 reload
            return (1 if self._load_pipelines(prev, i) else 2) + self._agu_stall(prev, i)
        if k == "store":
            if i.index is None:
                return 1 + self._agu_stall(prev, i)              # [M4 TRM] "STR Rx,[Ry,#imm] is always one cycle"
            # [M4 TRM] register-offset STR: 2, pipelined (1) only after an LDR
            return (1 if self._load_pipelines(prev, i) else 2) + self._agu_stall(prev, i)
        if k in ("ldrd", "strd"):
            return 3 + self._agu_stall(prev, i)                  # [M3 TRM] LDRD/STRD: 3, never pipelined
        if k in ("ldm", "stm"):
            return 1 + i.nregs + (3 if i.writes_pc else 0)      # [M4 TRM] LDM/STM 1+N; POP {pc} 1+N+P, P=3 (PC load)
        if k == "branch":
            if i.name in ("tbb", "tbh"):
                return 6                                          # [M4 TRM] TBB/TBH: 2 load + 1 add + 3 reload
            if i.cond:
                return 1                                          # [M4 TRM] B<cc>/CBZ not taken: 1
            return 2 if not i.indirect else 3                     # [M4 TRM] taken: imm 1+1, register 1+2
        if k == "call":
            return 2 if not i.indirect else 3                     # [M4 TRM] BL imm 1+1, BLX reg 1+2
        if i.writes_pc:
            return 3                                              # [M4 TRM] MOV/ADD PC: register branch, 1+2
        if k == "it":
            # [M3 TRM 3.3.1] "IT instructions can be folded onto a preceding 16-bit Thumb instruction, enabling
            # execution in zero cycles"; [M33 pipeline] article: the M4 allows IT folding
            return 0 if prev is not None and prev.size == 2 and not prev.writes_pc else 1
        if k == "mla":
            return 1 if self.m4 else 2                            # [M4 TRM] MLA 1; [M3 TRM] MLA 2
        if k == "mull":
            return 1 if self.m4 else 4                            # [M4 TRM] 1; [M3 TRM] SMULL/UMULL 3-5 (midpoint)
        if k == "mlal":
            return 1 if self.m4 else 5.5                          # [M4 TRM] 1; [M3 TRM] SMLAL/UMLAL 4-7 (midpoint)
        if k == "div":
            return 7                                              # [M3/M4 TRM] SDIV/UDIV 2-12 (midpoint)
        return 1                                                  # [M4 TRM] ALU, MUL, DSP: 1

    def taken_extra(self, i: Ins) -> float:
        # [M4 TRM] "Taken branches with an immediate are normally 1 cycle of pipeline reload; ... register
        # operand 2 cycles"; a conditional load to PC (POPEQ {pc}) reloads in 3
        if i.kind in ("ldm", "load"):
            return 0.0                                            # charged statically (see cost)
        return 2.0 if i.indirect else 1.0

    def block_cost(self, ins: list[Ins]) -> BlockCost:
        cost = super().block_cost(ins)
        last = ins[-1] if ins else None
        if last is not None and last.cond and last.kind in ("ldm", "load") and last.writes_pc:
            # a conditional POP {pc}: the reload is paid only when it executes
            return BlockCost(cost.cycles - 3, 3)
        return cost

    def entry_penalty(self, head: Ins) -> float:
        # [M4 TRM] "Pipeline reload is longer [up to 1 cycle] when branching to unaligned 32-bit
        # instructions"; [align] measured: one extra cycle
        return 1.0 if head.size == 4 and head.addr % 4 == 2 else 0.0


class CortexM33(Timing):
    """Cortex-M33 ([M33 pipeline]): branches resolved in decode, loads with early address generation,
    dual issue of 16-bit instructions; multiply/MAC/DSP in a third stage."""

    label = "Cortex-M33 pipeline model"

    def _load_use(self, prev: Ins | None, i: Ins) -> float:
        # [M33 pipeline] load data returns at the end of the memory stage: an instruction that needs the loaded
        # register right away waits one cycle (the same interlock the M0+-style two-stage front end has)
        if prev is not None and prev.kind in ("load", "ldm", "ldrd") and not prev.writes_pc:
            return 1.0 if prev.dest & i.reads else 0.0
        return 0.0

    def _third_stage_result(self, prev: Ins | None, i: Ins) -> float:
        # [M33 pipeline] multiply, MAC, DSP and divide finish in stage 3: a dependent address waits a cycle
        if prev is not None and prev.kind in ("mul", "mla", "mull", "mlal", "dsp", "div"):
            return 1.0 if prev.writes & _address_regs(i) else 0.0
        return 0.0

    def pairs(self, prev: Ins | None, i: Ins) -> bool:
        """[M33 pipeline] dual issue of "Thumb-16 and branch instructions", read as: a 16-bit data-processing
        instruction and a following 16-bit direct branch that does not depend on it (flags included), issued
        together. The wider reading, any two independent 16-bit data-processing instructions,
        made the emulated CoreMark/MHz 11.2% faster than silicon (GCC 12.3); this one +7.0%; no dual issue at all
        +5.4% ([CoreMark]), but the source says the core dual-issues, so the narrow reading is kept."""
        if prev is None or prev.size != 2 or i.size != 2 or prev.kind != "alu" or prev.writes_pc:
            return False
        return i.kind == "branch" and not i.indirect and not prev.writes & i.reads
    def cost(self, i: Ins, prev: Ins | None) -> float:
        k = i.kind
        stall = self._load_use(prev, i)
        if k in ("load", "store", "ldrd", "strd"):
            stall += self._third_stage_result(prev, i)
            if i.writes_pc:
                return 1 + 2 + stall                              # load to PC: the target comes from stage 3
            return (2 if k in ("ldrd", "strd") else 1) + stall    # [M33 pipeline] address generation in stage 2
        if k in ("ldm", "stm"):
            return 1 + i.nregs + (2 if i.writes_pc else 0) + stall
        if k == "branch" and i.name in ("tbb", "tbh"):
            return 1 + 1 + 2 + stall                              # table load, add, decode-stage reload
        if k in ("branch", "call"):
            if self.pairs(prev, i):
                return 0 + (0 if i.cond else 1)
            return 1 + (0 if i.cond else 1) + stall               # [M33 pipeline] resolved in stage 2: reload 1
        if i.writes_pc:
            return 2 + stall
        if k == "it":
            return 0 if prev is not None and prev.size == 2 else 1
        if k == "div":
            return 6.5 + stall                                    # Arm: SDIV/UDIV 2-11 cycles (midpoint)
        return 1 + stall                                          # ALU, MUL/MLA, SMULL/SMLAL, DSP: single cycle

    def taken_extra(self, i: Ins) -> float:
        return 1.0                                                # [M33 pipeline] resolved in stage 2


class CortexM7(Timing):
    """Cortex-M7: six-stage, in-order, dual issue with a branch predictor.

    Arm publishes no instruction timings for the M7. Pairing rules are the published measurements
    [M7 dual issue]; one load/store and one multiply per cycle; loads return their data a cycle later
    (load-use interlock); the dynamic predictor is a 2-bit counter per branch with a target cache for
    indirect branches and a return stack; static prediction: unconditional direct branches taken.
    The misprediction penalty has no published figure: 5 cycles, a little under the 8 that [R4 TRM] gives for
    the deeper (8-stage) Cortex-R4. On CoreMark ([CoreMark]) 4, 5 and 6 cycles gave -1.4%, -2.8% and -4.2%
    against the i.MX RT1060 figure, all inside the spread published for that silicon with GCC (3.86 to 4.04
    CoreMark/MHz, docs/measurements.md section 4): the benchmark could not pin this constant closer. Re-measured
    on 2026-12-07 the same run gives -9.3% with 5 cycles, at that commit too (docs/simulation.md: cause not found).
    """

    label = "Cortex-M7 dual-issue model"
    mispredict_penalty = 5.0

    def pairs(self, prev: Ins | None, i: Ins) -> bool:
        """Whether ``i`` issues in the same cycle as ``prev`` ([M7 dual issue])."""
        if prev is None or prev.writes_pc or prev.kind in ("ldm", "stm", "div", "it", "ldrd", "strd"):
            return False
        if i.kind in ("ldm", "stm", "div", "it", "ldrd", "strd") or (i.writes_pc and i.kind not in ("branch", "call")):
            return False
        mem = ("load", "store")
        mac = ("mul", "mla", "mull", "mlal")
        if (prev.kind in mem and i.kind in mem) or (prev.kind in mac and i.kind in mac):
            return False                                          # one load/store port, one multiplier
        if prev.shifted and i.shifted:
            return False                                          # [M7 dual issue] one shifted operand per cycle
        if i.kind == "dsp":
            return False                                          # [M7 dual issue] DSP only from the older slot
        return not (prev.writes & i.reads)                        # in order: no dependency inside a pair

    def _stalls(self, prev: Ins | None, i: Ins) -> float:
        if prev is None:
            return 0.0
        if prev.kind in ("load", "ldrd", "ldm") and prev.dest & i.reads:
            return 1.0                                            # load-use interlock
        if i.shifted and prev.writes & i.reads:
            return 1.0                                            # [M7 dual issue] shifted input a cycle early
        return 0.0

    def cost(self, i: Ins, prev: Ins | None) -> float:
        k = i.kind
        stall = self._stalls(prev, i)
        if k in ("ldm", "stm"):
            return max(1, math.ceil(i.nregs / 2)) + stall         # 64-bit data path: two registers per cycle
        if k == "div":
            return 7 + stall                                      # SDIV/UDIV 2-12 (midpoint)
        if k == "it":
            return 0.0                                            # folded
        if i.writes_pc and k not in ("branch", "call", "load"):
            return 1 + stall
        if self.pairs(prev, i) and stall == 0:
            return 0.0                                            # issues with the previous instruction
        return 1 + stall

    def block_cost(self, ins: list[Ins]) -> BlockCost:
        cycles = 0.0
        prev = None
        paired = False
        for i in ins:
            c = self.cost(i, None if paired else prev)            # a pair's second slot cannot pair again
            paired = c == 0.0 and prev is not None and i.kind != "it"
            cycles += c
            prev = i
        return BlockCost(cycles, 0.0)                             # taken branches cost only when mispredicted

    def new_predictor(self, last: Ins) -> list | None:
        if not last.writes_pc:
            return None
        if last.kind in ("branch", "call") and not last.indirect and not last.cond:
            return None                                           # static prediction: always right
        if last.name == "bx" and LR in last.reads or (last.kind == "ldm" and last.writes_pc):
            return None                                           # return stack
        return [1, None]                                          # 2-bit counter (weakly not taken), last target

    def mispredicted(self, state: list, taken: bool, target: int) -> bool:
        counter, last_target = state
        predicted_taken = counter >= 2
        wrong = predicted_taken != taken or (taken and last_target is not None and target != last_target)
        state[0] = min(3, counter + 1) if taken else max(0, counter - 1)
        if taken:
            state[1] = target
        return wrong


TIMINGS: dict[str, Timing] = {
    "cortex-m0plus": ArmV6M(),
    "cortex-m3": ArmV7M(m4=False),
    "cortex-m4": ArmV7M(m4=True),
    "cortex-m33": CortexM33(),
    "cortex-m7": CortexM7(),
}


__all__ = ["TIMINGS", "ArmV6M", "ArmV7M", "BlockCost", "CortexM33", "CortexM7", "Ins", "Timing"]
