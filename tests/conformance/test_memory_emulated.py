"""The memory system inside the emulator: hand-counted microbenchmarks, placements (section addresses, RAM
cost, bit-exactness), cold and warm sequences."""


import numpy as np
import pytest

from edge_gru.fixed.model import quantize_model
from edge_gru.spec import random_spec
from firmware_sim.targets import get_target

pytestmark = pytest.mark.needs("sim")

# Everything between the marks runs from SRAM (functions in .data, copied at reset), so the only memory
# stalls between two marks are the walk's data reads of `small` (8 KB) and `big` (24 KB) in flash/XIP:
# one 32-bit read per 8-byte line (stride of two words).
WALK = r"""
#include <stdint.h>
#define RAMFUNC __attribute__((section(".data"), noinline))
static const uint32_t small[2048] __attribute__((aligned(32))) = {1};
static const uint32_t big[6144] __attribute__((aligned(32))) = {1};
volatile uint32_t sink;
RAMFUNC static void mark(uint32_t id) { *(volatile uint32_t *)0x60000010u = id; }
RAMFUNC static uint32_t walk(const volatile uint32_t *p, int n)      /* one read per 8-byte line */
{
    uint32_t s = 0;
    for (int i = 0; i < n; i += 2) s += p[i];
    return s;
}
RAMFUNC static uint32_t walk_all(const volatile uint32_t *p, int n)  /* every word */
{
    uint32_t s = 0;
    for (int i = 0; i < n; ++i) s += p[i];
    return s;
}
RAMFUNC int main(void)
{
    mark(0); sink = walk(small, 2048);
    mark(1); sink = walk(small, 2048);
    mark(2); sink = walk(big, 6144);
    mark(3); sink = walk(big, 6144);
    mark(4); sink = walk_all(small, 2048);
    mark(5);
    return 0;
}
"""


def _walk(target, tmp_path):
    from firmware_sim.emulator import Emulator
    from firmware_sim.toolchain import build_elf

    src = tmp_path / "walk.c"
    src.write_text(WALK)
    res = Emulator(build_elf([src], target, tmp_path / "b"), target).run()
    assert res.exit_code == 0
    return np.diff(res.mark_stalls), res


def test_xip_cache_misses_counted_by_hand(tmp_path):
    """RP2040 XIP: 16 KB, 2-way, 8-byte lines, a miss reads 8 bytes in 56 system clocks (55 stalled).
    small (8 KB = 1,024 lines, one per set): 1,024 misses, then all hits; big (24 KB = 3 lines per set,
    walked in order): LRU keeps the last two, so every access misses, every pass: 3,072 x 55."""
    stalls, res = _walk(get_target("rp2040"), tmp_path)
    assert list(stalls) == [1024 * 55, 0, 3072 * 55, 3072 * 55, 1024 * 55]
    # the last pass reads every word: the second word of each line is in the line just filled (no second miss)
    hits, misses = res.memory_stats.cache["xip-cache"]
    assert misses >= 1024 + 3072 * 2 + 1024


def test_flash_word_buffer_without_cache(tmp_path):
    """STM32F103: 2 wait states, 64-bit reads, no data cache: every new 8-byte word stalls 2 cycles."""
    stalls, _ = _walk(get_target("stm32f103"), tmp_path)
    assert list(stalls) == pytest.approx([1024 * 2, 1024 * 2, 3072 * 2, 3072 * 2, 1024 * 2], abs=1e-6)


def test_zero_wait_memory_charges_nothing(tmp_path):
    stalls, _ = _walk(get_target("rp2040").ideal(), tmp_path)
    assert list(stalls) == [0, 0, 0, 0, 0]


def _model(units=24, features=5, timesteps=6, seed=3):
    rng = np.random.default_rng(seed)
    spec = random_spec(rng, features, [units], [(3, "softmax")], timesteps=timesteps)
    X = rng.normal(0, 1, (5, timesteps, features)).astype(np.float32)
    return quantize_model(spec, X, "w8a16"), X


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rp2040", "stm32l4r5", "stm32h7", "stm32f103"])
def test_every_placement_is_bit_exact_and_only_cycles_change(name, tmp_path):
    """Same integers from flash, weights in RAM and all in RAM; on a part with slow flash the placements
    order as expected. Under unicorn 2.1.4 the stm32l4r5 and stm32f103 cases fail (it skips instructions while a
    memory-read hook is installed; TFLite Micro faults in its flatbuffer accessors): pyproject.toml excludes it."""
    from firmware_sim.simulate import simulate

    fm, X = _model()
    ref = fm.predict_raw(X)
    target = get_target(name)
    res = {p: simulate(fm, target, X, placement=p, work_dir=tmp_path / p) for p in ("flash", "weights-ram", "ram")}
    ideal = simulate(fm, target.ideal(), X, work_dir=tmp_path / "ideal")
    for p, r in res.items():
        np.testing.assert_array_equal(r.outputs, ref, err_msg=f"{name} {p}")
        assert r.placement == p and r.memory == target.memory.name
    assert res["flash"].cycles_per_sequence > res["weights-ram"].cycles_per_sequence >= ideal.cycles_per_sequence
    # all in RAM: the memory system adds nothing; the cycle model's count still moves a little with the code's
    # addresses: 0.5% on stm32h7 (144 of 27,016 cycles, all in eg_gates_update_after; docs/limits.md)
    assert res["ram"].stall_cycles_per_sequence == 0
    assert res["ram"].cycles_per_sequence == pytest.approx(ideal.cycles_per_sequence, rel=1e-2)
    if target.memory.caches:
        # a cold cache misses what a warm one holds: the same sequence five times (with different sequences the
        # table lookups' data-dependent addresses can make a warm run slower than the cold one where the code does
        # not fit the cache: stm32l4r5 73,961 warm vs 73,910 cold)
        same = simulate(fm, target, np.repeat(X[:1], 5, axis=0), work_dir=tmp_path / "same")
        assert same.cycles_cold > same.cycles_per_sequence
    assert res["flash"].stall_cycles_per_sequence > 0 and ideal.stall_cycles_per_sequence == 0
    # RAM pays for what runs from it: the weights (weights-ram), and the code and constants too (ram)
    assert res["weights-ram"].ram_bytes >= res["flash"].ram_bytes + fm.weight_bytes()
    assert res["ram"].ram_bytes > res["weights-ram"].ram_bytes + res["ram"].text_bytes // 2


def test_placement_section_addresses(tmp_path):
    """Where the linker puts the weights and the code for each placement on an STM32H7: flash at 0x08000000,
    DTCM at 0x20000000, ITCM at 0; the vector table stays at the flash base; images stay in flash."""
    from firmware_sim.elf import read_elf
    from firmware_sim.simulate import build_firmware, export_for_target

    fm, _ = _model()
    t = get_target("stm32h7")
    where = {}
    for p in ("flash", "weights-ram", "ram"):
        c = export_for_target(fm, tmp_path / f"c-{p}", placement=p)
        image = read_elf(build_firmware(c, t.roomy(), tmp_path / f"b-{p}", placement=p))
        where[p] = (image.addresses[".isr_vector"], image.addresses[".text"], image.addresses[".eg_weights"],
                    image.sections[".eg_weights"], image.symbols["__eg_weights_load"])
    assert where["flash"][0] == where["weights-ram"][0] == where["ram"][0] == 0x0800_0000
    assert 0x0800_0000 <= where["flash"][1] < 0x0820_0000 and where["flash"][3] == 0  # weights in .rodata
    assert 0x0800_0000 <= where["weights-ram"][1] < 0x0820_0000
    assert 0x2000_0000 <= where["weights-ram"][2] < 0x2002_0000 and where["weights-ram"][3] >= fm.weight_bytes()
    assert 0x0800_0000 <= where["weights-ram"][4] < 0x0820_0000                       # its image in flash
    assert where["ram"][1] < 0x1_0000 and 0x2000_0000 <= where["ram"][2] < 0x2002_0000  # ITCM, DTCM


def test_c_export_placement_is_checked_and_recorded(tmp_path):
    from converters.c_export import check_c_folder, export_c, export_placement
    from edge_gru.errors import DataError, ModelFileError
    from firmware_sim.simulate import simulate

    fm, X = _model()
    flash = tmp_path / "flash"
    export_c(fm, flash, placement="flash")
    ram = tmp_path / "ram"
    files = export_c(fm, ram, placement="weights-ram")
    fragment = ram / "edge_gru_placement.ld"
    assert fragment in files and "KEEP(*(.eg_weights" in fragment.read_text()
    assert '__attribute__((section(".eg_weights")))' in (ram / "model.c").read_text()
    assert "eg_model_place" in (ram / "README.md").read_text()
    assert not (flash / "edge_gru_placement.ld").exists()
    assert export_placement(ram) == "weights-ram" and export_placement(flash) == "flash"
    from edge_gru.fixed.io import save_fixed

    for d in (flash, ram):
        save_fixed(fm, d / "model.egru")
        check_c_folder(d)
    with pytest.raises(DataError, match="--placement weights-ram"):
        simulate(flash, get_target("rp2040"), X, placement="weights-ram", work_dir=tmp_path / "w")
    text = (ram / "model.h").read_text()
    (ram / "model.h").write_text(text.replace('"weights-ram"', '"flash"'))
    with pytest.raises(ModelFileError, match="does not match"):
        check_c_folder(ram)


def test_kernel_copies_fit_the_instruction_cache(tmp_path):
    """The pairs kernel's copy of a product is written for a part only when its code per block fills at most half of
    the part's instruction cache: on the STM32L4R5 (1 kB ART cache in front of 5-wait-state flash) straight-line
    copies up to 24 inputs, and rolled copies (a loop turn of 24 inputs), so a 64-input product gets its rolled copy
    there (its 1.2 kB straight-line copy once ran 1.9x slower than the loop copy: every block missed), which runs no
    slower than the loop copy behind the cache and faster on zero-wait memory; a 512 B cache (10 inputs) leaves it the
    loop copy. Every run bit-exact."""
    from dataclasses import replace

    from converters.c_export import export_c
    from converters.c_paths import pairs_exact_ks
    from edge_gru.fixed.io import save_fixed
    from firmware_sim.simulate import simulate, straight_max_k_for

    l4 = get_target("stm32l4r5")
    assert straight_max_k_for(l4) == 24 and straight_max_k_for(l4, "ram") == 64
    assert straight_max_k_for(l4.ideal()) == straight_max_k_for(get_target("stm32h7")) == 64   # 16 kB L1 cache
    small = replace(l4.memory, caches=[replace(c, size=512) for c in l4.memory.caches])
    assert straight_max_k_for(replace(l4, memory=small)) == 10
    rng = np.random.default_rng(64)
    spec = random_spec(rng, 13, [64], [(4, "softmax")], timesteps=4, scale=0.2)
    X = rng.normal(0, 1, (3, 4, 13)).astype(np.float32)
    fm = quantize_model(spec, X, "w8a16")
    assert pairs_exact_ks(fm, False, max_k=24) == [14, 64] and pairs_exact_ks(fm, False, max_k=10) == []
    runs = {}
    for max_k in (0, 64):                   # loop copies only; the 14-input straight copy and the 64-input rolled one
        export_c(fm, tmp_path / f"k{max_k}", matrix="pairs", straight_max_k=max_k)
        save_fixed(fm, tmp_path / f"k{max_k}" / "model.egru")
        for t in (l4, l4.ideal()):
            runs[max_k, t.memory.ideal] = simulate(tmp_path / f"k{max_k}", t, X, work_dir=tmp_path / f"w{max_k}")
    auto = simulate(fm, l4, X, work_dir=tmp_path / "auto")
    head = (tmp_path / "auto" / "c" / "model.h").read_text()
    assert "#define EG_MODEL_PAIRS_MAX_K 24\n" in head and "#define EG_MODEL_PAIRS_K2 64\n" in head
    for r in (*runs.values(), auto):
        np.testing.assert_array_equal(r.outputs, fm.predict_raw(X))
    assert runs[64, False].cycles_per_sequence <= runs[0, False].cycles_per_sequence      # the cache holds a turn
    assert runs[64, True].cycles_per_sequence < runs[0, True].cycles_per_sequence        # zero-wait: faster
    assert auto.cycles_per_sequence == runs[64, False].cycles_per_sequence
