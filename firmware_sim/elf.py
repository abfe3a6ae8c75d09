"""Read what the emulator and the memory report need from an ELF file."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

from edge_gru.errors import ModelFileError


@dataclass
class ElfImage:
    """Loadable segments, symbols and section sizes of a 32-bit Arm ELF."""

    segments: list[tuple[int, bytes, int]]            # (address, bytes, memory size)
    symbols: dict[str, int]                           # every named symbol -> address
    functions: list[tuple[int, int, str]]             # (start, size, name), sorted
    sections: dict[str, int] = field(default_factory=dict)   # section name -> size (allocated only)
    comment: str = ""                                 # the .comment section: which compiler(s) built it
    addresses: dict[str, int] = field(default_factory=dict)  # section name -> run address (allocated only)
    path: str = ""                                    # the file it was read from
    _starts: list[int] = field(default_factory=list, repr=False)

    def function_at(self, addr: int) -> str:
        """The function containing ``addr`` (``?`` outside every function)."""
        if not self._starts:
            self._starts = [f[0] for f in self.functions]
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0:
            start, size, name = self.functions[i]
            if addr < start + max(size, 2):
                return name
        return "?"

    def sizes(self) -> dict[str, int]:
        """Bytes in ``text`` (code, vectors, unwind tables), ``rodata``, ``data`` and ``bss``."""
        out = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
        for name, size in self.sections.items():
            key = _section_class(name)
            if key:
                out[key] += size
        return out

    def copied_to_ram(self, is_writable) -> int:
        """Bytes of code and constants that run from RAM (copied there at start-up from their flash image):
        sections of the text and rodata classes whose run address ``is_writable(addr)`` says is RAM."""
        return sum(size for name, size in self.sections.items()
                   if _section_class(name) in ("text", "rodata") and is_writable(self.addresses.get(name, 0)))


def _section_class(name: str) -> str | None:
    if name.startswith((".text", ".isr_vector", ".ARM.exidx", ".ARM.extab", ".boot")):
        return "text"
    if name.startswith((".rodata", ".eg_weights")):
        return "rodata"
    if name.startswith(".data"):
        return "data"
    if name.startswith((".bss", "COMMON")):
        return "bss"
    return None


def read_elf(path: str | Path) -> ElfImage:
    """Parse ``path``.

    Raises:
        ModelFileError: Missing, not an ELF, or not a 32-bit little-endian Arm executable/object.
    """
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file")
    try:
        with open(path, "rb") as fh:
            elf = ELFFile(fh)
            if elf["e_machine"] != "EM_ARM" or elf.elfclass != 32 or not elf.little_endian:
                raise ModelFileError(f"{path}: not a 32-bit little-endian Arm ELF (machine {elf['e_machine']})")
            segments = [(s["p_paddr"], s.data(), s["p_memsz"]) for s in elf.iter_segments()
                        if s["p_type"] == "PT_LOAD" and s["p_memsz"]]
            sections = {s.name: s["sh_size"] for s in elf.iter_sections() if s["sh_flags"] & 0x2}  # SHF_ALLOC
            addresses = {s.name: s["sh_addr"] for s in elf.iter_sections() if s["sh_flags"] & 0x2}
            if elf["e_type"] == "ET_REL":
                sections = {s.name: s["sh_size"] for s in elf.iter_sections()
                            if s["sh_flags"] & 0x2 and s["sh_type"] in ("SHT_PROGBITS", "SHT_NOBITS", "SHT_ARM_EXIDX")}
            symbols: dict[str, int] = {}
            functions: list[tuple[int, int, str]] = []
            symtab = elf.get_section_by_name(".symtab")
            for sym in symtab.iter_symbols() if symtab is not None else ():
                if not sym.name:
                    continue
                symbols[sym.name] = sym["st_value"]
                if sym["st_info"]["type"] == "STT_FUNC":
                    functions.append((sym["st_value"] & ~1, sym["st_size"], sym.name))
            note = elf.get_section_by_name(".comment")
            comment = "; ".join(dict.fromkeys(
                c.decode("latin-1").strip() for c in (note.data().split(b"\0") if note is not None else ())
                if c.strip()))
    except ELFError as exc:
        raise ModelFileError(f"{path}: not a valid ELF file ({exc})") from exc
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path}: cannot read ELF ({exc})") from exc
    functions.sort()
    return ElfImage(segments, symbols, functions, sections, comment, addresses, path=str(path))


__all__ = ["ElfImage", "read_elf"]
