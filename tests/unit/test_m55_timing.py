"""The Cortex-M55 model: the Armv8.1-M decoder against GNU binutils, and each timing rule on hand-counted
sequences (firmware_sim/m55_timing.py names the rules and their sources)."""

import re
import subprocess
from pathlib import Path

import pytest

from firmware_sim.m55_decode import LS, Q0, VMUL, decode_v81m, is_v81m_space
from firmware_sim.m55_timing import TAKEN_PENALTY, M55Clock, loop_floor, ops_from_halfwords, schedule, steady_turn

pytestmark = pytest.mark.needs("sim")


def op(word: int, addr: int = 0x1000):
    got = decode_v81m(word, addr)
    assert got is not None, hex(word)
    return got


def thumb(code: str, addr: int = 0x1000):
    """Instructions from hex halfwords as objdump prints them ("ecb5 1e88 eef2 ae20 ...")."""
    return ops_from_halfwords(code, addr)


# the Helium kernel's inner loop: vldrh.u16 q0,[r5],#16; vldrb.s16 q1,[r3],#32; vmlava.s16 sl,q1,q0;
# vldrb.s16 q1,[r3,#-24]; vmlava.s16 r8,q1,q0; ... ; letp lr, <start>
KERNEL_LOOP = ("ecb5 1e88 ecb3 2ea0 eef2 ae20 ed13 2e98 eef2 8e20 ed13 2e90 eef2 4e20 ed13 2e88 eef2 6e20 "
               "f01f c015")


def test_decoder_reads_the_kernel_loop():
    ops = thumb(KERNEL_LOOP, 0x78002800)
    assert [o.name for o in ops] == ["vldr", "vldr", "vmladav", "vldr", "vmladav", "vldr", "vmladav", "vldr",
                                     "vmladav", "letp"]
    assert ops[0].pipe == LS and ops[0].writes >= {Q0} and ops[2].pipe == VMUL and ops[2].macs == 8
    assert ops[2].reads >= {Q0, Q0 + 1}                        # vmlava.s16 sl, q1, q0
    assert ops[-1].branch == "le" and ops[-1].target == 0x78002800     # letp lr, 0x78002800 at +0x24


def test_load_then_dependent_mac_overlap_by_one_beat():
    """[LLVM] VLDR latency 1: the MAC starts the cycle after the load (its second beat overlaps the MAC's first)."""
    s = schedule(thumb("ecb5 1e88 eef2 ae20"))                # vldrh q0; vmlava sl, q1, q0
    assert s.cycles == 2
    # the multiply pipe is busy one more cycle and the accumulator arrives 2 cycles after the MAC's issue
    assert dict(s.exit)[VMUL] == 1 and any(v == 1 for k, v in s.exit if isinstance(k, int))


def test_two_loads_in_a_row_take_four_cycles():
    """[Helium guide] the load/store pipe takes two beats per vector: back-to-back loads do not overlap."""
    assert schedule(thumb("ecb5 1e88 ecb3 2ea0")).cycles == 3          # issue at 0 and 2
    assert dict(schedule(thumb("ecb5 1e88 ecb3 2ea0")).exit)[LS] == 1  # busy until 4


def test_kernel_loop_runs_at_its_load_bound():
    """5 loads x 2 beats = 10 cycles a turn for 32 MACs; the MACs fill the gaps; the cached loop end is free."""
    ops = thumb(KERNEL_LOOP)
    assert loop_floor(ops[:-1]) == 10
    assert steady_turn(ops) == 10


def test_scalar_load_use_and_multiply_latency():
    """[LLVM] loads and multiplies give their result 2 cycles after issue."""
    assert schedule(thumb("6808 1c42")).cycles == 3        # ldr r0, [r1]; adds r2, r0, #1 (waits one cycle)
    assert schedule(thumb("6808 1c5a")).cycles == 1        # ldr r0, [r1]; adds r2, r3, #1: independent, dual issued
    assert schedule(thumb("fb00 f001 1c42")).cycles == 3   # mul r0, r0, r1; adds r2, r0, #1


def test_dual_issue_of_a_di_pair():
    """[LLVM] two independent 16-bit instructions, one of them MOV/ADD-immediate, issue together."""
    assert schedule(thumb("2001 1889")).cycles == 1        # movs r0, #1; adds r1, r1, r2
    assert schedule(thumb("2001 1809")).cycles == 2        # movs r0, #1; adds r1, r1, r0: dependent
    assert schedule(thumb("1889 1812")).cycles == 2        # two register adds: neither is of the DI class


def test_vmlaldav_high_word_latency_three():
    s = schedule(thumb("ee80 0e02 1c48"))                  # vmlalv.s16 r0, r1, q0, q1; adds r0, r1, #1
    assert s.cycles == 4                                   # the add waits for r1 (3 cycles after the issue)


def test_loop_end_is_free_once_cached_and_branches_pay_the_refill():
    body = thumb(KERNEL_LOOP)
    clock = M55Clock()
    first = clock.run(("loop",), body, taken=True)
    second = clock.run(("loop",), body, taken=True)
    third = clock.run(("loop",), body, taken=True)
    assert first - second == pytest.approx(TAKEN_PENALTY + 1)   # the first pass issues the LE and refills
    assert second == third == 10
    dls = thumb("f041 e001")                                 # dls lr, r1: a new loop empties the cache
    clock.run(("dls",), dls, taken=False)
    assert clock.run(("loop",), body, taken=True) == first
    b = thumb("e7fe")                                        # b . (taken)
    assert M55Clock().run(("b",), b, taken=True) == 1 + TAKEN_PENALTY
    assert M55Clock().run(("bne",), thumb("d1fe"), taken=False) == 1


def test_v81m_spaces_are_decoded_here_and_others_by_capstone():
    assert is_v81m_space(0xEEF2AE20) and is_v81m_space(0xF01FC015) and is_v81m_space(0xEA5F900F)
    assert not is_v81m_space(0xF000F800)     # BL
    assert not is_v81m_space(0xF04F0000)     # mov.w r0, #0
    assert not is_v81m_space(0xE8BD8FF0)     # pop.w
    assert decode_v81m(0xF000F800, 0) is None


# --- the decoder against GNU binutils ------------------------------------------------------------------------

def _corpus() -> str:
    """Every MVE/LOB/v8.1-M scalar form the decoder classifies, with its operands varied (registers, sizes,
    immediates, post-increment), plus a hand-written list of other forms (tests/data/mve_corpus_extra.s)."""
    lines = []
    qs, rs = ("q0", "q1", "q3", "q6", "q7"), ("r0", "r1", "r3", "r6", "r8", "r12")
    for sz in ("s8", "s16", "s32", "u8", "u16", "u32"):
        for a, b in (("q0", "q1"), ("q3", "q6"), ("q7", "q2")):
            for rd in ("r0", "r2", "r6", "r12", "lr"):
                lines += [f"{mn}.{sz} {rd}, {a}, {b}" for mn in ("vmladav", "vmladava")]
            if sz[1:] in ("16", "32"):
                lines += [f"{mn}.{sz} {lo}, {hi}, {a}, {b}" for mn in ("vmlaldav", "vmlaldava")
                          for lo, hi in (("r0", "r1"), ("r6", "r7"), ("r4", "r9"))]
    for mn in ("vldrb.8", "vldrb.s16", "vldrb.u32", "vldrh.16", "vldrh.s32", "vldrw.32", "vstrb.8", "vstrb.16",
               "vstrh.16", "vstrh.32", "vstrw.32"):
        step = 8 if "w." in mn else 4 if "h." in mn else 2
        for q in qs:
            for r in ("r0", "r4", "r7"):
                lines += [f"{mn} {q}, [{r}]", f"{mn} {q}, [{r}, #{3 * step}]", f"{mn} {q}, [{r}, #{step}]!",
                          f"{mn} {q}, [{r}], #{2 * step}", f"{mn} {q}, [{r}], #-{step}"]
    for sz in ("8", "16", "32", "64"):
        lines += [f"vctp.{sz} {r}" for r in rs[:-1]]
    for sz in ("i8", "i16", "i32"):
        for a, b, c in (("q0", "q1", "q2"), ("q3", "q6", "q7")):
            lines += [f"{mn}.{sz} {a}, {b}, {c}" for mn in ("vadd", "vsub", "vmul")]
            lines += [f"{mn}.{sz} {a}, {b}, r5" for mn in ("vadd", "vmul")]
    for sz in ("s8", "s16", "s32"):
        for a, b, c in (("q0", "q1", "q2"), ("q7", "q2", "q4")):
            lines += [f"{mn}.{sz} {a}, {b}, {c}" for mn in ("vqdmulh", "vqrdmulh", "vmax", "vmin", "vqadd")]
            lines += [f"{mn}.{sz} {a}, {b}, r12" for mn in ("vqdmulh", "vqrdmulh", "vmla")]
            lines += [f"vaddv.{sz} r2, {a}", f"vmaxv.{sz} r6, {b}", f"vshr.{sz} {a}, {b}, #3",
                      f"vrshr.{sz} {a}, {b}, #7"]
    for sz in ("8", "16", "32"):
        lines += [f"vdup.{sz} {q}, r5" for q in qs]
    for a, b in (("q0", "q1"), ("q3", "q6")):
        lines += [f"{mn} {a}, {b}" for mn in ("vmovlb.s8", "vmovlt.s16", "vmovnb.i16", "vqmovnb.s32")]
        lines += [f"vpsel {a}, {b}, q4", f"vand {a}, {b}, q4"]
    lines += [f"vmov.32 r5, q6[{i}]" for i in (0, 3)] + [f"vmov.16 q1[{i}], r0" for i in (1, 5)]
    for a, b, c in (("r0", "r1", "r2"), ("r5", "r8", "r12")):
        lines += [f"{mn} {a}, {b}, {c}, {cc}" for mn in ("csel", "csinc", "csinv", "csneg") for cc in ("eq", "ge")]
        lines += [f"cset {a}, lt", f"cinc {a}, {b}, ne"]
    for lo, hi in (("r0", "r1"), ("r4", "r5"), ("r10", "r11")):
        lines += [f"{mn} {lo}, {hi}, #{n}" for mn in ("lsll", "asrl", "lsrl", "srshrl", "uqshll") for n in (1, 31)]
        lines += [f"lsll {lo}, {hi}, r8", f"asrl {lo}, {hi}, r9", f"sqrshrl {lo}, {hi}, #64, r12"]
    lines += ["vpst", "vldrbt.s16 q1, [r3], #8", "vpstt", "vaddt.i8 q0, q1, q2", "vmlavat.s16 r6, q1, q0",
              "vpnot", "vpt.s16 ge, q0, q1", "vaddt.i16 q1, q2, q3"]
    lob = ["lab0:", "dls lr, r0", "dls lr, r12", "dlstp.8 lr, r0", "dlstp.16 lr, r2", "dlstp.32 lr, r5",
           "wls lr, r4, lab1", "wlstp.16 lr, r6, lab1", "nop", "lab1:", "le lr, lab0", "le lab0", "letp lr, lab0",
           "lctp"]
    extra = (Path(__file__).parent.parent / "data" / "mve_corpus_extra.s").read_text().split("\n", 3)[3]
    return ".syntax unified\n.thumb\n.text\n" + "\n".join(lines + lob) + "\n" + extra


def _family(mnemonic: str, operands: str) -> str:
    m = mnemonic.split(".")[0]
    special = {"vmullb": "vmull", "vmullt": "vmull", "vqdmullb": "vqdmull", "vqdmullt": "vqdmull", "vmlas": "vmla",
               "vmulh": "vmulh", "vrmulh": "vmulh", "vpt": "vcmp", "vmlsdav": "vmladav", "vmladavx": "vmladav",
               "vrmlalvh": "vmlaldav", "vaddlv": "vaddv", "vaddlva": "vaddv"}
    if m in special:
        return special[m]
    if m == "vmov" and "[" in operands:
        return "lane"
    if m.startswith("vpst"):
        return "vpst"
    m = re.sub(r"(t|e)$", "", m) if m.startswith("v") and m not in ("vpnot",) else m
    families = {"vldrb": "vldr", "vldrh": "vldr", "vldrw": "vldr", "vstrb": "vstr", "vstrh": "vstr", "vstrw": "vstr",
                "vmlav": "vmladav", "vmladav": "vmladav", "vmlava": "vmladav", "vmladava": "vmladav",
                "vmlalv": "vmlaldav", "vmlaldav": "vmlaldav", "vmlalva": "vmlaldav", "vmlaldava": "vmlaldav",
                "vaddv": "vaddv", "vaddva": "vaddv", "vmaxv": "vmaxv", "vminv": "vmaxv", "csinc": "csel",
                "csinv": "csel", "csneg": "csel", "cset": "csel", "cinc": "csel"}
    shifts = {"lsll", "asrl", "lsrl", "sqrshr", "sqrshrl", "uqrshl", "uqrshll", "srshr", "srshrl", "urshr", "urshrl",
              "sqshl", "sqshll", "uqshl", "uqshll"}
    if m in shifts:
        return "longshift"
    keep = {"vmul", "vqdmulh", "vqrdmulh", "vmla", "vctp", "vdup", "vpnot", "dls", "dlstp", "wls", "wlstp", "le",
            "letp", "lctp", "vcmp", "csel"}
    return families.get(m, m if m in keep else "vint")


def _objdump_families(obj: Path) -> list[tuple[int, str, str]]:
    out = subprocess.run(["arm-none-eabi-objdump", "-d", "--architecture=armv8.1-m.main", "-M", "force-thumb",
                          str(obj)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*[0-9a-f]+:\s+([0-9a-f]{4}) ([0-9a-f]{4})\s+(\S+)\s*(.*)", line)
        if m:
            word = (int(m.group(1), 16) << 16) | int(m.group(2), 16)
            if is_v81m_space(word):
                rows.append((word, m.group(3), m.group(4)))
    return rows


def _name(o) -> str:
    return {"vmov_from_lane": "lane", "vmov_to_lane": "lane", "vmlas": "vmla"}.get(o.name, o.name)


@pytest.mark.needs("gcc")
def test_decoder_matches_binutils_on_every_form(tmp_path):
    """Each 32-bit Armv8.1-M instruction of the corpus (about 1,500) decodes to the family binutils names."""
    (tmp_path / "c.s").write_text(_corpus())
    subprocess.run(["arm-none-eabi-as", "-march=armv8.1-m.main+mve", "-mthumb", str(tmp_path / "c.s"), "-o",
                    str(tmp_path / "c.o")], check=True, capture_output=True)
    rows = _objdump_families(tmp_path / "c.o")
    assert len(rows) > 1000
    wrong = [(hex(w), mn, _name(decode_v81m(w, 0)) if decode_v81m(w, 0) else None) for w, mn, ops in rows
             if decode_v81m(w, 0) is None or _name(decode_v81m(w, 0)) != _family(mn, ops)]
    assert not wrong, wrong[:10]


@pytest.mark.needs("gcc", "zig")
@pytest.mark.parametrize("cc", ["zig", "gcc"])
def test_decoder_matches_binutils_on_the_compiled_runtime(cc, tmp_path):
    """What the M55 build of the runtime contains (both compilers) decodes to the families binutils prints."""
    from edge_gru.runtime import RUNTIME_FILES, c_source
    from firmware_sim.toolchain import COMMON_FLAGS, resolve_compiler

    for name in RUNTIME_FILES:
        (tmp_path / name).write_bytes(c_source(name).read_bytes())
    comp = resolve_compiler(cc)
    subprocess.run([*comp.argv, *comp.cpu_flags("cortex-m55"), *COMMON_FLAGS, "-c", str(tmp_path / "edge_gru.c"),
                    "-o", str(tmp_path / "rt.o")], check=True, capture_output=True)
    rows = [(w, mn, ops) for w, mn, ops in _objdump_families(tmp_path / "rt.o") if mn.startswith(("v", "le", "dl"))]
    assert any(mn.startswith("vmlava") for _, mn, _ in rows)
    wrong = [(hex(w), mn) for w, mn, ops in rows
             if decode_v81m(w, 0) is None or _name(decode_v81m(w, 0)) != _family(mn, ops)]
    assert not wrong, wrong[:10]
