"""Microcontroller targets, kept as data in ``targets.toml`` (users add their own file)."""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from edge_gru.errors import DataError, ModelFileError
from firmware_sim.memory import MemorySystem, ideal_memory, parse_memory

BUILTIN = Path(__file__).with_name("targets.toml")
CORES = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")


@dataclass(frozen=True)
class Target:
    """One microcontroller: core, clock and the memory an application may use."""

    name: str
    part: str
    core: str
    clock_mhz: float
    flash_kb: int
    ram_kb: int
    fpu: bool = False
    memory: MemorySystem | None = field(default=None, compare=False)   # None: zero-wait flash and SRAM

    def __post_init__(self) -> None:
        if self.memory is None:
            object.__setattr__(self, "memory", ideal_memory(self.flash_bytes, self.ram_bytes))

    @property
    def flash_bytes(self) -> int:
        return self.flash_kb * 1024

    @property
    def ram_bytes(self) -> int:
        return self.ram_kb * 1024

    def as_dict(self) -> dict:
        """The target as a JSON-ready dictionary (the memory system by name and one descriptive line)."""
        d = asdict(self)
        d["memory"] = self.memory.name
        d["memory_description"] = self.memory.describe()
        return d

    def ideal(self) -> Target:
        """The same part with zero-wait memory (the plain cycle model, for comparison)."""
        return replace(self, memory=self.memory.zero_wait())

    def roomy(self, flash_bytes: int = 16 << 20, ram_bytes: int = 4 << 20) -> Target:
        """The part with its code and data regions grown for emulation, so a model that does not fit is still
        measured (``fits`` compares the measured sizes with the real part)."""
        return replace(self, flash_kb=max(self.flash_kb, flash_bytes // 1024),
                       ram_kb=max(self.ram_kb, ram_bytes // 1024), memory=self.memory.roomy(flash_bytes, ram_bytes))


def uses_qemu(target: Target) -> bool:
    """Whether the target's firmware runs on QEMU (the Cortex-M55 with Helium) rather than unicorn."""
    return target.core == "cortex-m55"


# Limits of a targets file: a clock no Cortex-M reaches, the Cortex-M code region (512 MB) for flash, and 64 MB of
# RAM (the emulator maps and paints it).
MAX_CLOCK_MHZ = 10_000
MAX_FLASH_KB = 512 * 1024
MAX_RAM_KB = 64 * 1024


def _parse(path: Path) -> dict[str, Target]:
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ModelFileError(f"{path}: no such targets file") from exc
    except IsADirectoryError as exc:
        raise ModelFileError(f"{path}: is a directory; give a TOML targets file") from exc
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the targets file ({exc.strerror})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: not a valid TOML targets file ({exc})") from exc
    out: dict[str, Target] = {}
    for name, t in raw.items():
        if not isinstance(t, dict):
            raise DataError(f"{path}: {name!r} must be a table like [name] with core, clock_mhz, flash_kb, ram_kb")
        missing = [k for k in ("core", "clock_mhz", "flash_kb", "ram_kb") if k not in t]
        if missing:
            raise DataError(f"{path}: target {name!r} lacks {', '.join(missing)}")
        if t["core"] not in CORES:
            raise DataError(f"{path}: target {name!r} has core {t['core']!r}; known cores: {', '.join(CORES)}")
        bools = [k for k in ("clock_mhz", "flash_kb", "ram_kb") if isinstance(t[k], bool)]
        if bools:
            raise DataError(f"{path}: target {name!r}: {bools[0]} must be a number, not {t[bools[0]]}")
        memory = parse_memory(f"{path}: target {name!r}", t["memory"]) if "memory" in t else None
        try:
            tgt = Target(name=name, part=str(t.get("part", name)), core=t["core"], clock_mhz=float(t["clock_mhz"]),
                         flash_kb=int(t["flash_kb"]), ram_kb=int(t["ram_kb"]), fpu=bool(t.get("fpu", False)),
                         memory=memory)
        except (TypeError, ValueError, OverflowError) as exc:       # int(inf) is an OverflowError
            raise DataError(f"{path}: target {name!r}: clock_mhz, flash_kb and ram_kb must be finite numbers "
                            f"({exc})") from None
        if tgt.clock_mhz <= 0 or tgt.flash_kb <= 0 or tgt.ram_kb <= 0:
            raise DataError(f"{path}: target {name!r}: clock, flash and RAM must be positive")
        limits = (("clock_mhz", tgt.clock_mhz, MAX_CLOCK_MHZ), ("flash_kb", tgt.flash_kb, MAX_FLASH_KB),
                  ("ram_kb", tgt.ram_kb, MAX_RAM_KB))
        for field_, value, limit in limits:
            if not math.isfinite(value) or value > limit:
                raise DataError(f"{path}: target {name!r}: {field_} = {value} is not a number up to {limit:,}")
        if memory is not None:
            _check_budget(path, tgt)
        out[name] = tgt
    return out


def _check_budget(path: Path, tgt: Target) -> None:
    """flash_kb and ram_kb must fit the memory regions they describe."""
    mem = tgt.memory
    code = mem.region(mem.code)
    if tgt.flash_bytes > code.size:
        raise DataError(f"{path}: target {tgt.name!r}: flash_kb = {tgt.flash_kb} is larger than the code region "
                        f"{code.name!r} ({code.size // 1024} KB)")
    writable = sum(r.size for r in mem.regions if r.writable)
    if tgt.ram_bytes > writable:
        raise DataError(f"{path}: target {tgt.name!r}: ram_kb = {tgt.ram_kb} is more than its SRAM and TCM regions "
                        f"({writable // 1024} KB)")


def load_targets(extra: str | Path | None = None) -> dict[str, Target]:
    """The built-in targets, updated by the targets in ``extra`` (a TOML file) when given."""
    targets = _parse(BUILTIN)
    if extra is not None:
        targets.update(_parse(Path(extra)))
    return targets


def get_target(name: str, extra: str | Path | None = None) -> Target:
    """Look a target up by name.

    Raises:
        DataError: No target of that name.
    """
    targets = load_targets(extra)
    if name not in targets:
        raise DataError(f"unknown target {name!r}; known: {', '.join(targets)} (see `edge-gru targets`)")
    return targets[name]


__all__ = ["CORES", "Target", "get_target", "load_targets", "uses_qemu"]
