"""A target's memory system: regions, wait states, prefetch and caches, and their state during a run.

The per-core cycle model (:mod:`firmware_sim.core_timing`) assumes zero-wait memory. This module adds
what the memory charges on top, with real state across a whole run:

- **Regions** (internal flash, XIP flash, SRAM, TCM, MRAM): address range, ``read_cycles`` = core
  cycles of one uncached read of ``width`` bytes at the target's clock (1 = zero wait state, e.g.
  5 wait states: 6). Writable regions (SRAM, TCM) are always zero-wait here: stack and state stay there.
- **Instruction fetch** is charged per executed basic block: the block's bytes are fetched in *units*
  (the cache line where a cache fronts the region, else the memory's ``width``). A unit equal to the last
  one fetched costs nothing (the fetch buffer holds it). A unit found in a cache costs nothing. Otherwise
  the unit is read from the memory: a sequential unit on a region with an instruction ``prefetch``
  buffer costs only what the read takes beyond the cycles the core spent executing the previous unit
  (the buffer asked for it meanwhile); any other miss costs the whole fill less the one cycle the
  zero-wait model already counts.
- **Data loads** from a slow region are charged the same way without prefetch (no part we model
  prefetches data): same unit as the last load, or a cache hit: free; else the fill less one cycle.
- **Caches**: size, line, ways, LRU replacement, what they hold (``i``, ``d`` or ``id``) and which
  regions they front; a fill brings the whole line (``line / width`` reads of the region).

Every number of the built-in parts cites its source in ``targets.toml``. What the model leaves out,
said wherever its figures appear: bus contention (DMA, a second core), flash-controller pipelining
across a line boundary beyond the prefetch rule, write buffers, critical-word-first restart of the
core before a line fill completes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from converters.c_placement import PLACEMENTS
from edge_gru.errors import DataError

REGION_KINDS = ("flash", "xip", "mram", "sram", "tcm")
WRITABLE_KINDS = ("sram", "tcm")
IDEAL = "ideal"                 # the name of the zero-wait memory system
ZERO_WAIT = "zero-wait memory (no wait states, no caches)"


@dataclass(frozen=True)
class Region:
    """One memory of the part."""

    name: str
    kind: str                     # flash | xip | mram | sram | tcm
    base: int
    size: int                     # bytes
    read_cycles: float = 1.0      # core cycles of one uncached read of `width` bytes (1 = zero wait)
    width: int = 4                # bytes per read
    prefetch: bool = False        # instruction prefetch of the next sequential unit
    source: str = ""

    @property
    def end(self) -> int:
        return self.base + self.size

    @property
    def writable(self) -> bool:
        return self.kind in WRITABLE_KINDS

    @property
    def zero_wait(self) -> bool:
        return self.read_cycles <= 1

    def contains(self, addr: int, size: int = 1) -> bool:
        """Whether ``[addr, addr + size)`` lies inside the region."""
        return self.base <= addr and addr + size <= self.end


@dataclass(frozen=True)
class CacheSpec:
    """A cache in front of one or more regions."""

    name: str
    size: int                     # bytes
    line: int                     # bytes per line
    ways: int
    holds: str = "id"             # i | d | id
    fronts: tuple[str, ...] = ()  # region names
    enabled: bool = True          # as the vendor's start-up code leaves it
    replacement: str = "lru"
    source: str = ""

    @property
    def sets(self) -> int:
        return self.size // (self.line * self.ways)


@dataclass(frozen=True)
class MemorySystem:
    """The regions and caches of a part, and where the linker puts what."""

    name: str
    regions: tuple[Region, ...]
    caches: tuple[CacheSpec, ...] = ()
    code: str = "flash"           # region of code and constants by default (the vector table is at its base)
    data: str = "sram"            # .data, .bss and the stack
    fast_code: str = "sram"       # placement `ram`: code runs from here
    fast_data: str = "sram"       # placements `weights-ram` and `ram`: the weights live here
    validated: str = ""           # what the model was checked against ("" = modelled, not validated)

    def region(self, name: str) -> Region:
        """The region called ``name``."""
        return next(r for r in self.regions if r.name == name)

    def region_at(self, addr: int) -> Region | None:
        """The region holding ``addr``."""
        return next((r for r in self.regions if r.contains(addr)), None)

    @property
    def ideal(self) -> bool:
        """True when every region is zero-wait: nothing to charge (a cache cannot hide what costs nothing)."""
        return all(r.zero_wait for r in self.regions)

    def describe(self) -> str:
        """One line for reports: the regions with their read cost and the enabled caches."""
        parts = [f"{r.name} {r.kind} {'0 WS' if r.zero_wait else f'{r.read_cycles:g} cycles/{r.width} B'}"
                 for r in self.regions]
        parts += [f"{c.name} {c.size // 1024 if c.size >= 1024 else c.size}{'K' if c.size >= 1024 else ' B'} "
                  f"{c.ways}-way {c.line} B lines ({c.holds})" for c in self.caches if c.enabled]
        return f"{self.name}: " + ", ".join(parts)

    def zero_wait(self) -> MemorySystem:
        """The same address map with every region zero-wait and no cache: the plain cycle model."""
        return replace(self, name=IDEAL, regions=tuple(replace(r, read_cycles=1.0, prefetch=False)
                                                       for r in self.regions),
                       caches=tuple(replace(c, enabled=False) for c in self.caches), validated=ZERO_WAIT)

    def with_caches(self, enabled: bool) -> MemorySystem:
        """The same system with every cache switched on or off."""
        return replace(self, caches=tuple(replace(c, enabled=enabled) for c in self.caches))

    def roomy(self, code_bytes: int, data_bytes: int) -> MemorySystem:
        """The code and data regions grown (for emulation only) to at least the given sizes, never into another
        region: a model that does not fit the part is still measured, and ``fits`` reports the real part."""
        out = []
        for r in self.regions:
            want = code_bytes if r.name == self.code else data_bytes if r.name == self.data else 0
            if want > r.size:
                nxt = min((o.base for o in self.regions if o.base >= r.end and o is not r), default=r.base + want)
                r = replace(r, size=max(r.size, min(want, nxt - r.base)))
            out.append(r)
        return replace(self, regions=tuple(out))


def ideal_memory(flash_bytes: int, ram_bytes: int) -> MemorySystem:
    """Zero-wait flash at 0 and SRAM at 0x20000000: the plain cycle model's assumption."""
    return MemorySystem(IDEAL, (Region("flash", "flash", 0, flash_bytes), Region("sram", "sram", 0x2000_0000,
                                                                                   ram_bytes)),
                        code="flash", data="sram", fast_code="sram", fast_data="sram", validated=ZERO_WAIT)


# --- parsing and checking a targets file's memory tables ----------------------------------------------------

_REGION_KEYS = {"name", "kind", "base", "size_kb", "read_cycles", "width", "prefetch", "source"}
_CACHE_KEYS = {"name", "size", "line", "ways", "holds", "fronts", "enabled", "replacement", "source"}
_MEMORY_KEYS = {"name", "code", "data", "fast_code", "fast_data", "validated", "region", "cache"}


def _num(where: str, key: str, value: object, lo: float, hi: float, integer: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{where}: {key} must be a number, not {value!r}")
    if not math.isfinite(value) or (integer and value != int(value)) or not lo <= value <= hi:
        kind = "a whole number" if integer else "a number"
        raise DataError(f"{where}: {key} = {value!r} must be {kind} from {lo:g} to {hi:g}")
    return int(value) if integer else float(value)


def _str(where: str, key: str, value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 2000:
        raise DataError(f"{where}: {key} must be a non-empty string")
    return value


def _unknown(where: str, raw: dict, allowed: set) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        raise DataError(f"{where}: unknown key {extra[0]!r} (known: {', '.join(sorted(allowed))})")


def _region(where: str, raw: object) -> Region:
    if not isinstance(raw, dict):
        raise DataError(f"{where}: each [[...memory.region]] must be a table")
    _unknown(where, raw, _REGION_KEYS)
    for key in ("name", "kind", "base", "size_kb"):
        if key not in raw:
            raise DataError(f"{where}: a region lacks {key}")
    name = _str(where, "region name", raw["name"])
    w = f"{where}: region {name!r}"
    kind = raw["kind"]
    if kind not in REGION_KINDS:
        raise DataError(f"{w}: kind = {kind!r}; known kinds: {', '.join(REGION_KINDS)}")
    base = _num(w, "base", raw["base"], 0, 0xFFFF_FFFF)
    size = _num(w, "size_kb", raw["size_kb"], 1, 4 * 1024 * 1024) * 1024
    if base + size > 0x1_0000_0000:
        raise DataError(f"{w}: base + size_kb runs past the 4 GB address space")
    read = _num(w, "read_cycles", raw.get("read_cycles", 1), 1, 10_000, integer=False)
    width = _num(w, "width", raw.get("width", 4), 1, 64)
    if width & (width - 1):
        raise DataError(f"{w}: width = {width} must be a power of two")
    if kind in WRITABLE_KINDS and read != 1:
        raise DataError(f"{w}: read_cycles = {read:g}: SRAM and TCM regions are modelled zero-wait (1)")
    prefetch = raw.get("prefetch", False)
    if not isinstance(prefetch, bool):
        raise DataError(f"{w}: prefetch must be true or false")
    return Region(name, kind, base, size, read, width, prefetch, str(raw.get("source", "")))


def _cache(where: str, raw: object, regions: dict[str, Region]) -> CacheSpec:
    if not isinstance(raw, dict):
        raise DataError(f"{where}: each [[...memory.cache]] must be a table")
    _unknown(where, raw, _CACHE_KEYS)
    for key in ("name", "size", "line", "ways", "fronts"):
        if key not in raw:
            raise DataError(f"{where}: a cache lacks {key}")
    name = _str(where, "cache name", raw["name"])
    w = f"{where}: cache {name!r}"
    size = _num(w, "size", raw["size"], 1, 64 * 1024 * 1024)
    line = _num(w, "line", raw["line"], 1, 1024)
    ways = _num(w, "ways", raw["ways"], 1, 64)
    if line & (line - 1):
        raise DataError(f"{w}: line = {line} must be a power of two")
    if size % (line * ways):
        raise DataError(f"{w}: size = {size} is not a whole number of sets of {ways} x {line}-byte lines")
    holds = raw.get("holds", "id")
    if holds not in ("i", "d", "id"):
        raise DataError(f"{w}: holds = {holds!r} must be 'i' (instructions), 'd' (data) or 'id' (both)")
    fronts = raw["fronts"]
    if not isinstance(fronts, list) or not fronts or not all(isinstance(f, str) for f in fronts):
        raise DataError(f"{w}: fronts must be a list of region names")
    for f in fronts:
        if f not in regions:
            raise DataError(f"{w}: fronts names {f!r}, which is no region of this target")
        if regions[f].writable:
            raise DataError(f"{w}: fronts {f!r}, an SRAM/TCM region (modelled zero-wait, nothing to cache)")
        if size > regions[f].size:
            raise DataError(f"{w}: size = {size} bytes is larger than the memory it caches ({f!r}, "
                            f"{regions[f].size} bytes)")
        if line % regions[f].width:
            raise DataError(f"{w}: line = {line} is not a whole number of {f!r}'s {regions[f].width}-byte reads")
    if raw.get("replacement", "lru") != "lru":
        raise DataError(f"{w}: replacement = {raw['replacement']!r}; only 'lru' is modelled")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise DataError(f"{w}: enabled must be true or false")
    return CacheSpec(name, size, line, ways, holds, tuple(fronts), enabled, "lru", str(raw.get("source", "")))


def parse_memory(where: str, raw: object) -> MemorySystem:
    """Check and build a target's ``[NAME.memory]`` table; every problem is one line naming the key.

    Raises:
        DataError: Unknown or missing keys, overlapping regions, a cache larger than its memory, negative or
            out-of-range numbers, a placement region that does not exist.
    """
    where = f"{where}.memory"
    if not isinstance(raw, dict):
        raise DataError(f"{where} must be a table")
    _unknown(where, raw, _MEMORY_KEYS)
    regions_raw = raw.get("region")
    if not isinstance(regions_raw, list) or not regions_raw:
        raise DataError(f"{where}: needs at least one [[...memory.region]]")
    regions = [_region(where, r) for r in regions_raw]
    by_name: dict[str, Region] = {}
    for r in regions:
        if r.name in by_name:
            raise DataError(f"{where}: two regions are called {r.name!r}")
        by_name[r.name] = r
    ordered = sorted(regions, key=lambda r: r.base)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.base < a.end:
            raise DataError(f"{where}: regions {a.name!r} and {b.name!r} overlap ({a.base:#x}-{a.end:#x} and "
                            f"{b.base:#x}-{b.end:#x})")
    caches_raw = raw.get("cache", [])
    if not isinstance(caches_raw, list):
        raise DataError(f"{where}: cache must be an array of tables [[...memory.cache]]")
    caches = tuple(_cache(where, c, by_name) for c in caches_raw)
    roles = {}
    for key, default in (("code", None), ("data", None), ("fast_code", "data"), ("fast_data", "data")):
        value = raw.get(key, roles.get(default) if default else None)
        if value is None:
            raise DataError(f"{where}: lacks {key} (the region name where the linker puts it)")
        if value not in by_name:
            raise DataError(f"{where}: {key} = {value!r} is no region of this target")
        roles[key] = value
    for key in ("data", "fast_data", "fast_code"):
        if not by_name[roles[key]].writable:
            raise DataError(f"{where}: {key} = {roles[key]!r} must be an SRAM or TCM region")
    if by_name[roles["code"]].writable:
        raise DataError(f"{where}: code = {roles['code']!r} must be the part's non-volatile memory "
                        "(flash, xip or mram)")
    name = raw.get("name", "memory")
    return MemorySystem(_str(where, "name", name), tuple(regions), caches, code=roles["code"], data=roles["data"],
                        fast_code=roles["fast_code"], fast_data=roles["fast_data"],
                        validated=str(raw.get("validated", "")))


# --- state during a run -------------------------------------------------------------------------------------

class Cache:
    """An LRU set-associative cache's tags: :meth:`access` says hit or miss and updates the state."""

    def __init__(self, spec: CacheSpec) -> None:
        self.spec = spec
        self.shift = spec.line.bit_length() - 1
        self.nsets = spec.sets
        self.sets: list[list[int]] = [[] for _ in range(self.nsets)]   # tags, most recently used first
        self.hits = 0
        self.misses = 0

    def access(self, line: int) -> bool:
        """Look line number ``line`` (address >> log2(line size)) up; on a miss, fill it (evicting the LRU way)."""
        s = self.sets[line % self.nsets]
        tag = line // self.nsets
        if s and s[0] == tag:
            self.hits += 1
            return True
        if tag in s:
            s.remove(tag)
            s.insert(0, tag)
            self.hits += 1
            return True
        self.misses += 1
        s.insert(0, tag)
        if len(s) > self.spec.ways:
            s.pop()
        return False


@dataclass
class _Side:
    """The fetch or load path of one region: its unit, the cache in front, the last unit read."""

    shift: int
    cache: Cache | None
    fill: float                   # cycles to read one unit from the region
    last: int = -2
    last_misses: int = -1         # the cache's miss count when `last` was read (a later fill may evict it)


@dataclass
class MemoryStats:
    """What the memory did during a run."""

    fetch_stall: float = 0.0
    load_stall: float = 0.0
    loads: int = 0
    cache: dict[str, tuple[int, int]] = field(default_factory=dict)    # name -> (hits, misses)


class MemoryState:
    """A memory system's state across one run: call :meth:`fetch` for each executed block and :meth:`load`
    for each data read of a slow region; each returns the stall cycles on top of the zero-wait model."""

    def __init__(self, system: MemorySystem) -> None:
        self.system = system
        self.caches = {c.name: Cache(c) for c in system.caches if c.enabled}
        self.slow = [r for r in system.regions if not r.zero_wait]
        self._i: dict[str, _Side] = {}
        self._d: dict[str, _Side] = {}
        for r in self.slow:
            for side, store in (("i", self._i), ("d", self._d)):
                cache = next((self.caches[c.name] for c in system.caches
                              if c.enabled and r.name in c.fronts and side in c.holds), None)
                unit = cache.spec.line if cache is not None else r.width
                store[r.name] = _Side(unit.bit_length() - 1, cache, unit // r.width * r.read_cycles)
        self.stats = MemoryStats()

    def fetch(self, region: Region, start: int, end: int, cycles: float) -> float:
        """Stall cycles of fetching the block ``[start, end)`` of ``region`` that executes in ``cycles``."""
        side = self._i[region.name]
        shift, cache = side.shift, side.cache
        first, last = start >> shift, (end - 1) >> shift
        per_unit = cycles * (1 << shift) / max(end - start, 1)
        stall = 0.0
        for u in range(first, last + 1):
            if u == side.last and (cache is None or cache.misses == side.last_misses):
                continue
            sequential = u == side.last + 1
            side.last = u
            if cache is not None and cache.access(u):
                side.last_misses = cache.misses
                continue
            side.last_misses = cache.misses if cache is not None else -1
            if sequential and region.prefetch:
                stall += max(0.0, side.fill - per_unit)
            else:
                stall += side.fill - 1
        self.stats.fetch_stall += stall
        return stall

    def load(self, region: Region, addr: int) -> float:
        """Stall cycles of a data read at ``addr`` in ``region``."""
        side = self._d[region.name]
        u = addr >> side.shift
        cache = side.cache
        self.stats.loads += 1
        if u == side.last and (cache is None or cache.misses == side.last_misses):
            return 0.0
        side.last = u
        if cache is not None and cache.access(u):
            side.last_misses = cache.misses
            return 0.0
        side.last_misses = cache.misses if cache is not None else -1
        self.stats.load_stall += side.fill - 1
        return side.fill - 1

    def finish(self) -> MemoryStats:
        """The run's statistics."""
        self.stats.cache = {n: (c.hits, c.misses) for n, c in self.caches.items()}
        return self.stats


__all__ = ["IDEAL", "PLACEMENTS", "Cache", "CacheSpec", "MemoryState", "MemoryStats",
           "MemorySystem", "Region", "ideal_memory", "parse_memory"]
