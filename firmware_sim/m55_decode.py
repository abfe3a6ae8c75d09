"""Decode Cortex-M55 (Armv8.1-M) instructions into what the M55 timing model needs.

Capstone 5 decodes the Armv8-M scalar instructions but not Armv8.1-M's additions: it prints Helium (MVE)
loads as LDC, the conditional selects (CSEL, CSINC, ...) and the long shifts (LSLL, ASRL, ...) as ORRS, and
leaves the vector data-processing and low-overhead-branch (LOB) instructions undecoded. This module decodes
those encodings itself, from the Armv8.1-M Architecture Reference Manual (Arm DDI 0553) encoding tables; every
pattern below was checked against GNU binutils 2.40 (``arm-none-eabi-objdump --architecture=armv8.1-m.main``)
on an assembled corpus and on the runtime compiled by both compilers (tests/unit/test_m55_timing.py). Scalar
instructions go through Capstone as for the other cores (:meth:`firmware_sim.core_timing.Ins.from_capstone`).

An instruction becomes a :class:`Op`: the execution resource it occupies (``pipe``) and for how many cycles
(``beats``: an MVE instruction is two beats of 64 bits on the M55's dual-beat datapath), when its results are
ready (``latency``, cycles after issue), the registers it reads and writes (Capstone register ids for general
registers, ``Q0 + n`` for vector registers) and, for branches, where they go.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_sim.core_timing import FLAGS

Q0 = 1000                    # vector register ids: Q0 + n (outside Capstone's numbering)
VPR = 999                    # the predicate register (VCTP, VPST, VPT write it; predicated instructions read it)

# pipes (LLVM ARMScheduleM55.td resources): the scalar pipeline, and the vector load/store, integer,
# float/multiply and control ("sys") pipes
ALU, LS, VINT, VMUL, VSYS = "alu", "ls", "int", "mul", "sys"


@dataclass(frozen=True, slots=True)
class Op:
    """One instruction as the M55 timing model sees it."""

    addr: int
    size: int
    name: str                 # mnemonic family (``vldrb``, ``vmladav``, ``le``, or Capstone's name)
    pipe: str                 # ALU LS VINT VMUL VSYS
    beats: int                # cycles the pipe stays busy (MVE: 2)
    latency: int              # cycles from issue to a result usable by the next instruction
    reads: frozenset
    writes: frozenset
    mve: bool = False         # a vector instruction (single issue, beat-wise overlap with other pipes)
    branch: str = ""          # "" | "b" (ordinary branch) | "le" (loop end) | "wls" (loop start, may skip the loop)
    cond: bool = False        # conditional (may fall through)
    target: int | None = None
    indirect: bool = False
    macs: int = 0             # multiply-accumulates (lanes of a VMLADAV, 2 for SMLAD, ...)
    dual: str = ""            # dual-issue class (LLVM): "di" pairs with a T1 "t1" instruction
    cycles: float = 1.0       # issue cycles of a multi-cycle scalar instruction (LDM, divide)
    kind: str = ""            # the Capstone kind for scalar instructions (load, store, mul, ...)


def _gpr(n: int) -> int:
    from capstone import arm

    return {13: arm.ARM_REG_SP, 14: arm.ARM_REG_LR, 15: arm.ARM_REG_PC}.get(n, arm.ARM_REG_R0 + n)


def _field(word: int, lo: int, bits: int) -> int:
    return (word >> lo) & ((1 << bits) - 1)


def _q(word: int, lo: int) -> int:
    return Q0 + _field(word, lo, 3)


# --- low-overhead branches (Armv8.1-M LOB): DLS/DLSTP, WLS/WLSTP, LE/LETP, LCTP -------------------------------

def _lob(word: int, addr: int) -> Op | None:
    hw1, hw2 = word >> 16, word & 0xFFFF
    if hw1 & 0xFF80 != 0xF000 or hw2 & 0xD001 != 0xC001:      # (B.W and BL have bit 12 or bit 14 clear/set)
        return None
    rn = hw1 & 0xF
    lr = _gpr(14)
    offset = (_field(hw2, 1, 10) << 2) | (_field(hw2, 11, 1) << 1)
    if hw2 & 0xF000 == 0xE000:                       # DLS / DLSTP / LCTP: loop set-up, no branch
        if word == 0xF00FE001:
            return Op(addr, 4, "lctp", ALU, 1, 1, frozenset(), frozenset({VPR}))
        if hw2 != 0xE001:
            return None
        return Op(addr, 4, "dls" if hw1 & 0x0040 else "dlstp", ALU, 1, 1, frozenset({_gpr(rn)}), frozenset({lr}))
    if hw2 & 0xF000 != 0xC000:
        return None
    if rn == 0xF:                                    # LE (LR counted down), LE (no LR), LETP
        name = "letp" if hw1 & 0x0010 else "le"
        reads = frozenset() if hw1 & 0x0020 else frozenset({lr})
        return Op(addr, 4, name, ALU, 1, 1, reads, reads, branch="le", cond=bool(reads),
                  target=addr + 4 - offset)
    return Op(addr, 4, "wls" if hw1 & 0x0040 else "wlstp", ALU, 1, 1, frozenset({_gpr(rn)}), frozenset({lr}),
              branch="wls", cond=True, target=addr + 4 + offset)


# --- VCTP, VPST/VPT, VPNOT -------------------------------------------------------------------------------------

def _predicate(word: int, addr: int) -> Op | None:
    if word & 0xFFC0FFFF == 0xF000E801:             # VCTP.size Rn
        return Op(addr, 4, "vctp", VSYS, 1, 1, frozenset({_gpr(_field(word, 16, 4))}), frozenset({VPR}), mve=True)
    if word & 0xFFB11FFF == 0xFE310F4D and word != 0xFE310F4D:     # VPST (mask in bits 22 and 15..13)
        return Op(addr, 4, "vpst", VSYS, 1, 1, frozenset({VPR}), frozenset({VPR}), mve=True)
    if word == 0xFE310F4D:
        return Op(addr, 4, "vpnot", VSYS, 1, 1, frozenset({VPR}), frozenset({VPR}), mve=True)
    return None


# --- MVE loads and stores (coprocessor 14/15 space of LDC/STC) -------------------------------------------------

def _load_store(word: int, addr: int) -> Op | None:
    hw1, hw2 = word >> 16, word & 0xFFFF
    if hw1 & 0xEE00 != 0xEC00 or hw2 & 0x0E00 != 0x0E00:
        return None
    if hw1 & 0xFFE0 == 0xEC00 and hw2 & 0x1FE0 == 0x0F00:          # VMOV of two 32-bit lanes <-> two registers
        q, rt, rt2 = _q(word, 13), _gpr(_field(word, 0, 4)), _gpr(_field(word, 16, 4))
        if hw1 & 0x0010:                                           # LLVM: VMOV_q_rr on the integer/float pipes
            return Op(addr, 4, "vmov_to_lane", VINT, 2, 1, frozenset({rt, rt2, q}), frozenset({q}), mve=True)
        return Op(addr, 4, "vmov_from_lane", VMUL, 2, 1, frozenset({q}), frozenset({rt, rt2}), mve=True)
    load = bool(hw1 & 0x0010)
    rn = _gpr(_field(word, 16, 4))
    qd = _q(word, 13)
    # P = 0, W = 0 is not a contiguous form: the gather loads and scatter stores ([Rn, Qm] offsets)
    gather = hw1 & 0x01A0 == 0x0080
    writeback = bool(hw1 & 0x0020)
    reads = {rn, VPR}
    writes = {rn} if writeback else set()
    if gather:                                       # [Rn, Qm] offsets: the vector of offsets is read too
        reads.add(_q(word, 1))
    if load:
        writes.add(qd)
    else:
        reads.add(qd)
    # LLVM: contiguous loads E2 (latency 1, post-increment base +1); gather loads E3 (latency 2)
    return Op(addr, 4, "vldr" if load else "vstr", LS, 2, 2 if gather and load else 1, frozenset(reads),
              frozenset(writes), mve=True)


# --- MVE data processing ---------------------------------------------------------------------------------------

def _reduction(word: int, addr: int) -> Op | None:
    """VMLADAV/VMLAV[A] (int32 accumulator), VMLALDAV/VMLALV[A] (64-bit), VADDV[A], VMINV/VMAXV."""
    hw1, hw2 = word >> 16, word & 0xFFFF
    if hw1 & 0xEFF1 == 0xEEE0 and hw2 & 0x0F01 == 0x0F00 and hw2 & 0x0050 == 0:     # VMAXV/VMINV/VMAXAV/VMINAV
        rda = _gpr(_field(word, 12, 4))
        return Op(addr, 4, "vmaxv", VINT, 2, 3, frozenset({rda, _q(word, 1), VPR}), frozenset({rda}), mve=True)
    if hw1 & 0xEF80 == 0xEE80 and hw2 & 0x0E00 == 0x0E00 and hw2 & 0x00D0 == 0:     # (bit 0: VMLSDAV, VMLSLDAV)
        if hw1 & 0x0001 and hw2 & 0x0100 and not hw2 & 0x0001:    # VADDV[A] (VADDLV when RdaHi != 7)
            rda = _gpr(_field(word, 13, 3) * 2)
            reads = {_q(word, 1), VPR} | ({rda} if hw2 & 0x20 else set())
            return Op(addr, 4, "vaddv", VMUL, 2, 2, frozenset(reads), frozenset({rda}), mve=True)
        lo = _gpr(2 * _field(word, 13, 3))
        acc = bool(hw2 & 0x0020)
        if _field(word, 20, 3) == 7:                                 # RdaHi = 7 encodes the 32-bit VMLADAV
            lanes = 4 if hw1 & 0x0001 else 16 if hw2 & 0x0100 else 8
            reads = {_q(word, 17), _q(word, 1), VPR} | ({lo} if acc else set())
            return Op(addr, 4, "vmladav", VMUL, 2, 2, frozenset(reads), frozenset({lo}), mve=True, macs=lanes)
        hi = _gpr(2 * _field(word, 20, 3) + 1)
        lanes = 4 if hw1 & 0x0001 or hw2 & 0x0100 else 8
        reads = {_q(word, 17), _q(word, 1), VPR} | ({lo, hi} if acc else set())
        # LLVM M55: E3 (latency 2) for the low word and one more cycle for the high word: 3 taken for both
        return Op(addr, 4, "vmlaldav", VMUL, 2, 3, frozenset(reads), frozenset({lo, hi}), mve=True, macs=lanes)
    return None


_MUL_NAMES = (
    # (mask, value, name, latency): the float/multiply pipe (LLVM: VMUL, VMLA, VQ(R)DMULH, VMULL: E3)
    (0xFF811F51, 0xEF000950, "vmul", 2),        # VMUL.I<size> Qd, Qn, Qm
    (0xFF811F51, 0xEF000B40, "vqdmulh", 2),     # VQDMULH.S<size> Qd, Qn, Qm
    (0xFF811F51, 0xFF000B40, "vqrdmulh", 2),    # VQRDMULH.S<size> Qd, Qn, Qm
    (0xFF811F70, 0xEE011E60, "vmul", 2),        # VMUL.I<size> Qd, Qn, Rm
    (0xFF811F70, 0xEE010E60, "vqdmulh", 2),     # VQDMULH.S<size> Qd, Qn, Rm
    (0xFF811F70, 0xFE010E60, "vqrdmulh", 2),    # VQRDMULH.S<size> Qd, Qn, Rm
    (0xEF811F70, 0xEE010E40, "vmla", 2),        # VMLA.<dt> Qda, Qn, Rm (.S or .U)
    (0xEF811F70, 0xEE011E40, "vmlas", 2),       # VMLAS.<dt> Qda, Qn, Rm
    (0xEF810F51, 0xEE010E01, "vmulh", 2),       # VMULH/VRMULH.<dt> Qd, Qn, Qm (size 3 excluded below)
    (0xEF810F51, 0xEE010E00, "vmull", 2),       # VMULLB/VMULLT.<dt> Qd, Qn, Qm
    (0xEF810F51, 0xEE000F01, "vqdmull", 2),     # VQDMULLB/VQDMULLT.S<size> Qd, Qn, Qm
)
_SCALAR_OPERAND = ("vmla", "vmlas")


def _vector(word: int, addr: int) -> Op | None:
    """Every other vector instruction: the multiply pipe for multiplies, the integer pipe for the rest."""
    hw1, hw2 = word >> 16, word & 0xFFFF
    space_simd = hw1 & 0xEF00 == 0xEF00                          # the former Advanced SIMD space: all MVE
    space_cp = hw1 & 0xEF00 == 0xEE00 and hw2 & 0x0E00 == 0x0E00   # coprocessor 14/15 space
    if not (space_simd or space_cp):
        return None
    reads = {_q(word, 17), _q(word, 1), VPR}
    writes = {_q(word, 13)}
    size3 = hw1 & 0x0030 == 0x0030          # size field = 3: not an 8/16/32-bit operation (VPSEL, VQRSHL Rm, ...)
    if hw1 & 0xFF81 == 0xFE01 and hw2 & 0x0F00 == 0x0F00 and not size3:   # VCMP / VPT: LLVM float pipe, E2
        rm = _gpr(_field(word, 0, 4)) if hw2 & 0x0040 else _q(word, 1)
        return Op(addr, 4, "vcmp", VMUL, 2, 1, frozenset({_q(word, 17), rm, VPR}), frozenset({VPR}), mve=True)
    for mask, value, name, latency in _MUL_NAMES:
        if word & mask == value and (name == "vqdmull" or not size3):
            if space_cp and hw2 & 0x0040:                    # scalar operand in Rm
                reads = {_q(word, 17), _gpr(_field(word, 0, 4)), VPR}
            if name in _SCALAR_OPERAND:
                reads.add(_q(word, 13))
            lanes = 16 >> _field(word, 20, 2) if name.startswith("vmla") else 0
            return Op(addr, 4, name, VMUL, 2, latency, frozenset(reads), frozenset(writes), mve=True, macs=lanes)
    # narrowing moves and shifts (VMOVN, VQMOVN, VSHRN, VQRSHRN): LLVM E4, no forwarding (latency 3)
    narrowing = (space_cp and hw2 & 0x0FC1 in (0x0E01, 0x0E81, 0x0F01, 0x0F81) and hw1 & 0x0030 == 0x0030)
    # rounding shifts (VRSHR, VRSHL, VQRSHL): LLVM E3 (latency 2)
    rounding = space_simd and hw2 & 0x0F10 == 0x0210
    latency = 3 if narrowing else 2 if rounding else 1
    return Op(addr, 4, "vint", VINT, 2, latency, frozenset(reads), frozenset(writes), mve=True)


def _dup_and_lanes(word: int, addr: int) -> Op | None:
    """VDUP Qd, Rt and VMOV between a lane and a general register (coprocessor 11 encodings)."""
    hw1, hw2 = word >> 16, word & 0xFFFF
    if hw1 & 0xFF90 == 0xEE80 and hw2 & 0x0F5F == 0x0B10:          # VDUP.<size> Qd, Rt
        return Op(addr, 4, "vdup", VINT, 2, 1, frozenset({_gpr(_field(word, 12, 4))}), frozenset({_q(word, 17)}),
                  mve=True)
    if hw1 & 0xFF00 == 0xEE00 and hw2 & 0x0F1F == 0x0B10:          # VMOV lane <-> Rt
        rt = _gpr(_field(word, 12, 4))
        q = Q0 + _field(word, 17, 3)
        if hw1 & 0x0010:                                           # to a general register: LLVM FloatE2
            return Op(addr, 4, "vmov_from_lane", VMUL, 2, 1, frozenset({q}), frozenset({rt}), mve=True)
        return Op(addr, 4, "vmov_to_lane", VINT, 2, 1, frozenset({rt, q}), frozenset({q}), mve=True)
    return None


# --- Armv8.1-M scalar additions in the EA5x space: CSEL family and the long shifts ------------------------------

def _ea5(word: int, addr: int) -> Op | None:
    hw1, hw2 = word >> 16, word & 0xFFFF
    if hw1 & 0xFFF0 != 0xEA50:
        return None
    pc = _gpr(15)
    if hw2 & 0x8000 and hw2 & 0x000F != 0xD:
        # CSEL/CSINC/CSINV/CSNEG Rd, Rn, Rm, cond (hw2 = 1 0 op Rd cond Rm; Rm = SP is not allowed, which leaves
        # that value to the saturating long shifts of the same space): a one-cycle ALU operation
        reads = {_gpr(_field(word, 16, 4)), _gpr(_field(word, 0, 4)), FLAGS} - {pc}
        return Op(addr, 4, "csel", ALU, 1, 1, frozenset(reads), frozenset({_gpr(_field(word, 8, 4))}))
    # LSLL, ASRL, LSRL, (S|U)QRSHL(L), SRSHR(L), URSHR(L), (S|U)QSHL(L): LLVM M55 "CX" (latency 2). The low word
    # is in bits 19..16 (or 19..17 with bit 16 set for the 64-bit saturating forms), the high word in 11..8, the
    # shift register in 15..12: all read as operands, both words as results
    regs = {_gpr(_field(word, 16, 4) & 0xE), _gpr(_field(word, 16, 4)), _gpr(_field(word, 8, 4)),
            _gpr(_field(word, 12, 4))} - {pc}
    writes = {_gpr(_field(word, 16, 4) & 0xE), _gpr(_field(word, 16, 4)), _gpr(_field(word, 8, 4))} - {pc}
    return Op(addr, 4, "longshift", ALU, 1, 2, frozenset(regs), frozenset(writes))


_DECODERS = (_lob, _predicate, _load_store, _reduction, _dup_and_lanes, _vector, _ea5)


def decode_v81m(word: int, addr: int) -> Op | None:
    """An Armv8.1-M addition (MVE, LOB, CSEL family, long shifts) encoded in ``word`` (first halfword in the top
    16 bits), or None when the instruction is not one of them."""
    for dec in _DECODERS:
        op = dec(word, addr)
        if op is not None:
            return op
    return None


def is_v81m_space(word: int) -> bool:
    """Whether ``word`` lies in an encoding space Capstone 5 misreads on the M55 (decode it with
    :func:`decode_v81m`)."""
    hw1, hw2 = word >> 16, word & 0xFFFF
    if hw1 & 0xFFF0 == 0xEA50:
        return True
    if hw1 & 0xFF80 == 0xF000 and hw2 & 0xD001 == 0xC001:
        return True
    if word & 0xFFC0FFFF == 0xF000E801:
        return True
    if hw1 & 0xEE00 == 0xEC00 and hw2 & 0x0E00 == 0x0E00:
        return True
    if hw1 & 0xEF00 == 0xEF00:
        return True
    if hw1 & 0xEF00 == 0xEE00 and (hw2 & 0x0E00 == 0x0E00 or hw2 & 0x0F1F == 0x0B10):
        return True
    return False


__all__ = ["ALU", "LS", "Q0", "VINT", "VMUL", "VPR", "VSYS", "Op", "decode_v81m",
           "is_v81m_space"]
