"""Targets database, ELF reader errors, cycle model against the TRM timings, semihosting programs."""

import importlib.util
import shutil

import pytest

from edge_gru.errors import DataError, ModelFileError
from firmware_sim.targets import get_target, load_targets

needs_sim = pytest.mark.skipif(
    importlib.util.find_spec("unicorn") is None or importlib.util.find_spec("capstone") is None
    or (importlib.util.find_spec("ziglang") is None and shutil.which("arm-none-eabi-gcc") is None),
    reason="needs unicorn, capstone and an Arm cross-compiler (pip install 'edge-gru[sim]')")


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
])
def test_bad_targets_file(tmp_path, text, msg):
    f = tmp_path / "t.toml"
    f.write_text(text)
    with pytest.raises((DataError, ModelFileError), match=msg):
        load_targets(f)


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


# Thumb-2 sequences whose cycle counts the Cortex-M4 TRM (section 3.3) and the Cortex-M0+ TRM state.
ASM_CASES = [
    # four back-to-back independent LDRs: M4 pipelines them (N + 1 = 5); M0+ 2 each (8)
    ("ldr r0, [r4]\nldr r1, [r4, #4]\nldr r2, [r4, #8]\nldr r3, [r4, #12]", {"cortex-m4": 5, "cortex-m0plus": 8}),
    # ALU ops: 1 each on both
    ("adds r0, r1, r2\nsubs r0, r0, #1\nmovs r3, #7\nlsls r3, r3, #2", {"cortex-m4": 4, "cortex-m0plus": 4}),
    # multiply-accumulate: M4 1 cycle each (MLA, SMLAD), M3 MLA 2 cycles
    ("mla r0, r1, r2, r0\nmla r0, r1, r2, r0", {"cortex-m4": 2, "cortex-m3": 4}),
    ("smlad r0, r1, r2, r0\nsxtb16 r1, r2", {"cortex-m4": 2}),
    # PUSH of 4 registers: 1 + N
    ("push {r4, r5, r6, lr}", {"cortex-m4": 5, "cortex-m0plus": 5}),
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
    """A DSP group (6 loads, 8 SXTB16, 8 SMLAD) does 16 MACs; 4 SMMULR requantizations count 4 multiplies."""
    from firmware_sim.cycles import CostModel

    group = "\n".join(["ldr r4, [r11], #4"] * 2 + ["ldr r6, [r12], #4"] * 4
                       + ["sxtb16 r10, r6\nsmlad r0, r10, r4, r0"] * 8)
    requant = "\n".join(["ldr r4, [r6], #4\nsmmulr r0, r0, r4\nstr r0, [r7], #4"] * 4)
    for asm, expected in ((group, 16), (requant, 4), ("muls r5, r0, r5\nadds r1, r5\nmla r0, r1, r2, r0", 2)):
        b = CostModel("cortex-m4").block(_assemble(asm, "cortex-m4", tmp_path), 0)
        assert b.macs == expected, asm


@needs_sim
def test_load_pipelining_crosses_a_block_split(tmp_path):
    """The emulator splits blocks at 1 KB pages; 4 back-to-back LDRs split 2 + 2 still cost 5 on M4 (8 on M0+)."""
    from firmware_sim.cycles import CostModel

    first, second = "ldr r0, [r4]\nldr r1, [r4, #4]", "ldr r2, [r4, #8]\nldr r3, [r4, #12]"
    for core, whole in (("cortex-m4", 5), ("cortex-m0plus", 8)):
        model = CostModel(core)
        a = model.block(_assemble(first, core, tmp_path), 0x3F8)
        b = model.block(_assemble(second, core, tmp_path), a.end)
        saving = b.head_saving if b.pipelines_after(a) else 0
        assert a.cycles + b.cycles - saving == whole, core
    # after a branch (not a load) nothing is credited
    m4 = CostModel("cortex-m4")
    a = m4.block(_assemble("ldr r0, [r4]\ncmp r0, #0", "cortex-m4", tmp_path), 0x3F8)
    assert not m4.block(_assemble(second, "cortex-m4", tmp_path), a.end).pipelines_after(a)


@needs_sim
def test_taken_branch_pays_the_refill(tmp_path):
    """A counted loop: the backward branch is taken N-1 times (M4 TRM: 1 + P, P = 2 here)."""
    from firmware_sim.emulator import Emulator
    from firmware_sim.toolchain import build_elf

    src = tmp_path / "loop.c"
    src.write_text("int main(void) {\n"
                   "  __asm__ volatile(\"movs r0, #100\\n1: subs r0, r0, #1\\n bne 1b\" ::: \"r0\", \"cc\");\n"
                   "  return 0;\n}\n")
    t = get_target("nrf52840")
    base = tmp_path / "b.c"
    base.write_text("int main(void) { __asm__ volatile(\"movs r0, #100\" ::: \"r0\"); return 0; }\n")
    loop = Emulator(build_elf([src], t, tmp_path / "l"), t).run().cycles
    ref = Emulator(build_elf([base], t, tmp_path / "r"), t).run().cycles
    # 100 x (SUBS 1 + BNE 1) + 99 taken refills of 2
    assert loop - ref == 100 * 2 + 99 * 2


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
