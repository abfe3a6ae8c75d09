"""Per-core cycle model, applied per basic block.

Costs follow the instruction timing tables of Arm's Technical Reference Manuals (Cortex-M0+ TRM
section 3.3; Cortex-M3/M4 TRM section 3.3 "Instruction set summary"; Cortex-M33 TRM appendix
"Cycle timings"). Assumptions, stated in every report: zero wait-state memory, no caches, no
interrupts, data-dependent latencies (division) taken at their midpoint. The Cortex-M7 is
dual-issue with a branch predictor; we approximate it (ALU and multiply pairs issue together,
one load/store per cycle, predicted branches) and label its figures so.

A block's static cost is the sum of its instructions' costs (with load/store pipelining inside the
block); a taken branch at its end adds the core's pipeline refill, charged when the next executed
block does not start where this one ends.
"""

from __future__ import annotations

from dataclasses import dataclass

# Instruction classes -> cycles, per core model. N = registers transferred.
# "refill": extra cycles when the branch ending a block is taken.
CORE_MODELS: dict[str, dict[str, float]] = {
    # Cortex-M0+ TRM: 2-stage pipeline. Loads/stores 2, LDM/STM/PUSH/POP 1+N, MULS 1 (fast multiplier
    # option, as on RP2040 and STM32G0), B taken 2 / not taken 1, BL 3, BX/BLX 2, POP {pc} 3+N.
    "cortex-m0plus": {"alu": 1, "mul": 1, "mla": 2, "mull": 1, "dsp": 1, "div": 1, "load": 2, "store": 2,
                      "load_pipelined": 2, "multi_base": 1, "branch": 1, "bl": 2, "refill": 1, "pc_write": 2,
                      "it": 1, "label": "Cortex-M0+ TRM timings"},
    # Cortex-M3 TRM: MLA 2, SMULL/UMULL 3-5 (4), SMLAL/UMLAL 4-7 (5), SDIV/UDIV 2-12 (7), LDR 2 with
    # back-to-back pipelining (N+1), LDM/STM 1+N, taken branch 1+P with P = 1..3 refill (2).
    "cortex-m3": {"alu": 1, "mul": 1, "mla": 2, "mull": 4, "mlal": 5, "dsp": 1, "div": 7, "load": 2, "store": 2,
                  "load_pipelined": 1, "multi_base": 1, "branch": 1, "bl": 1, "refill": 2, "pc_write": 2, "it": 1,
                  "label": "Cortex-M3 TRM timings"},
    # Cortex-M4 TRM: as M3 but MLA, SMULL, SMLAL and the DSP instructions (SMLAD, SXTB16, SSAT ...) 1.
    "cortex-m4": {"alu": 1, "mul": 1, "mla": 1, "mull": 1, "mlal": 1, "dsp": 1, "div": 7, "load": 2, "store": 2,
                  "load_pipelined": 1, "multi_base": 1, "branch": 1, "bl": 1, "refill": 2, "pc_write": 2, "it": 1,
                  "label": "Cortex-M4 TRM timings"},
    # Cortex-M33 TRM: 3-stage pipeline, single-cycle 32x32 multiply and MAC, DSP extension 1, divide 2-11.
    "cortex-m33": {"alu": 1, "mul": 1, "mla": 1, "mull": 1, "mlal": 1, "dsp": 1, "div": 6, "load": 2,
                   "store": 2, "load_pipelined": 1, "multi_base": 1, "branch": 1, "bl": 1, "refill": 2,
                   "pc_write": 2, "it": 1, "label": "Cortex-M33 TRM timings"},
    # Cortex-M7: dual issue approximated (ALU/MAC pairs at 0.5 each, one load/store per cycle,
    # predicted loop branches with a 1-cycle average refill). APPROXIMATE.
    "cortex-m7": {"alu": 0.5, "mul": 0.5, "mla": 0.5, "mull": 0.5, "mlal": 0.5, "dsp": 0.5, "div": 6, "load": 1,
                  "store": 1, "load_pipelined": 1, "multi_base": 1, "branch": 0.5, "bl": 1, "refill": 1,
                  "pc_write": 2, "it": 0, "label": "Cortex-M7, dual issue approximated"},
}

_MUL = {"mul"}
_MLA = {"mla", "mls"}
_MULL = {"smull", "umull"}
_MLAL = {"smlal", "umlal", "umaal", "smlald", "smlaldx", "smlsld", "smlsldx", "smlalbb", "smlalbt", "smlaltb",
         "smlaltt"}
_DIV = {"sdiv", "udiv"}
_BRANCH = {"b", "bx", "cbz", "cbnz", "tbb", "tbh"}
_BL = {"bl", "blx"}
_MULTI = {"ldm", "stm", "ldmdb", "stmdb", "push", "pop", "vpush", "vpop"}


def _is_dsp(name: str) -> bool:
    return name.startswith(("smla", "smul", "smua", "smus", "smls", "smmul", "smmla", "smmls", "sxt", "uxt", "ssat",
                            "usat", "qadd", "qsub", "qdadd", "qdsub", "sadd", "ssub", "uadd", "usub", "pkh", "sel",
                            "shadd", "uhadd", "qasx", "qsax", "sasx", "ssax", "usad"))


def _macs(name: str) -> int:
    """Multiply-accumulates of one instruction: the dual 16-bit MACs count 2, other multiplies 1."""
    if name.startswith(("smlad", "smlald", "smuad")):
        return 2
    return int(name in _MUL or name in _MLA or name in _MULL or name in _MLAL
               or name.startswith(("smla", "smul", "smmul", "smmla")))


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
    # load/store pipelining across a fall-through into this block (the emulator splits blocks at 1 KB
    # pages, the core does not): register loaded by the block's last instruction (-1 after a store, None if
    # it is no load/store), base register of its first load/store and the cycles saved when that one
    # pipelines with the previous block's last
    tail_mem_dest: int | None = None
    head_base: int | None = None
    head_saving: float = 0.0
    pipelined_entries: int = 0

    def pipelines_after(self, prev: Block) -> bool:
        """Whether this block's first load/store pipelines with ``prev``'s last when ``prev`` falls through."""
        return (prev.end == self.start and self.head_saving > 0 and prev.tail_mem_dest is not None
                and self.head_base != prev.tail_mem_dest)

    def total(self) -> float:
        """Cycles of all its executions."""
        return self.cycles * self.count + self.refill * self.taken - self.head_saving * self.pipelined_entries


class CostModel:
    """Static per-block costs for one core, from a Capstone disassembly of the block."""

    def __init__(self, core: str) -> None:
        import capstone

        model = "cortex-m33" if core == "cortex-m55" else core
        if model not in CORE_MODELS:
            raise ValueError(f"no cycle model for {core}")
        self.core = core
        self.t = CORE_MODELS[model]
        self.label = self.t["label"] + (" (Cortex-M55 run as its scalar build on the M33 model)"
                                        if core == "cortex-m55" else "")
        self._cs = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        self._cs.detail = True
        self._pc = capstone.arm_const.ARM_REG_PC

    def block(self, code: bytes, addr: int, function: str = "?") -> Block:
        """Cost of the block ``code`` at ``addr``."""
        t = self.t
        cycles = 0.0
        refill = 0.0
        prev_mem_dest: int | None = None     # register loaded by the previous load/store, None if not a ld/st
        n = macs = 0
        back: int | None = None
        head_base: int | None = None
        head_saving = 0.0
        for ins in self._cs.disasm(code, addr):
            n += 1
            name = ins.insn_name()
            macs += _macs(name)
            back = (ins.operands[0].imm if name == "b" and ins.operands and ins.operands[0].type == 2
                    and ins.operands[0].imm <= ins.address else None)
            written = ins.regs_access()[1]
            writes_pc = self._pc in written
            refill = 0.0
            if name in _MULTI:
                regs = len(ins.operands) - (0 if name in ("push", "pop", "vpush", "vpop") else 1)
                cycles += t["multi_base"] + regs
                prev_mem_dest = None
                if writes_pc:
                    refill = t["refill"] + (1 if self.core == "cortex-m0plus" else 0)
                continue
            if name.startswith(("ldr", "str", "ldrex", "strex")) or name in ("ldrd", "strd"):
                pair = name in ("ldrd", "strd")
                base = ins.operands[-1].mem.base if ins.operands and ins.operands[-1].type == 3 else None
                pipelined = prev_mem_dest is not None and base != prev_mem_dest
                kind = "load" if name.startswith("ldr") else "store"
                if n == 1:
                    head_base, head_saving = base, t[kind] - t["load_pipelined"]
                cycles += (t["load_pipelined"] if pipelined else t[kind]) + (1 if pair else 0)
                prev_mem_dest = ins.operands[0].reg if name.startswith("ldr") and ins.operands else -1
                if writes_pc:
                    refill = t["pc_write"]
                continue
            prev_mem_dest = None
            if name in _BRANCH:
                cycles += t["branch"]
                refill = t["refill"]
            elif name in _BL:
                cycles += t["bl"]
                refill = t["refill"]
            elif name.startswith("it"):
                cycles += t["it"]
            elif name in _MUL:
                cycles += t["mul"]
            elif name in _MLA:
                cycles += t["mla"]
            elif name in _MULL:
                cycles += t["mull"]
            elif name in _MLAL:
                cycles += t.get("mlal", t["mull"])
            elif name in _DIV:
                cycles += t["div"]
            elif _is_dsp(name):
                cycles += t["dsp"]
            else:
                cycles += t["alu"]
                if writes_pc:
                    refill = t["pc_write"]
        return Block(cycles, refill, addr + len(code), n, function, macs=macs, back_target=back, start=addr,
                     tail_mem_dest=prev_mem_dest, head_base=head_base, head_saving=max(head_saving, 0.0))


__all__ = ["Block", "CORE_MODELS", "CostModel"]
