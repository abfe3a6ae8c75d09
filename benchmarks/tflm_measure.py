"""Measure TFLite Micro in firmware_sim: build it from source, run an int8 .tflite on emulated parts.

The recipe behind the TFLite Micro figures in ``firmware_sim/tflm_estimate.py``. edge-gru does not ship or
build third-party code: pass checkouts of the projects at the commits the figures were taken with (and
``apt-get install gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib``)::

    python benchmarks/tflm_measure.py --tflm DIR      # github.com/tensorflow/tflite-micro at 90b983c
        --flatbuffers DIR                             # github.com/google/flatbuffers at tag v25.9.23
        --gemmlowp DIR                                # github.com/google/gemmlowp at 719139ce
        --ruy DIR                                     # github.com/google/ruy at d3712831
        [--tflite FILE] [--targets stm32l4r5,rp2040,stm32h7] [--sequences 3] [--json out.json]

It compiles TFLite Micro's core (-Os) and reference kernels (-O2) with arm-none-eabi-g++ for each target's
core (soft-float ABI, ``TF_LITE_STATIC_MEMORY``, ``TF_LITE_STRIP_ERROR_STRINGS``, gc-sections: the
``cortex_m_generic`` release build's flags), links ``benchmarks/tflm_harness.cc`` with firmware_sim's start-up
code and linker script (model array in flash, arena in SRAM), runs the unrolled-layout file on each target
twice, with zero-wait memory and through the part's memory system, and prints set-up cycles, cycles per
sequence (cold = the first after reset, warm = the rest) and the ratio, after checking that the outputs are
identical to the ``tflite-micro`` Python interpreter's. Default model: the benchmarks' spoken-digits GRU(16)
(the estimate's calibration model) on test sequences; another ``--tflite`` runs on standard-normal inputs.
TFLite's flatbuffers patch (``tools/make/flatbuffers.patch`` in the tflite-micro checkout) is applied to a
copy of the flatbuffers headers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent
HARNESS = HERE / "tflm_harness.cc"
SKIP = {"fake_micro_context.cc", "mock_micro_graph.cc", "test_helpers.cc", "test_helper_custom_ops.cc",
        "debug_log.cc", "kernel_runner.cc"}
# The reference kernels of the operators the harness registers (the GRU graphs' operators) and their helpers.
KERNELS = {"fully_connected", "fully_connected_common", "logistic", "logistic_common", "tanh", "add", "add_common",
           "mul", "mul_common", "sub", "sub_common", "split", "strided_slice", "strided_slice_common", "unpack",
           "softmax", "softmax_common", "reshape", "reshape_common", "gather", "concatenation", "pack", "kernel_util",
           "micro_tensor_utils", "activations", "activations_common"}
DEFINES = ["-DTF_LITE_STATIC_MEMORY", "-DTF_LITE_DISABLE_X86_NEON", "-DTF_LITE_STRIP_ERROR_STRINGS", "-DNDEBUG",
           "-DTF_LITE_MCU_DEBUG_LOG", "-DKERNELS_OPTIMIZED_FOR_SPEED"]
CXX = ["-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics", "-fno-use-cxa-atexit",
       "-fno-unwind-tables", "-fno-asynchronous-unwind-tables", "-ffunction-sections", "-fdata-sections",
       "-fmessage-length=0", "-fno-common", "-Wno-unused-parameter"]


def sources(tflm: Path) -> tuple[list[Path], list[Path]]:
    """TFLite Micro's library sources: the core (built -Os) and the reference kernels (built -O2)."""
    micro = tflm / "tensorflow/lite/micro"
    core = [p for p in micro.glob("*.cc") if not p.name.endswith("_test.cc") and p.name not in SKIP]
    for d in ("memory_planner", "arena_allocator", "tflite_bridge"):
        core += [p for p in (micro / d).glob("*.cc") if not p.name.endswith("_test.cc")]
    core += [tflm / f for f in ("tensorflow/lite/core/c/common.cc",
                                "tensorflow/lite/core/api/flatbuffer_conversions.cc",
                                "tensorflow/lite/core/api/tensor_utils.cc", "tensorflow/lite/kernels/kernel_util.cc",
                                "tensorflow/compiler/mlir/lite/core/api/error_reporter.cc",
                                "tensorflow/compiler/mlir/lite/schema/schema_utils.cc")]
    core += sorted((tflm / "tensorflow/lite/kernels/internal").glob("*.cc"))
    kernels = [p for p in (micro / "kernels").glob("*.cc") if p.stem in KERNELS]
    return core, kernels


def includes(args: argparse.Namespace, work: Path) -> list[str]:
    """Include flags; the flatbuffers headers are copied and patched as TFLite Micro's Makefile does."""
    fb = work / "flatbuffers"
    if not fb.exists():
        shutil.copytree(args.flatbuffers / "include", fb / "include")
        patch = args.tflm / "tensorflow/lite/micro/tools/make/flatbuffers.patch"
        subprocess.run(["patch", "-p1", "-s", "-i", str(patch)], cwd=fb, check=True)
    return [f"-I{args.tflm}", f"-I{fb / 'include'}", f"-I{args.gemmlowp}", f"-I{args.ruy}"]


def cpu_flags(core: str) -> list[str]:
    from firmware_sim.toolchain import BUILD_CORE

    return [f"-mcpu={BUILD_CORE[core]}", "-mthumb", "-mfloat-abi=soft"]


def build_library(args: argparse.Namespace, core: str, work: Path) -> Path:
    """``libtflm.a`` for ``core`` (cached in ``work``)."""
    out = work / core
    lib = out / "libtflm.a"
    if lib.exists():
        return lib
    out.mkdir(parents=True, exist_ok=True)
    inc = includes(args, work)
    core_srcs, kernel_srcs = sources(args.tflm)

    def compile_one(job: tuple[Path, str]) -> Path:
        src, opt = job
        obj = out / (str(src.relative_to(args.tflm)).replace("/", "_") + ".o")
        cmd = ["arm-none-eabi-g++", *cpu_flags(core), *CXX, *DEFINES, *inc, opt, "-c", str(src), "-o", str(obj)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode:
            raise SystemExit(f"compiling {src} failed:\n{p.stderr[-2000:]}")
        return obj

    jobs = [(s, "-Os") for s in core_srcs] + [(s, "-O2") for s in kernel_srcs]
    with ThreadPoolExecutor(max(1, args.jobs)) as ex:
        objs = list(ex.map(compile_one, jobs))
    subprocess.run(["arm-none-eabi-ar", "rcs", str(lib), *map(str, objs)], check=True)
    return lib


def build_firmware(args: argparse.Namespace, lib: Path, tflite: Path, target, work: Path) -> Path:
    """The harness + model + library linked with firmware_sim's start-up code for ``target`` (flash placement)."""
    from firmware_sim.toolchain import STARTUP_C, linker_script

    work.mkdir(parents=True, exist_ok=True)
    data = tflite.read_bytes()
    (work / "model_data.h").write_text(
        f"#define EG_ARENA_BYTES {args.arena}\nalignas(16) static const unsigned char eg_model_data[{len(data)}] = {{"
        + ",".join(map(str, data)) + "};\n")
    (work / "startup.c").write_text(STARTUP_C)
    (work / "link.ld").write_text(linker_script(target.roomy(), "flash"))
    cpu = cpu_flags(target.core)
    subprocess.run(["arm-none-eabi-gcc", *cpu, "-std=c99", "-O2", "-ffreestanding", "-c", str(work / "startup.c"),
                    "-o", str(work / "startup.o")], check=True)
    subprocess.run(["arm-none-eabi-g++", *cpu, *CXX, *DEFINES, *includes(args, work.parent), f"-I{work}", "-O2", "-c",
                    str(HARNESS), "-o", str(work / "harness.o")], check=True)
    elf = work / "tflm.elf"
    subprocess.run(["arm-none-eabi-g++", *cpu, "-nostartfiles", "-specs=nano.specs", f"-Wl,-T,{work / 'link.ld'}",
                    "-Wl,--gc-sections", "-o", str(elf), str(work / "startup.o"), str(work / "harness.o"), str(lib),
                    "-lm", "-lc", "-lgcc", "-lnosys"], check=True)
    return elf


def run(elf: Path, target, xq, out_bytes: int) -> dict:
    """Emulate ``elf`` on ``target`` over int8 inputs ``xq`` (N, ...): outputs, set-up and per-sequence cycles."""
    import numpy as np

    from firmware_sim.emulator import Emulator

    n, in_bytes = len(xq), xq[0].size
    io = struct.pack("<4i", 0x4D4C4654, n, in_bytes, out_bytes) + bytes(0x100 - 16) + xq.astype(np.int8).tobytes()
    emu = Emulator(elf, target.roomy(), io_bytes=len(io) + n * out_bytes)
    emu.write_io(0, io)
    res = emu.run(max_instructions=4_000_000_000)
    if res.exit_code != 0:
        raise SystemExit(f"the TFLite Micro firmware exited with {res.exit_code} on {target.name}")
    marks = dict(zip(res.mark_values, res.marks, strict=True))
    per = np.array([marks[i + 1] - marks[i] for i in range(n)])
    out = np.frombuffer(emu.read_io(0x100 + n * in_bytes, n * out_bytes), np.int8).reshape(n, out_bytes)
    return {"setup_cycles": marks[1001] - marks[1000], "cycles_cold": float(per[0]),
            "cycles_warm": float(per[1:].mean()) if n > 1 else float(per[0]), "outputs": out,
            "stack_bytes": res.stack_bytes, "memory": target.memory.name}


def toml_records(rows: list[dict], model: str, sequences: int) -> str:
    """The results as ``[[run]]`` (zero-wait) and ``[[memory_system]]`` records of tflm_measurements.toml (role: check;
    mark ``fit`` by hand when a constant is to be solved from one)."""
    import datetime

    day = datetime.date.today().isoformat()
    out = [f"# benchmarks/tflm_measure.py, {day}, {sequences} sequences, reference kernels, unrolled layout"]
    for r in rows:
        z, p = r["zero_wait"], r["part"]
        out += ["[[run]]", f'core = "{r["core"]}"', 'kernels = "reference"', f'model = "{model}"',
                'layout = "unrolled"',
                f"cycles = {round(z['cycles_warm'])}", f"setup = {round(z['setup_cycles'])}", "fit = []",
                f'source = "benchmarks/tflm_measure.py, {day}"', ""]
        if r["memory"] != f"{r['target']}-ideal":
            out += ["[[memory_system]]", f'target = "{r["target"]}"', f'memory = "{r["memory"]}"',
                    f"zero_wait_cycles = {round(z['cycles_warm'])}", f"zero_wait_setup = {round(z['setup_cycles'])}",
                    f"cycles = {round(p['cycles_warm'])}", f"setup = {round(p['setup_cycles'])}", ""]
    return "\n".join(out)


def default_tflite() -> Path:
    sys.path.insert(0, str(HERE))
    from run import spoken_digits_spec

    return spoken_digits_spec()[3]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("tflm", "flatbuffers", "gemmlowp", "ruy"):
        ap.add_argument(f"--{name}", type=Path, required=True)
    ap.add_argument("--tflite", type=Path, help="an int8 unrolled .tflite (default: the spoken-digits GRU(16))")
    ap.add_argument("--targets", default="stm32l4r5,rp2040,stm32h7")
    ap.add_argument("--sequences", type=int, default=3)
    ap.add_argument("--arena", type=int, default=200_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--work", type=Path, help="keep the builds here")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--toml", type=Path, help="write the results as records of firmware_sim/tflm_measurements.toml")
    ap.add_argument("--model", default="spoken-digits GRU(16)", help="the model's name in those records")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    import numpy as np

    from edge_gru.data import load_dataset
    from edge_gru.tflite.runner import TFLiteRunner
    from firmware_sim.targets import get_target

    tflite = args.tflite or default_tflite()
    runner = TFLiteRunner(tflite, "tflm")
    if args.tflite is None:
        X = load_dataset("spoken-digits")[1].X[:args.sequences]
    else:                                         # any model: standard-normal inputs of its shape
        X = np.random.default_rng(0).normal(size=(args.sequences, *runner.input_shape[1:])).astype(np.float32)
    xq = runner.quantize(X).astype(np.int8)
    ref = runner.predict_raw(xq)
    rows = []
    with tempfile.TemporaryDirectory(prefix="edge-gru-tflm-") as tmp:
        work = args.work or Path(tmp)
        for name in args.targets.split(","):
            target = get_target(name.strip())
            lib = build_library(args, target.core, work)
            elf = build_firmware(args, lib, tflite, target, work / f"fw-{target.name}")
            ideal, part = run(elf, target.ideal(), xq, ref.shape[1]), run(elf, target, xq, ref.shape[1])
            same = bool((ideal["outputs"] == ref).all() and (part["outputs"] == ref).all())
            rows.append({"target": target.name, "core": target.core, "memory": target.memory.name,
                         "zero_wait": {k: v for k, v in ideal.items() if k != "outputs"},
                         "part": {k: v for k, v in part.items() if k != "outputs"},
                         "ratio_warm": part["cycles_warm"] / ideal["cycles_warm"],
                         "ratio_setup": part["setup_cycles"] / ideal["setup_cycles"], "outputs_match_python": same})
    print(f"TFLite Micro (reference kernels) on {tflite.name}, {args.sequences} sequences, arm-none-eabi-g++")
    print(f"{'target':10s} {'memory':16s} {'zero-wait':>11s} {'part warm':>11s} {'part cold':>11s} {'ratio':>6s} "
          f"{'set-up 0-wait':>14s} {'set-up part':>13s}  outputs = Python")
    for r in rows:
        z, p = r["zero_wait"], r["part"]
        print(f"{r['target']:10s} {r['memory']:16s} {z['cycles_warm']:11,.0f} {p['cycles_warm']:11,.0f} "
              f"{p['cycles_cold']:11,.0f} {r['ratio_warm']:6.3f} {z['setup_cycles']:14,.0f} {p['setup_cycles']:13,.0f}"
              f"  {r['outputs_match_python']}")
    if args.json:
        args.json.write_text(json.dumps({"tflite": str(tflite), "rows": rows}, indent=2))
    if args.toml:
        args.toml.write_text(toml_records(rows, args.model, args.sequences))
    return 0 if all(r["outputs_match_python"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
