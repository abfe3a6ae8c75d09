"""Cross-compile C sources for a Cortex-M core: startup code, linker script, ELF.

One compiler builds every emulated figure, and it is named wherever the figure appears. The default
is the same on every machine: the clang inside the pip package ``ziglang`` (its version pinned in
``pyproject.toml``), run as ``python -m ziglang cc``. Another compiler is used only when asked for:
``--cc gcc|zig|COMMAND`` on the commands that build firmware, or ``$EDGE_GRU_ARM_CC`` (a command line,
split like a shell would). Whatever is on PATH never decides a figure silently.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from edge_gru.errors import EdgeGruError, ToolMissingError
from firmware_sim.memory import PLACEMENTS
from firmware_sim.targets import Target

FLASH_BASE = 0x00000000
RAM_BASE = 0x20000000
IO_BASE = 0x60000000          # emulator-only I/O window (inputs, outputs, marks); not target memory
STACK_PAINT = 0xC5C5C5C5

# Core -> the core the firmware is compiled for (the M55 build has Helium: MVE integer instructions).
BUILD_CORE = {"cortex-m0plus": "cortex-m0plus", "cortex-m3": "cortex-m3", "cortex-m4": "cortex-m4",
              "cortex-m7": "cortex-m7", "cortex-m33": "cortex-m33", "cortex-m55": "cortex-m55"}

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

#ifdef EG_QEMU
/* QEMU builds: the host reads nothing back from memory, so at exit the program writes the I/O window (its first
 * io[0x7C] bytes) and then the stack region (_ebss to _estack, painted by the host: it measures the peak stack)
 * to the file named at io + 0x80. */
extern uint32_t _ebss;
static void eg_dump_io(void)
{
    volatile uint32_t *io = (volatile uint32_t *)0x60000000u;
    if (io[0x7C / 4]) {
        const char *path = (const char *)0x60000080u;
        uint32_t n = 0, open_args[3], rw[3];
        while (n < 127 && path[n]) ++n;
        open_args[0] = (uint32_t)path;
        open_args[1] = 5u;                            /* "wb" */
        open_args[2] = n;
        rw[0] = (uint32_t)eg_semihost(0x01, open_args);   /* SYS_OPEN */
        rw[1] = 0x60000000u;
        rw[2] = io[0x7C / 4];
        eg_semihost(0x05, rw);                        /* SYS_WRITE: the I/O window */
        rw[1] = (uint32_t)&_ebss;
        rw[2] = (uint32_t)((const char *)&_estack - (const char *)&_ebss);
        eg_semihost(0x05, rw);                        /* SYS_WRITE: the stack region */
        eg_semihost(0x02, rw);                        /* SYS_CLOSE */
    }
}
#endif

void eg_exit(int code)
{
    uint32_t args[2] = {0x20026u, (uint32_t)code};   /* ADP_Stopped_ApplicationExit, exit status */
#ifdef EG_QEMU
    eg_dump_io();
#endif
    eg_semihost(0x20, args);                          /* SYS_EXIT_EXTENDED */
    for (;;) {}
}

void eg_puts(const char *s) { eg_semihost(0x04, s); } /* SYS_WRITE0 */
void eg_putc(char c) { eg_semihost(0x03, &c); }       /* SYS_WRITEC */

/* Runs from the part's flash (.boot): copies what the linker placed in RAM (code and constants under
 * --placement ram, then .data), clears .bss. The empty asm keeps the loops from becoming memcpy calls,
 * which may themselves live in RAM not yet copied. */
extern uint32_t _sitext, _stext_run, _etext_copy, _sirodata, _srodata_run, _erodata_copy;
static void eg_copy(uint32_t *s, uint32_t *d, const uint32_t *e)
{
    while (d < e) { *d++ = *s++; __asm__ volatile(""); }
}

#ifdef EG_QEMU
extern void (*const eg_vectors[16])(void);
#endif

__attribute__((section(".boot"))) void Reset_Handler(void)
{
    uint32_t *d;
#ifdef EG_QEMU
    /* QEMU starts from a copy of the first two vectors at 0: point VTOR at the table, give the core access to
     * the vector unit (CPACR CP10/CP11: MVE); the host painted the stack (eg_exit measures it) */
    *(volatile uint32_t *)0xE000ED08u = (uint32_t)eg_vectors;
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    eg_copy(&_sitext, &_stext_run, &_etext_copy);       /* the linker sets *_copy = start when not moved */
    eg_copy(&_sirodata, &_srodata_run, &_erodata_copy);
    eg_copy(&_sidata, &_sdata, &_edata);
    for (d = &_sbss; d < &_ebss;) { *d++ = 0; __asm__ volatile(""); }
    eg_exit(main());
}

void Default_Handler(void) { eg_exit(255); }

__attribute__((section(".isr_vector"), used)) void (*const eg_vectors[16])(void) = {
    (void (*)(void))(&_estack), Reset_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, 0, 0, 0, 0, Default_Handler, Default_Handler, 0,
    Default_Handler, Default_Handler};

/* The compiler may emit calls to these even in freestanding code. Word-wise where the pointers
 * allow it (same alignment), so a program's copies are not charged byte loops it would not have
 * with a C library. The empty asm keeps the compiler from turning a loop back into a call. */
typedef uint32_t __attribute__((may_alias)) eg_word;
#define EG_BARRIER() __asm__ volatile("")

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *a = dst;
    const unsigned char *b = src;
    if ((((uintptr_t)a ^ (uintptr_t)b) & 3u) == 0) {
        while (n && ((uintptr_t)a & 3u)) { *a++ = *b++; --n; EG_BARRIER(); }
        eg_word *wa = (eg_word *)(void *)a;
        const eg_word *wb = (const eg_word *)(const void *)b;
        for (; n >= 16; n -= 16) {
            eg_word w0 = wb[0], w1 = wb[1], w2 = wb[2], w3 = wb[3];
            wa[0] = w0; wa[1] = w1; wa[2] = w2; wa[3] = w3;
            wa += 4; wb += 4;
            EG_BARRIER();
        }
        for (; n >= 4; n -= 4) { *wa++ = *wb++; EG_BARRIER(); }
        a = (unsigned char *)wa;
        b = (const unsigned char *)wb;
    }
    while (n--) { *a++ = *b++; EG_BARRIER(); }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *a = dst;
    uint32_t w = (unsigned char)c * 0x01010101u;
    while (n && ((uintptr_t)a & 3u)) { *a++ = (unsigned char)c; --n; EG_BARRIER(); }
    eg_word *wa = (eg_word *)(void *)a;
    for (; n >= 16; n -= 16) { wa[0] = w; wa[1] = w; wa[2] = w; wa[3] = w; wa += 4; EG_BARRIER(); }
    for (; n >= 4; n -= 4) { *wa++ = w; EG_BARRIER(); }
    a = (unsigned char *)wa;
    while (n--) { *a++ = (unsigned char)c; EG_BARRIER(); }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *a = dst;
    const unsigned char *b = src;
    if (a <= b || a >= b + n) return memcpy(dst, src, n);
    a += n;
    b += n;
    if ((((uintptr_t)a ^ (uintptr_t)b) & 3u) == 0) {
        while (n && ((uintptr_t)a & 3u)) { *--a = *--b; --n; EG_BARRIER(); }
        eg_word *wa = (eg_word *)(void *)a;
        const eg_word *wb = (const eg_word *)(const void *)b;
        for (; n >= 4; n -= 4) { *--wa = *--wb; EG_BARRIER(); }
        a = (unsigned char *)wa;
        b = (const unsigned char *)wb;
    }
    while (n--) { *--a = *--b; EG_BARRIER(); }
    return dst;
}

/* Cycle marks: each call records the emulated cycle count (simulate --elf --json lists them with
 * the cycles between consecutive marks), so a program can time a region of itself. */
void eg_mark(uint32_t id)
{
    *(volatile uint32_t *)0x60000010u = id;
#ifdef EG_QEMU
    {   /* QEMU builds: the first 10 mark values are logged at 0x60000040 (count, values) for the host */
        volatile uint32_t *log = (volatile uint32_t *)0x60000040u;
        uint32_t n = log[0];
        if (n < 10) log[1 + n] = id;
        log[0] = n + 1;
    }
#endif
}
"""


def linker_script(target: Target, placement: str = "flash") -> str:
    """A GNU ld / lld script for the target's memory system and a placement (see :data:`PLACEMENTS`).

    The vector table and start-up code stay at the code region's base. ``weights-ram`` runs the model's
    ``.eg_weights`` sections (``converters/c_export.py``) from the fast data region; ``ram`` also runs ``.text``
    from the fast code region and ``.rodata`` from the fast data region, copied there at start-up.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}")
    mem = target.memory
    used = dict.fromkeys([mem.code, mem.data, mem.fast_code, mem.fast_data])
    names = {r: r.upper().replace("-", "_") for r in used}
    lines = [f"  {names[r]} ({'rx' if r == mem.code else 'rwx'}) : ORIGIN = {mem.region(r).base:#x}, "
             f"LENGTH = {mem.region(r).size}" for r in used]
    code, data = names[mem.code], names[mem.data]

    def place(region: str) -> str:
        return f"> {code}" if region == mem.code else f"> {names[region]} AT > {code}"

    text = place(mem.fast_code if placement == "ram" else mem.code)
    rodata = place(mem.fast_data if placement == "ram" else mem.code)
    weights = place(mem.code if placement == "flash" else mem.fast_data)
    memory = "\n".join(lines)
    return f"""/* edge-gru firmware_sim linker script for {target.name} ({target.part}), memory {mem.name}, placement
 * {placement}. Generated. */
ENTRY(Reset_Handler)
MEMORY {{
{memory}
}}
_estack = ORIGIN({data}) + LENGTH({data});
SECTIONS {{
  .isr_vector : {{ KEEP(*(.isr_vector)) }} > {code}
  .boot : {{ *(.boot .boot.*) }} > {code}
  .ARM.exidx : {{ *(.ARM.exidx*) }} > {code}
  .text : ALIGN(4) {{ _stext_run = .; *(.text*) . = ALIGN(4); _etext_run = .; }} {text}
  _sitext = LOADADDR(.text);
  _etext_copy = {"_etext_run" if text != f"> {code}" else "_stext_run"};
  .rodata : ALIGN(4) {{ _srodata_run = .; *(.rodata*) . = ALIGN(4); _erodata_run = .; }} {rodata}
  _sirodata = LOADADDR(.rodata);
  _erodata_copy = {"_erodata_run" if rodata != f"> {code}" else "_srodata_run"};
  .eg_weights : ALIGN(4) {{ __eg_weights_start = .; KEEP(*(.eg_weights .eg_weights.*)) . = ALIGN(4);
    __eg_weights_end = .; }} {weights}
  __eg_weights_load = LOADADDR(.eg_weights);
  .data : ALIGN(4) {{ _sdata = .; *(.data*) . = ALIGN(4); _edata = .; }} > {data} AT > {code}
  _sidata = LOADADDR(.data);
  .bss (NOLOAD) : {{ . = ALIGN(4); _sbss = .; *(.bss*) *(COMMON) . = ALIGN(4); _ebss = .; }} > {data}
}}
"""


@dataclass(frozen=True)
class Compiler:
    """A cross compiler: its kind (``gcc`` or ``zig``), command line prefix and where the choice came from."""

    kind: str
    argv: tuple[str, ...]
    source: str = "default"          # "default", "--cc" or "EDGE_GRU_ARM_CC"

    def cpu_flags(self, core: str) -> list[str]:
        """Flags selecting ``core`` (see ``BUILD_CORE``); the Cortex-M55 with Helium (MVE integer)."""
        core = BUILD_CORE[core]
        if self.kind == "gcc":
            # gcc enables MVE only with a floating-point ABI that has the registers: softfp (no float code here)
            return [f"-mcpu={core}", "-mthumb", "-mfloat-abi=softfp" if core == "cortex-m55" else "-mfloat-abi=soft"]
        # zig's cortex_m33 leaves out the DSP extension that every M33 part we list has, and its cortex_m55 MVE
        cpu = core.replace("-", "_") + {"cortex-m33": "+dsp", "cortex-m55": "+mve"}.get(core, "")
        return ["-target", "thumb-freestanding-eabi", f"-mcpu={cpu}"]

    def link_flags(self) -> list[str]:
        """Flags for linking a bare-metal image with our startup code."""
        if self.kind == "gcc":
            return ["-nostdlib", "-nostartfiles"]
        return []

    def link_libs(self) -> list[str]:
        """Libraries after the objects (gcc's helper library; zig links its own compiler-rt)."""
        return ["-lgcc"] if self.kind == "gcc" else []

    @property
    def version(self) -> str:
        """The compiler's own version line (``zig 0.17.1 (clang 20.1.2)``, ``arm-none-eabi-gcc 12.2.1 ...``)."""
        return _version(self.kind, self.argv)

    def describe(self, core: str | None = None) -> dict:
        """What built a figure: kind, version, command, the flags used for ``core`` and the choice's source."""
        flags = [*(self.cpu_flags(core) if core else []), *COMMON_FLAGS]
        return {"kind": self.kind, "version": self.version, "command": shlex.join(self.argv),
                "flags": shlex.join(flags), "source": self.source}

    def label(self) -> str:
        """One line for CLI output: ``zig 0.17.1 (clang 20.1.2) -O2``."""
        return f"{self.version} -O2"


@functools.lru_cache(maxsize=8)
def _version(kind: str, argv: tuple[str, ...]) -> str:
    def first_line(cmd: list[str]) -> str:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return (p.stdout or p.stderr).strip().splitlines()[0] if p.returncode == 0 and (p.stdout or p.stderr) else ""

    clang = first_line([*argv, "--version"])
    if kind == "zig":
        zig_argv = list(argv[:-1]) if argv[-1] == "cc" else list(argv)
        zig = first_line([*zig_argv, "version"])
        short = clang.split("(")[0].strip() if clang else "clang ?"
        return f"zig {zig or '?'} ({short})"
    return clang or "unknown version"


def _kind_of(argv: tuple[str, ...]) -> str:
    """``zig`` for a zig/ziglang command line, ``gcc`` for a GNU Arm compiler; anything else is refused."""
    if any("zig" in Path(a).name for a in argv):
        return "zig"
    if "gcc" in Path(argv[0]).name:
        return "gcc"
    raise ToolMissingError(f"unsupported cross-compiler {shlex.join(argv)!r}: give an arm-none-eabi-gcc "
                           "or a zig (`zig cc`, `python -m ziglang cc`) command")


def _zig_default() -> Compiler:
    if importlib.util.find_spec("ziglang") is None:
        raise ToolMissingError("the default Arm cross-compiler is the pip package ziglang: pip install ziglang "
                               "(or pass --cc gcc to use arm-none-eabi-gcc)")
    return Compiler("zig", (sys.executable, "-m", "ziglang", "cc"))


def _from_command(text: str, source: str) -> Compiler:
    try:
        argv = tuple(shlex.split(text))
    except ValueError as exc:
        raise ToolMissingError(f"{source} {text!r} is not a valid command line: {exc}") from exc
    if not argv:
        raise ToolMissingError(f"{source} is empty: give gcc, zig or a compiler command")
    exe = argv[0]
    if not (Path(exe).is_file() and os.access(exe, os.X_OK)) and shutil.which(exe) is None:
        raise ToolMissingError(f"{source}: {exe!r} is not an executable file nor a command on PATH")
    return Compiler(_kind_of(argv), argv, source)


def resolve_compiler(choice: str | None = None) -> Compiler:
    """The compiler for a build: ``choice`` (``--cc``), else ``$EDGE_GRU_ARM_CC``, else zig's clang.

    ``choice`` is ``zig`` (the pinned pip ``ziglang``), ``gcc`` (``arm-none-eabi-gcc`` on PATH) or a
    command line (a path to a compiler, possibly with arguments, e.g. ``"python -m ziglang cc"``).

    Raises:
        ToolMissingError: The asked-for compiler is not installed or not of a supported kind.
    """
    source = "--cc"
    if choice is None:
        choice, source = os.environ.get("EDGE_GRU_ARM_CC") or None, "EDGE_GRU_ARM_CC"
    if choice is None or choice == "zig":
        cc = _zig_default()
        return cc if choice is None else Compiler(cc.kind, cc.argv, source)
    if choice == "gcc":
        gcc = shutil.which("arm-none-eabi-gcc")
        if gcc is None:
            raise ToolMissingError("--cc gcc: arm-none-eabi-gcc is not on PATH (Debian/Ubuntu: apt-get install "
                                   "gcc-arm-none-eabi)")
        return Compiler("gcc", (gcc,), source)
    return _from_command(choice, source)


def find_compiler() -> Compiler:
    """The compiler used when none is asked for (see :func:`resolve_compiler`)."""
    return resolve_compiler()


COMMON_FLAGS = ("-std=c99", "-O2", "-fomit-frame-pointer", "-ffreestanding", "-fno-common", "-ffunction-sections",
                "-fdata-sections", "-fno-unwind-tables", "-fno-asynchronous-unwind-tables", "-Wall", "-Wextra")


def _run(cmd: list[str], what: str) -> None:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=600)
    except subprocess.TimeoutExpired as exc:
        raise EdgeGruError(f"{what}: the cross-compiler timed out") from exc
    if p.returncode != 0:
        lines = [ln for ln in p.stderr.strip().splitlines() if "error" in ln.lower()] or p.stderr.strip().splitlines()
        raise EdgeGruError(f"{what} failed: {lines[0] if lines else 'exit ' + str(p.returncode)}")


def build_elf(sources: list[Path], target: Target, out_dir: Path, name: str = "firmware",
              include_dirs: tuple[Path, ...] = (), defines: tuple[str, ...] = (), cc: Compiler | None = None,
              placement: str = "flash") -> Path:
    """Compile and link ``sources`` with generated startup code for ``target``; returns the ELF path.

    ``cc`` defaults to :func:`resolve_compiler`'s choice; ``placement`` decides where code and weights run
    (:func:`linker_script`).
    """
    cc = cc or resolve_compiler()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "startup.c").write_text(STARTUP_C)
    (out_dir / "link.ld").write_text(linker_script(target, placement))
    elf = out_dir / f"{name}.elf"
    cmd = [*cc.argv, *cc.cpu_flags(target.core), *COMMON_FLAGS, *(f"-I{d}" for d in include_dirs),
           *(f"-D{d}" for d in defines), *cc.link_flags(), f"-Wl,-T,{out_dir / 'link.ld'}", "-Wl,--gc-sections",
           "-o", str(elf), str(out_dir / "startup.c"), *map(str, sources), *cc.link_libs()]
    _run(cmd, f"cross-compiling for {target.core}")
    return elf


#: defines the C runtime is built with per core: the Cortex-M7's schedule of the int8 kernel (edge_gru_build.h)
RUNTIME_TUNING: dict[str, tuple[str, ...]] = {"cortex-m7": ("EG_TUNE_M7",)}


def runtime_defines(core: str) -> tuple[str, ...]:
    """The defines a build of the C runtime for ``core`` uses (:data:`RUNTIME_TUNING`; the generated README says)."""
    return RUNTIME_TUNING.get(core, ())


def compile_object(source: Path, core: str, out: Path, include_dirs: tuple[Path, ...] = (),
                   cc: Compiler | None = None, defines: tuple[str, ...] = ()) -> Path:
    """Compile one C file to an object for ``core`` (used for per-object section sizes)."""
    cc = cc or resolve_compiler()
    cmd = [*cc.argv, *cc.cpu_flags(core), *COMMON_FLAGS, *(f"-D{d}" for d in defines),
           *(f"-I{d}" for d in include_dirs), "-c", "-o", str(out), str(source)]
    _run(cmd, f"compiling {source.name} for {core}")
    return out


__all__ = ["BUILD_CORE", "RUNTIME_TUNING", "Compiler", "FLASH_BASE", "IO_BASE", "RAM_BASE", "STACK_PAINT", "build_elf",
           "compile_object", "find_compiler", "linker_script", "resolve_compiler", "runtime_defines"]
