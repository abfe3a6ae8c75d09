"""Memory-system rules (firmware_sim/memory.py) pinned to their sources' numbers, and targets-file checks."""

import pytest

from edge_gru.errors import DataError
from firmware_sim.memory import CacheSpec, MemoryState, MemorySystem, Region, parse_memory
from firmware_sim.targets import get_target, load_targets


def _system(read_cycles=6, width=8, prefetch=False, caches=()):
    return MemorySystem("t", (Region("flash", "flash", 0x0800_0000, 1 << 20, read_cycles, width, prefetch),
                              Region("sram", "sram", 0x2000_0000, 1 << 16)), tuple(caches))


def test_builtin_parts_carry_their_sources_numbers():
    t = load_targets()
    xip = t["rp2040"].memory
    assert xip.region("xip").read_cycles == 56 and xip.region("xip").width == 8     # (8 + 4 + 16) x clkdiv 2
    cache = xip.caches[0]
    assert (cache.size, cache.line, cache.ways, cache.holds, cache.sets) == (16384, 8, 2, "id", 1024)
    assert t["stm32l4r5"].memory.region("flash").read_cycles == 6                   # 5 wait states at 120 MHz
    assert {c.name: (c.size, c.line) for c in t["stm32l4r5"].memory.caches} == {"art-icache": (1024, 32),
                                                                               "art-dcache": (256, 32)}
    f1 = t["stm32f103"].memory.region("flash")
    assert (f1.read_cycles, f1.width, f1.prefetch) == (3, 8, True)                   # 2 WS, 2 x 64-bit prefetch
    h7 = t["stm32h7"].memory
    assert h7.region("flash").read_cycles == 10 and h7.fast_code == "itcm" and h7.fast_data == "dtcm"
    assert [(c.size, c.ways, c.line) for c in h7.caches] == [(16384, 2, 32), (16384, 4, 32)]
    for target in t.values():                           # every region and cache says where its numbers come from
        assert all(r.source for r in target.memory.regions), target.name
        assert all(c.source for c in target.memory.caches), target.name


def test_wait_states_per_access_width():
    """No cache: a read of a new `width`-byte flash word costs read_cycles - 1 on top of the zero-wait load; the
    same word again is in the flash interface's buffer (RM0008 3.3.3: 64-bit reads)."""
    m = MemoryState(_system(read_cycles=3, width=8))
    flash = m.system.region("flash")
    stalls = [m.load(flash, 0x0800_0000 + 4 * i) for i in range(8)]       # 8 words = 4 flash reads
    assert stalls == [2, 0, 2, 0, 2, 0, 2, 0]
    m2 = MemoryState(_system(read_cycles=6, width=16))
    stalls = [m2.load(m2.system.region("flash"), 0x0800_0000 + 4 * i) for i in range(8)]
    assert stalls == [5, 0, 0, 0, 5, 0, 0, 0]


def test_prefetch_hides_sequential_fetch():
    """With prefetch, the next sequential flash word is read while the current one executes: a block that
    spends 4 cycles per 8-byte word on 3-cycle flash never waits; at 1 cycle per word it waits 2 per word.
    A taken branch to another word pays the whole read (3 - 1)."""
    m = MemoryState(_system(read_cycles=3, width=8, prefetch=True))
    flash = m.system.region("flash")
    base = 0x0800_0000
    assert m.fetch(flash, base, base + 32, cycles=16) == 2          # first word: not sequential: 2; then hidden
    assert m.fetch(flash, base + 32, base + 64, cycles=4) == 4 * 2   # 1 cycle per word: 4 words wait 2 each
    assert m.fetch(flash, base + 256, base + 264, cycles=4) == 2     # a jump: the whole read
    no = MemoryState(_system(read_cycles=3, width=8, prefetch=False))
    assert no.fetch(no.system.region("flash"), base, base + 32, cycles=16) == 4 * 2


def test_cache_hit_and_miss_sequences_and_lru_eviction():
    """2-way, 2 sets of 8-byte lines: A, B, C map to set 0; LRU evicts the least recently used way."""
    spec = CacheSpec("c", 32, 8, 2, "id", ("flash",))
    m = MemoryState(_system(read_cycles=56, width=8, caches=[spec]))
    flash = m.system.region("flash")
    a, b, c = 0x0800_0000, 0x0800_0010, 0x0800_0020          # lines 0, 2, 4: all set 0
    assert [m.load(flash, x) for x in (a, b, a, c, b, a)] == [55, 55, 0, 55, 55, 55]   # C evicts B, B evicts A...
    cache = m.caches["c"]
    assert (cache.hits, cache.misses) == (1, 5)
    assert m.load(flash, a + 4) == 0                                 # same line as the last load
    assert m.load(flash, 0x0800_0008) == 55                          # set 1 is independent


def test_line_fill_reads_the_whole_line():
    """A 32-byte line over 64-bit flash at 6 cycles per read (ART, STM32L4): 4 reads = 24 cycles, 23 of them
    stalled; the other words of the line then hit."""
    spec = CacheSpec("d", 256, 32, 8, "d", ("flash",))
    m = MemoryState(_system(read_cycles=6, width=8, caches=[spec]))
    flash = m.system.region("flash")
    assert [m.load(flash, 0x0800_0000 + 4 * i) for i in range(9)] == [23] + [0] * 7 + [23]


def test_instruction_and_data_sides_share_an_id_cache():
    spec = CacheSpec("c", 16, 8, 1, "id", ("flash",))           # direct-mapped, 2 lines
    m = MemoryState(_system(read_cycles=56, width=8, caches=[spec]))
    flash = m.system.region("flash")
    assert m.fetch(flash, 0x0800_0000, 0x0800_0008, cycles=4) == 55
    assert m.load(flash, 0x0800_0000) == 0                           # the fetched line serves the load
    assert m.load(flash, 0x0800_0010) == 55                          # evicts it (same set)
    assert m.fetch(flash, 0x0800_0000, 0x0800_0008, cycles=4) == 55  # so the next fetch misses


def test_an_i_cache_does_not_cache_data():
    spec = CacheSpec("i", 1024, 32, 32, "i", ("flash",))
    m = MemoryState(_system(read_cycles=6, width=8, caches=[spec]))
    flash = m.system.region("flash")
    m.fetch(flash, 0x0800_0000, 0x0800_0020, cycles=20)
    assert m.load(flash, 0x0800_0000) == 5                           # data reads go to flash: one 64-bit read


def test_zero_wait_copy_keeps_the_address_map():
    t = get_target("stm32h7")
    z = t.ideal().memory
    assert [r.base for r in z.regions] == [r.base for r in t.memory.regions]
    assert z.ideal and not t.memory.ideal and not MemoryState(z).slow


GOOD = """
[p]
core = "cortex-m4"
clock_mhz = 100
flash_kb = 256
ram_kb = 64
[p.memory]
code = "flash"
data = "sram"
[[p.memory.region]]
name = "flash"
kind = "flash"
base = 0x08000000
size_kb = 256
read_cycles = 3
width = 8
[[p.memory.region]]
name = "sram"
kind = "sram"
base = 0x20000000
size_kb = 64
[[p.memory.cache]]
name = "ic"
size = 1024
line = 32
ways = 2
fronts = ["flash"]
"""


def test_user_memory_system_is_read(tmp_path):
    f = tmp_path / "t.toml"
    f.write_text(GOOD)
    t = load_targets(f)["p"]
    assert t.memory.region("flash").read_cycles == 3 and t.memory.caches[0].sets == 16
    assert t.memory.fast_data == "sram"                  # defaults to the data region


@pytest.mark.parametrize("change, msg", [
    (("base = 0x20000000\nsize_kb = 64", "base = 0x08010000\nsize_kb = 64"), "'flash' and 'sram' overlap"),
    (("size = 1024\n", "size = 1048576\n"), "larger than the memory it caches"),
    (("read_cycles = 3", "read_cycles = -1"), "read_cycles = -1 must be a number from 1"),
    (("ways = 2", "ways = 3"), "not a whole number of sets"),
    (("line = 32", "line = 24"), "line = 24 must be a power of two"),
    (('fronts = ["flash"]', 'fronts = ["nand"]'), "fronts names 'nand'"),
    (('code = "flash"', 'code = "sram"'), "must be the part's non-volatile memory"),
    (('data = "sram"', 'data = "rom"'), "data = 'rom' is no region"),
    (('kind = "flash"', 'kind = "eeprom"'), "known kinds"),
    (("width = 8", "width = 8\nwait = 2"), "unknown key 'wait'"),
    (("flash_kb = 256", "flash_kb = 512"), "larger than the code region"),
    (('kind = "sram"', 'kind = "sram"\nread_cycles = 2'), "modelled zero-wait"),
])
def test_bad_memory_keys_are_refused_naming_the_key(tmp_path, change, msg):
    old, new = change
    assert old in GOOD
    f = tmp_path / "t.toml"
    f.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(DataError, match=msg):
        load_targets(f)


def test_parse_memory_needs_regions():
    with pytest.raises(DataError, match="at least one"):
        parse_memory("x", {"code": "flash", "data": "sram"})
