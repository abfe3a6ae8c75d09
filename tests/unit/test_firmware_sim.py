"""Targets database, ELF reader errors, cycle model against the TRM timings, semihosting programs."""


import pytest

from edge_gru.errors import DataError, ModelFileError
from firmware_sim.targets import get_target, load_targets

needs_sim = pytest.mark.needs("sim")


def test_builtin_targets_cover_the_cores():
    tg = load_targets()
    assert {t.core for t in tg.values()} >= {"cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33",
                                             "cortex-m55"}
    assert get_target("rp2040").clock_mhz == 133 and get_target("rp2040").ram_bytes == 264 * 1024


def test_user_targets_file_adds_and_replaces(tmp_path):
    f = tmp_path / "t.toml"
    f.write_text('[mine]\ncore = "cortex-m4"\nclock_mhz = 80\nflash_kb = 256\nram_kb = 64\n'
                 '[rp2040]\ncore = "cortex-m0plus"\nclock_mhz = 200\nflash_kb = 2048\nram_kb = 264\n')
    tg = load_targets(f)
    assert tg["mine"].clock_mhz == 80 and tg["rp2040"].clock_mhz == 200 and "stm32h7" in tg


@pytest.mark.parametrize("text, msg", [
    ('[x]\ncore = "cortex-a53"\nclock_mhz = 1\nflash_kb = 1\nram_kb = 1\n', "known cores"),
    ('[x]\ncore = "cortex-m4"\n', "lacks"),
    ("[x\n", "not a valid TOML"),
    ('[x]\ncore = "cortex-m4"\nclock_mhz = -1\nflash_kb = 1\nram_kb = 1\n', "positive"),
    ('[x]\ncore = "cortex-m4"\nclock_mhz = nan\nflash_kb = 1\nram_kb = 1\n', "clock_mhz = nan is not a number"),
    ('[x]\ncore = "cortex-m4"\nclock_mhz = inf\nflash_kb = 1\nram_kb = 1\n', "clock_mhz = inf"),
    ('[x]\ncore = "cortex-m4"\nclock_mhz = 64\nflash_kb = 9999999999\nram_kb = 1\n', "flash_kb = 9999999999"),
    ('[x]\ncore = "cortex-m4"\nclock_mhz = 64\nflash_kb = 1\nram_kb = 100000000\n', "ram_kb = 100000000"),
    # found by the fuzzer: int(inf) raised OverflowError (an internal error), a boolean passed as 1 KB
    ('[x]\ncore = "cortex-m4"\nclock_mhz = 64\nflash_kb = inf\nram_kb = 1\n', "must be finite numbers"),
    ('[x]\ncore = "cortex-m4"\nclock_mhz = 64\nflash_kb = 1\nram_kb = -inf\n', "must be finite numbers"),
    ('[x]\ncore = "cortex-m4"\nclock_mhz = 64\nflash_kb = true\nram_kb = 1\n', "flash_kb must be a number"),
])
def test_bad_targets_file(tmp_path, text, msg):
    f = tmp_path / "t.toml"
    f.write_text(text)
    with pytest.raises((DataError, ModelFileError), match=msg):
        load_targets(f)


def test_targets_file_that_is_a_directory(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory"):
        load_targets(tmp_path)


def test_unknown_target():
    with pytest.raises(DataError, match="unknown target 'nope'"):
        get_target("nope")


@needs_sim
@pytest.mark.parametrize("data", [b"", b"\x7fELF" + b"\0" * 12, b"not an elf at all" * 10])
def test_corrupt_elf_refused(tmp_path, data):
    from firmware_sim.elf import read_elf

    p = tmp_path / "bad.elf"
    p.write_bytes(data)
    with pytest.raises(ModelFileError):
        read_elf(p)


# Instruction sequences whose cycle counts a source states; each rule of firmware_sim/core_timing.py is
# pinned here. [M4 TRM]/[M3 TRM]: Cortex-M4/M3 TRM "Load/store timings" (the examples are quoted from it).
ASM_CASES = [
    # four back-to-back independent LDRs: M4 pipelines them (N + 1 = 5); M0+ 2 each (8); M33 loads issue in 1
    ("ldr r0, [r4]\nldr r1, [r4, #4]\nldr r2, [r4, #8]\nldr r3, [r4, #12]",
     {"cortex-m4": 5, "cortex-m0plus": 8, "cortex-m33": 4}),
    # ALU ops: 1 each on both
    ("adds r0, r1, r2\nsubs r0, r0, #1\nmovs r3, #7\nlsls r3, r3, #2", {"cortex-m4": 4, "cortex-m0plus": 4}),
    # multiply-accumulate: M4 1 cycle each (MLA, SMLAD), M3 MLA 2 cycles
    ("mla r0, r1, r2, r0\nmla r0, r1, r2, r0", {"cortex-m4": 2, "cortex-m3": 4}),
    ("smlad r0, r1, r2, r0\nsxtb16 r1, r2", {"cortex-m4": 2}),
    # PUSH of 4 registers: 1 + N
    ("push {r4, r5, r6, lr}", {"cortex-m4": 5, "cortex-m0plus": 5}),
    # [M4 TRM] "LDR R0,[R1]; LDR R1,[R2] - normally three cycles total"
    ("ldr r0, [r1]\nldr r1, [r2]", {"cortex-m4": 3, "cortex-m3": 3}),
    # [M4 TRM] "LDR R0,[R1,R2]; STR R0,[R3,#20] - normally three cycles total"
    ("ldr r0, [r1, r2]\nstr r0, [r3, #20]", {"cortex-m4": 3}),
    # [M4 TRM] "LDR R0,[R1,R2]; STR R1,[R3,R2] - normally three cycles total" (register-offset STR after an LDR)
    ("ldr r0, [r1, r2]\nstr r1, [r3, r2]", {"cortex-m4": 3}),
    # [M4 TRM] "LDR R0,[R1,R5]; LDR R1,[R2]; LDR R2,[R3,#4] - normally four cycles total"
    ("ldr r0, [r1, r5]\nldr r1, [r2]\nldr r2, [r3, #4]", {"cortex-m4": 4}),
    # [M4 TRM] a load whose address is the previous load's destination is not pipelined: 2 + 2
    ("ldr r0, [r1]\nldr r2, [r0]", {"cortex-m4": 4}),
    # [M4 TRM] "STR Rx,[Ry,#imm] is always one cycle"; a register-offset STR not after an LDR: 2
    ("str r0, [r1]\nstr r2, [r1, #4]", {"cortex-m4": 2, "cortex-m0plus": 4}),
    ("adds r5, r6, r7\nstr r0, [r1, r2]", {"cortex-m4": 3}),
    # [M4 TRM] "Any load or store that generates an address dependent on the result of a preceding data
    # processing operation stalls the pipeline for an additional cycle"
    ("adds r1, r1, #4\nldr r0, [r1]", {"cortex-m4": 4, "cortex-m3": 4, "cortex-m0plus": 3}),
    ("adds r1, r1, #4\nstr r0, [r1]", {"cortex-m4": 3}),
    # [M4 TRM] "TBB and TBH ... at least six cycles"; "LDR PC,[any] ... at least five cycles"
    ("tbb [pc, r0]", {"cortex-m4": 6}),
    ("ldr pc, [r0]", {"cortex-m4": 5}),
    # [M3 TRM] LDRD: "this operation requires three cycles", not pipelined with the next load
    ("ldrd r0, r1, [r2]\nldr r3, [r4]", {"cortex-m4": 5}),
    # [M3 TRM r2p0] "Any load with a base update is not normally pipelined" (M3 only; the M4 TRM lacks it)
    ("ldr r0, [r1], #4\nldr r2, [r3]", {"cortex-m3": 4, "cortex-m4": 3}),
    # [M3 TRM] IT folds onto a preceding 16-bit instruction (0 cycles), not onto a 32-bit one
    ("adds r0, #1\nit eq\nmoveq r1, r2", {"cortex-m4": 2, "cortex-m33": 2}),
    ("add.w r0, r0, #1\nit eq\nmoveq r1, r2", {"cortex-m4": 3}),
    # [M4 TRM] unconditional branches: immediate 1 + 1 reload, register 1 + 2; M0+ B 2, BX 2; M33 resolved
    # in decode: 1 + 1
    ("b .", {"cortex-m4": 2, "cortex-m0plus": 2, "cortex-m33": 2}),
    ("bx r0", {"cortex-m4": 3, "cortex-m0plus": 2, "cortex-m33": 2}),
    # [M33 pipeline] load-use: an instruction that needs the loaded register waits a cycle
    ("ldr r0, [r1]\nadds r0, #1", {"cortex-m33": 3, "cortex-m4": 3}),
    # [M33 pipeline] a 16-bit ALU instruction dual-issues with an independent 16-bit branch
    ("movs r1, #1\nb .", {"cortex-m33": 2, "cortex-m4": 3}),
    ("subs r0, #1\nbne .", {"cortex-m33": 2}),            # the branch reads the flags: no pairing
    # [M7 dual issue] independent ALU pairs issue together; a dependent one waits
    ("adds r0, r1, r2\nadds r3, r4, r5", {"cortex-m7": 1}),
    ("adds r0, r1, r2\nadds r3, r0, r5", {"cortex-m7": 2}),
    # one load/store port; one shifted operand per cycle; DSP only from the older slot
    ("ldr r0, [r1]\nldr r2, [r3]", {"cortex-m7": 2}),
    ("add.w r0, r1, r2, lsl #2\nadd.w r3, r4, r5, lsl #2", {"cortex-m7": 2}),
    ("add.w r0, r1, r2, lsl #2\nadds r3, r4, r5", {"cortex-m7": 1}),
    ("ubfx r0, r1, #2, #3\nsxth r3, r4", {"cortex-m7": 2}),
    ("and r0, r0, #0x7e0\nadd.w r3, r4, r5, lsl #2", {"cortex-m7": 2}),
    ("adds r0, r1, r2\nsmlad r3, r4, r5, r3", {"cortex-m7": 2}),
    ("smlad r3, r4, r5, r3\nadds r0, r1, r2", {"cortex-m7": 1}),
    # load-use interlock; a shifted operand's input is needed a cycle early
    ("ldr r0, [r1]\nadds r0, #1", {"cortex-m7": 3}),
    ("adds r2, r1, r3\nadd.w r0, r4, r2, lsl #2", {"cortex-m7": 3}),
]


def _assemble(asm: str, core: str, tmp_path) -> bytes:
    from elftools.elf.elffile import ELFFile

    from firmware_sim.toolchain import compile_object

    src = tmp_path / "t.s"
    src.write_text(".syntax unified\n.thumb\n.text\n" + asm + "\n")
    obj = compile_object(src, core, tmp_path / "t.o")
    with open(obj, "rb") as fh:
        return ELFFile(fh).get_section_by_name(".text").data()


@needs_sim
@pytest.mark.parametrize("asm, expected", ASM_CASES)
def test_cycle_model_matches_trm(asm, expected, tmp_path):
    from firmware_sim.cycles import CostModel

    for core, cycles in expected.items():
        code = _assemble(asm, core, tmp_path)
        assert CostModel(core).block(code, 0).cycles == cycles, (core, asm)


@needs_sim
def test_multiply_accumulates_are_counted(tmp_path):
    """A DSP group (6 loads, 8 SXTB16, 8 SMLAD) does 16 MACs; 4 SMMULR requantizations are none (they sit in the
    block loop the straight-line copies make innermost, whose MACs per turn must be the product's)."""
    from firmware_sim.cycles import CostModel

    group = "\n".join(["ldr r4, [r11], #4"] * 2 + ["ldr r6, [r12], #4"] * 4
                       + ["sxtb16 r10, r6\nsmlad r0, r10, r4, r0"] * 8)
    requant = "\n".join(["ldr r4, [r6], #4\nsmmulr r0, r0, r4\nstr r0, [r7], #4"] * 4)
    for asm, expected in ((group, 16), (requant, 0), ("muls r5, r0, r5\nadds r1, r5\nmla r0, r1, r2, r0", 2)):
        b = CostModel("cortex-m4").block(_assemble(asm, "cortex-m4", tmp_path), 0)
        assert b.macs == expected, asm


@needs_sim
def test_loop_floor_is_the_models_bound_for_the_instruction_mix(tmp_path):
    """The floor of a loop body (its closing branch left out) is the fewest cycles the core's model gives its
    instructions in any of three orders: the DSP int8 group as the kernel writes it (loads in runs of 4 and 2)
    costs 24 on the M4 and 23 with its 6 loads back to back; the M7 pairs each load with a DSP instruction; the
    ARMv6-M core has nothing to reorder."""
    from firmware_sim.cycles import CostModel

    col = "sxtb16 r8, {p}\nsmlad {a}, r8, r4, {a}\nsxtb16 r8, {p}, ror #8\nsmlad {a}, r8, r5, {a}\n"
    group = ("ldr r4, [r9], #4\nldr r5, [r9], #4\nldr r6, [r10], #4\nldr r7, [r10], #4\n"
             + col.format(p="r6", a="r0") + col.format(p="r7", a="r1")
             + "ldr r6, [r10], #4\nldr r7, [r10], #4\n" + col.format(p="r6", a="r2") + col.format(p="r7", a="r3"))
    loop = "1:\n" + group + "cmp r9, r11\nbne 1b"
    m4, m7 = CostModel("cortex-m4"), CostModel("cortex-m7")
    ins = m4.decode(_assemble(group, "cortex-m4", tmp_path), 0)
    assert m4.timing.block_cost(ins).cycles == 24
    assert m4.timing.floor_cost(ins) == 23
    assert m4.timing.floor_cost(m4.decode(_assemble(loop, "cortex-m4", tmp_path), 0)) == 24   # + the compare
    ins7 = m7.decode(_assemble(group, "cortex-m7", tmp_path), 0)
    assert m7.timing.floor_cost(ins7) < m7.timing.block_cost(ins7).cycles
    assert m7.timing.floor_cost(ins7) >= 16                    # one DSP instruction per cycle at best
    v6 = CostModel("cortex-m0plus")
    body = "1:\nldr r4, [r1]\nmuls r4, r5, r4\nadds r0, r0, r4\nsubs r2, #1\nbne 1b"
    ins6 = v6.decode(_assemble(body, "cortex-m0plus", tmp_path), 0)
    assert v6.timing.floor_cost(ins6) == v6.timing.block_cost(ins6[:-1]).cycles


@needs_sim
def test_load_pipelining_crosses_a_block_split(tmp_path):
    """The emulator splits blocks at 1 KB pages; 4 back-to-back LDRs split 2 + 2 still cost 5 on M4 (8 on M0+)."""
    from firmware_sim.cycles import CostModel

    first, second = "ldr r0, [r4]\nldr r1, [r4, #4]", "ldr r2, [r4, #8]\nldr r3, [r4, #12]"
    for core, whole in (("cortex-m4", 5), ("cortex-m0plus", 8)):
        model = CostModel(core)
        a = model.block(_assemble(first, core, tmp_path), 0x3F8)
        b = model.block(_assemble(second, core, tmp_path), a.end)
        model.link_fall_through(a, b)
        assert a.cycles + b.cycles + b.after_fall_through(a) == whole, core
    # after a compare (not a load) nothing is credited
    m4 = CostModel("cortex-m4")
    a = m4.block(_assemble("ldr r0, [r4]\ncmp r0, #0", "cortex-m4", tmp_path), 0x3F8)
    b = m4.block(_assemble(second, "cortex-m4", tmp_path), a.end)
    m4.link_fall_through(a, b)
    assert b.after_fall_through(a) == 0


def _loop_cycles(target_name: str, tmp_path, body: str = "subs r0, r0, #1\\n bne 1b") -> float:
    """Emulated cycles of a 100-turn loop minus those of the same program without it."""
    from firmware_sim.emulator import Emulator
    from firmware_sim.toolchain import build_elf

    tmp_path.mkdir(parents=True, exist_ok=True)
    src = tmp_path / "loop.c"
    src.write_text("int main(void) {\n"
                   f"  __asm__ volatile(\"movs r0, #100\\n.balign 4\\n1: {body}\" ::: \"r0\", \"cc\");\n"
                   "  return 0;\n}\n")
    base = tmp_path / "b.c"
    base.write_text("int main(void) { __asm__ volatile(\"movs r0, #100\\n.balign 4\" ::: \"r0\"); return 0; }\n")
    t = get_target(target_name)
    loop = Emulator(build_elf([src], t, tmp_path / "l"), t).run().cycles
    ref = Emulator(build_elf([base], t, tmp_path / "r"), t).run().cycles
    return loop - ref


@needs_sim
def test_taken_branch_pays_the_refill(tmp_path):
    """A counted loop: the backward branch is taken 99 times. M4 TRM 3.3.1: "Taken branches with an immediate
    are normally 1 cycle of pipeline reload (2 cycles total)"; M0+ TRM: B<cc> taken 2; M33: resolved in
    decode, 1 cycle of reload; M7: no reload when predicted, 5 per misprediction (the first taken turn and the
    exit)."""
    assert _loop_cycles("nrf52840", tmp_path / "m4") == 100 * 2 + 99 * 1
    assert _loop_cycles("rp2040", tmp_path / "m0") == 100 * 2 + 99 * 1
    assert _loop_cycles("nrf5340", tmp_path / "m33") == 100 * 2 + 99 * 1
    assert _loop_cycles("stm32h7", tmp_path / "m7") == 100 * 2 + 2 * 5


@needs_sim
def test_branch_to_unaligned_wide_instruction(tmp_path):
    """M4 TRM 3.3.1: pipeline reload is up to a cycle longer when the target is a 32-bit instruction that is
    not word aligned (measured one cycle on STM32, compendium.i-0.nl); a 16-bit target costs nothing extra."""
    aligned = _loop_cycles("nrf52840", tmp_path / "a", "subs.w r0, r0, #1\\n bne 1b")
    unaligned = _loop_cycles("nrf52840", tmp_path / "u", "nop\\n2: subs.w r0, r0, #1\\n bne 2b")
    assert aligned == 100 * 2 + 99 * 1
    assert unaligned == 1 + 100 * 2 + 99 * 2      # the nop runs once; 99 branches land on an unaligned subs.w


@needs_sim
def test_semihosting_program(tmp_path):
    """Any bare-metal program built with our startup code: output and exit code come back."""
    from firmware_sim.emulator import Emulator
    from firmware_sim.toolchain import build_elf

    src = tmp_path / "hello.c"
    src.write_text("void eg_puts(const char *s); void eg_putc(char c);\n"
                   "int main(void) { eg_puts(\"hello, \"); eg_putc('M'); eg_putc('\\n'); return 7; }\n")
    for name in ("rp2040", "nrf52840", "stm32h7", "nrf5340"):
        t = get_target(name)
        res = Emulator(build_elf([src], t, tmp_path / name), t).run()
        assert res.exit_code == 7 and res.stdout == "hello, M\n", name
        assert res.cycles > 0 and res.stack_bytes > 0


@needs_sim
def test_runaway_program_is_stopped(tmp_path):
    from firmware_sim.emulator import EmulationError, Emulator
    from firmware_sim.toolchain import build_elf

    src = tmp_path / "spin.c"
    src.write_text("int main(void) { for (;;) { __asm__ volatile(\"nop\"); } }\n")
    t = get_target("nrf52840")
    with pytest.raises(EmulationError, match="did not exit"):
        Emulator(build_elf([src], t, tmp_path / "s"), t).run(max_instructions=100_000)


@needs_sim
def test_fault_is_reported(tmp_path):
    from firmware_sim.emulator import EmulationError, Emulator
    from firmware_sim.toolchain import build_elf

    src = tmp_path / "bad.c"
    src.write_text("int main(void) { return *(volatile int *)0x90000000; }\n")
    t = get_target("nrf52840")
    with pytest.raises(EmulationError, match="faulted"):
        Emulator(build_elf([src], t, tmp_path / "f"), t).run()


@needs_sim
def test_capstone_decoding_by_name_and_version_range(monkeypatch):
    """Condition codes, registers and operand types are read by name from the installed Capstone, whose major
    version is one the cycle model was tested with; another major version is refused with what to install."""
    import capstone

    from edge_gru.errors import ToolMissingError
    from firmware_sim import core_timing as ct
    from firmware_sim.cycles import CostModel

    assert int(capstone.__version__.split(".")[0]) in ct.CAPSTONE_MAJORS
    cm = CostModel("cortex-m4")
    # bx lr; bne.n +4; ldr r0, [r1, #4]; push {r4, lr}; adds r0, #1; add.w r0, r1, r2, lsl #2
    code = bytes.fromhex("7047" "01d1" "4868" "10b5" "0130" "01eb8200")
    bx, bne, ldr, push, adds, add_lsl = cm.decode(code, 0x1000)
    assert bx.kind == "branch" and ct.LR in bx.reads and bx.indirect and not bx.cond
    assert bne.kind == "branch" and bne.cond and bne.target == 0x1002 + 4 + 2 and ct.FLAGS in bne.reads
    assert ldr.kind == "load" and ldr.base == capstone.arm.ARM_REG_R1 and not ldr.cond
    assert push.kind == "stm" and push.nregs == 2 and ct.SP in push.writes
    assert ct.FLAGS in adds.writes and not adds.shifted
    assert add_lsl.shifted and ct.PC not in add_lsl.writes
    monkeypatch.setattr(ct._capstone, "__version__", "6.0.0")
    with pytest.raises(ToolMissingError, match=r"capstone 6\.0\.0 is installed; .* tested with 5\.x"):
        CostModel("cortex-m4")


@needs_sim
def test_a_wide_conditional_branch_pays_its_taken_refill():
    """A 32-bit B<cc> (T3, the form a loop back-branch takes beyond 256 bytes) changes the program flow like the
    16-bit one: Capstone 5 leaves PC out of its writes, and the cycle model had charged no refill when it was taken
    (M4 TRM: 1 cycle; M33: 1). Both forms now cost the same."""
    from firmware_sim import core_timing as ct
    from firmware_sim.cycles import CostModel

    for core in ("cortex-m4", "cortex-m33"):
        cm = CostModel(core)
        # cmp r0, r1; bne.w 0xf66 (backwards, 0x1000 + 2 - 0x9c) | cmp r0, r1; bne.n -4
        wide = cm.decode(bytes.fromhex("8842" "7ff44caf"), 0x1000)
        narrow = cm.decode(bytes.fromhex("8842" "fcd1"), 0x1000)
        assert wide[1].cond and wide[1].writes_pc and ct.PC in wide[1].writes
        assert cm.timing.block_cost(wide).refill == cm.timing.block_cost(narrow).refill == 1.0
        assert cm.timing.block_cost(wide).cycles == cm.timing.block_cost(narrow).cycles
