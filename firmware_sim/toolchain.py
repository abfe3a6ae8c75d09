"""Cross-compile C sources for a Cortex-M core: startup code, linker script, ELF.

Uses ``arm-none-eabi-gcc`` when it is on PATH, else the pip-installable ``ziglang`` clang
(``python -m ziglang cc``), so ``pip install`` alone is enough.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from edge_gru.errors import EdgeGruError, ToolMissingError
from firmware_sim.targets import Target

FLASH_BASE = 0x00000000
RAM_BASE = 0x20000000
IO_BASE = 0x60000000          # emulator-only I/O window (inputs, outputs, marks); not target memory
STACK_PAINT = 0xC5C5C5C5

# Core -> (compile-for core, emulated core). The M55 runs its scalar+DSP build on the M33 model.
BUILD_CORE = {"cortex-m0plus": "cortex-m0plus", "cortex-m3": "cortex-m3", "cortex-m4": "cortex-m4",
              "cortex-m7": "cortex-m7", "cortex-m33": "cortex-m33", "cortex-m55": "cortex-m33"}

STARTUP_C = r"""/* edge-gru firmware_sim startup: vector table, .data/.bss init, semihosting. Generated. */
#include <stddef.h>
#include <stdint.h>
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

int eg_semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void eg_exit(int code)
{
    uint32_t args[2] = {0x20026u, (uint32_t)code};   /* ADP_Stopped_ApplicationExit */
    eg_semihost(0x18, args);                          /* SYS_EXIT */
    for (;;) {}
}

void eg_puts(const char *s) { eg_semihost(0x04, s); } /* SYS_WRITE0 */
void eg_putc(char c) { eg_semihost(0x03, &c); }       /* SYS_WRITEC */

void Reset_Handler(void)
{
    uint32_t *s = &_sidata, *d = &_sdata;
    while (d < &_edata) *d++ = *s++;
    for (d = &_sbss; d < &_ebss;) *d++ = 0;
    eg_exit(main());
}

void Default_Handler(void) { eg_exit(255); }

__attribute__((section(".isr_vector"), used)) void (*const eg_vectors[16])(void) = {
    (void (*)(void))(&_estack), Reset_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, 0, 0, 0, 0, Default_Handler, Default_Handler, 0,
    Default_Handler, Default_Handler};

/* The compiler may emit calls to these even in freestanding code. */
void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *a = dst;
    const unsigned char *b = src;
    while (n--) *a++ = *b++;
    return dst;
}
void *memset(void *dst, int c, size_t n)
{
    unsigned char *a = dst;
    while (n--) *a++ = (unsigned char)c;
    return dst;
}
void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *a = dst;
    const unsigned char *b = src;
    if (a < b) { while (n--) *a++ = *b++; }
    else { while (n--) a[n] = b[n]; }
    return dst;
}
"""


def linker_script(target: Target) -> str:
    """A GNU ld / lld script for the target's memory map (flash at 0, RAM at 0x20000000)."""
    return f"""/* edge-gru firmware_sim linker script for {target.name} ({target.part}). Generated. */
ENTRY(Reset_Handler)
MEMORY {{
  FLASH (rx) : ORIGIN = {FLASH_BASE:#x}, LENGTH = {target.flash_kb}K
  RAM (rwx)  : ORIGIN = {RAM_BASE:#x}, LENGTH = {target.ram_kb}K
}}
_estack = ORIGIN(RAM) + LENGTH(RAM);
SECTIONS {{
  .isr_vector : {{ KEEP(*(.isr_vector)) }} > FLASH
  .text : {{ *(.text*) }} > FLASH
  .rodata : {{ *(.rodata*) }} > FLASH
  .ARM.exidx : {{ *(.ARM.exidx*) }} > FLASH
  _sidata = LOADADDR(.data);
  .data : {{ . = ALIGN(4); _sdata = .; *(.data*) . = ALIGN(4); _edata = .; }} > RAM AT > FLASH
  .bss (NOLOAD) : {{ . = ALIGN(4); _sbss = .; *(.bss*) *(COMMON) . = ALIGN(4); _ebss = .; }} > RAM
}}
"""


@dataclass(frozen=True)
class Compiler:
    """A cross compiler command line prefix and its kind (``gcc`` or ``zig``)."""

    kind: str
    argv: tuple[str, ...]

    def cpu_flags(self, core: str) -> list[str]:
        core = BUILD_CORE[core]
        if self.kind == "gcc":
            return [f"-mcpu={core}", "-mthumb", "-mfloat-abi=soft"]
        # zig's cortex_m33 leaves out the DSP extension that every M33 part we list has
        cpu = core.replace("-", "_") + ("+dsp" if core == "cortex-m33" else "")
        return ["-target", "thumb-freestanding-eabi", f"-mcpu={cpu}"]

    def link_flags(self) -> list[str]:
        if self.kind == "gcc":
            return ["-nostdlib", "-nostartfiles"]
        return []

    def link_libs(self) -> list[str]:
        return ["-lgcc"] if self.kind == "gcc" else []


def find_compiler() -> Compiler:
    """``arm-none-eabi-gcc`` if on PATH (or ``$EDGE_GRU_ARM_CC``), else ``python -m ziglang cc``.

    Raises:
        ToolMissingError: Neither is available.
    """
    env = os.environ.get("EDGE_GRU_ARM_CC")
    if env:
        kind = "zig" if "zig" in Path(env.split()[0]).name else "gcc"
        return Compiler(kind, tuple(env.split()))
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc:
        return Compiler("gcc", (gcc,))
    if importlib.util.find_spec("ziglang") is not None:
        return Compiler("zig", (sys.executable, "-m", "ziglang", "cc"))
    raise ToolMissingError("no Arm cross-compiler: install arm-none-eabi-gcc or `pip install ziglang`")


COMMON_FLAGS = ("-std=c99", "-O2", "-fomit-frame-pointer", "-ffreestanding", "-fno-common", "-ffunction-sections",
                "-fdata-sections", "-fno-unwind-tables", "-fno-asynchronous-unwind-tables", "-Wall", "-Wextra")


def _run(cmd: list[str], what: str) -> None:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as exc:
        raise EdgeGruError(f"{what}: the cross-compiler timed out") from exc
    if p.returncode != 0:
        lines = [ln for ln in p.stderr.strip().splitlines() if "error" in ln.lower()] or p.stderr.strip().splitlines()
        raise EdgeGruError(f"{what} failed: {lines[0] if lines else 'exit ' + str(p.returncode)}")


def build_elf(sources: list[Path], target: Target, out_dir: Path, name: str = "firmware",
              include_dirs: tuple[Path, ...] = (), defines: tuple[str, ...] = ()) -> Path:
    """Compile and link ``sources`` with generated startup code for ``target``; returns the ELF path."""
    cc = find_compiler()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "startup.c").write_text(STARTUP_C)
    (out_dir / "link.ld").write_text(linker_script(target))
    elf = out_dir / f"{name}.elf"
    cmd = [*cc.argv, *cc.cpu_flags(target.core), *COMMON_FLAGS, *(f"-I{d}" for d in include_dirs),
           *(f"-D{d}" for d in defines), *cc.link_flags(), f"-Wl,-T,{out_dir / 'link.ld'}", "-Wl,--gc-sections",
           "-o", str(elf), str(out_dir / "startup.c"), *map(str, sources), *cc.link_libs()]
    _run(cmd, f"cross-compiling for {target.core}")
    return elf


def compile_object(source: Path, core: str, out: Path, include_dirs: tuple[Path, ...] = ()) -> Path:
    """Compile one C file to an object for ``core`` (used for per-object section sizes)."""
    cc = find_compiler()
    cmd = [*cc.argv, *cc.cpu_flags(core), *COMMON_FLAGS, *(f"-I{d}" for d in include_dirs), "-c", "-o", str(out),
           str(source)]
    _run(cmd, f"compiling {source.name} for {core}")
    return out


__all__ = ["BUILD_CORE", "Compiler", "FLASH_BASE", "IO_BASE", "RAM_BASE", "STACK_PAINT", "build_elf",
           "compile_object", "find_compiler", "linker_script"]
