"""The C99 runtime is bit-exact with the Numba reference, compiles cleanly, and cross-compiles."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from fixed_models import big_odd_biases

from converters.c_export import export_c
from edge_gru.fixed.model import quantize_model
from edge_gru.runtime.c_host import host_cc, run_host
from edge_gru.spec import random_spec

STRICT = ("-Wall", "-Wextra", "-Werror", "-pedantic")


def _random_model(i, rng):
    prec = ["w8a8", "w8a16", "w16a16"][i % 3]
    spec = random_spec(rng, 1 + i % 13, [1 + (i * 7) % 37] * (1 + i % 2),
                       [(3, "sigmoid"), (4, "relu"), (2, "softmax")][: i % 4], timesteps=1 + i % 9,
                       reset_after=bool(i % 2), use_bias=i % 5 != 4, scale=0.2 + 0.3 * (i % 4))
    X = rng.normal(0, 2, (40, spec.timesteps, spec.features)).astype(np.float32)
    return quantize_model(spec, X[:10], prec), X


def _written_constant_bytes(model_c: str) -> int:
    """Bytes of the constant arrays a generated model.c declares (counted from the C text)."""
    size = {"int8_t": 1, "int16_t": 2, "int32_t": 4, "int64_t": 8}
    return sum(size[t] * int(n) for t, n in
               re.findall(r"static const union \{ int32_t align_; (int\d+_t) v\[(\d+)\]; \}", model_c))


@pytest.mark.slow
def test_c_matches_numba_on_random_models(tmp_path):
    """Host C = Numba on 30 random models (every precision, both reset_after, with and without bias, dense heads),
    and the constant bytes the export reports are the bytes it writes."""
    from converters.c_layout import memory_figures

    rng = np.random.default_rng(2024)
    total = 0
    for i in range(30):
        fm, X = _random_model(i, rng)
        export_c(fm, tmp_path / f"m{i}")
        assert memory_figures(fm)["constant_bytes"] == _written_constant_bytes((tmp_path / f"m{i}" / "model.c")
                                                                               .read_text()), f"model {i}"
        xq = fm.quantize_input(X * (1 + 10 * (i % 3)))   # includes saturated inputs
        got = run_host(tmp_path / f"m{i}", xq, STRICT)
        np.testing.assert_array_equal(got, fm.predict_raw(xq, quantized=True), err_msg=f"model {i}")
        total += got.size
    assert total > 1000


def test_rows_layout_matches_numba_on_random_models(tmp_path):
    """The Helium kernel's weight layout (rows), run by the host build's plain loops: Numba's integers on 12 random
    models, and the constant bytes the export reports are the bytes it writes."""
    from converters.c_layout import memory_figures

    rng = np.random.default_rng(77)
    for i in range(12):
        fm, X = _random_model(i + 3, rng)
        export_c(fm, tmp_path / f"m{i}", matrix="rows")
        assert memory_figures(fm, "table", "rows")["constant_bytes"] == _written_constant_bytes(
            (tmp_path / f"m{i}" / "model.c").read_text()), f"model {i}"
        xq = fm.quantize_input(X * (1 + 10 * (i % 3)))
        np.testing.assert_array_equal(run_host(tmp_path / f"m{i}", xq, STRICT), fm.predict_raw(xq, quantized=True),
                                      err_msg=f"model {i}")


def test_pairs_layout_matches_numba_on_random_models(tmp_path):
    """The DSP kernels' pairs layout (int8 weights stored 2 columns x 2 inputs a word, even columns offset by 128), run
    by the host build's plain loops: Numba's integers on 12 random models of every precision (3 with odd columns'
    biases at +-2^28, so that the stored b_c + 256 b_(c+1) wraps), the constant bytes the export reports are the bytes
    it writes, and a model with products the pairs kernel does not run (int16 weights, w8a8's, no bias,
    reset_after=False) is written in the blocks layout."""
    from converters.c_export import export_matrix_layout
    from converters.c_layout import memory_figures
    from converters.c_paths import i8_products

    rng = np.random.default_rng(78)
    written = []
    for i in range(12):
        fm, X = _random_model(i + 5, rng)
        if i % 4 == 0:
            big_odd_biases(fm)
        export_c(fm, tmp_path / f"m{i}", matrix="pairs")
        # pairs only where its kernel runs every product (int8 weights, int32 sums, biases, fast requantization)
        slow = fm.precision.w_bits != 8 or any(g["b_i"].dtype != np.int32 for g in fm.grus) or i8_products(
            fm, False, "pairs")[1]
        written.append(export_matrix_layout(tmp_path / f"m{i}"))
        assert written[-1] == ("blocks" if slow else "pairs"), f"model {i}"
        assert memory_figures(fm, "table", "pairs")["constant_bytes"] == _written_constant_bytes(
            (tmp_path / f"m{i}" / "model.c").read_text()), f"model {i}"
        xq = fm.quantize_input(X * (1 + 10 * (i % 3)))
        np.testing.assert_array_equal(run_host(tmp_path / f"m{i}", xq, STRICT), fm.predict_raw(xq, quantized=True),
                                      err_msg=f"model {i}")
    assert written.count("pairs") >= 2 and "blocks" in written     # both kinds of model ran


@pytest.mark.parametrize("prec", ["w8a8", "w8a16", "w16a16"])
def test_c_matches_numba_on_spoken_digits(spoken_digits_model, spoken_digits, tmp_path, prec):
    _, spec, _, _ = spoken_digits_model
    train, test = spoken_digits
    fm = quantize_model(spec, train.X, prec)
    export_c(fm, tmp_path)
    xq = fm.quantize_input(test.X)
    np.testing.assert_array_equal(run_host(tmp_path, xq), fm.predict_raw(xq, quantized=True))


@pytest.mark.slow
def test_sanitizers_clean(tmp_path):
    rng = np.random.default_rng(7)
    for i in (1, 2, 5, 6):
        fm, X = _random_model(i, rng)
        export_c(fm, tmp_path / f"m{i}")
        xq = fm.quantize_input(X * 5)
        got = run_host(tmp_path / f"m{i}", xq, ("-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"))
        np.testing.assert_array_equal(got, fm.predict_raw(xq, quantized=True))


def _compiler(name):
    if shutil.which(name):
        return [name]
    if name == "clang" and importlib.util.find_spec("ziglang") is not None:
        return [sys.executable, "-m", "ziglang", "cc"]   # zig cc is clang
    pytest.skip(f"{name} is not installed")


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_strict_compile(compiler, tmp_path):
    cc = _compiler(compiler)
    fm, _ = _random_model(3, np.random.default_rng(0))
    export_c(fm, tmp_path)
    for src in ("edge_gru.c", "model.c", "harness_host.c"):
        subprocess.run([*cc, "-std=c99", *STRICT, "-c", str(tmp_path / src), "-o", str(tmp_path / "x.o")],
                       check=True)


@pytest.mark.parametrize("cc", [pytest.param("zig", marks=pytest.mark.needs("zig")),
                                pytest.param("gcc", marks=pytest.mark.needs("gcc"))])
@pytest.mark.parametrize("cpu", ["cortex_m0plus", "cortex_m4", "cortex_m7"])
def test_cross_compiles_for_cortex_m(cpu, cc, tmp_path):
    """Strict warnings at -O2; the runtime (its assembly included) also at -O0, -Os, with a frame pointer, and for
    the M7 with its tuning (-DEG_TUNE_M7), for a model whose products take the int8 assembly (w8a16, bias): on the
    DSP cores in the pairs layout, and the generic build (both layouts' assembly) at -O0."""
    fm, _ = _random_model(4, np.random.default_rng(0))
    export_c(fm, tmp_path, matrix="blocks" if cpu == "cortex_m0plus" else "pairs")
    if cc == "gcc":
        cmd = ["arm-none-eabi-gcc", f"-mcpu={cpu.replace('_', '-')}", "-mthumb"]
    else:
        cmd = [sys.executable, "-m", "ziglang", "cc", "-target", "thumb-freestanding-eabi", f"-mcpu={cpu}"]
    for src in ("edge_gru.c", "model.c"):
        obj = tmp_path / (src + ".o")
        subprocess.run([*cmd, "-std=c99", "-O2", *STRICT, "-c", str(tmp_path / src), "-o", str(obj)], check=True)
        assert obj.read_bytes()[:4] == b"\x7fELF"
    variants = [["-O0"], ["-Os"], ["-O2", "-fno-omit-frame-pointer"], ["-O0", "-DEG_GENERIC"]]
    variants += [["-O2", "-DEG_TUNE_M7"], ["-O2", "-DEG_TUNE_M7", "-DEG_GENERIC"]] * (cpu == "cortex_m7")
    for flags in variants:
        obj = tmp_path / "v.o"
        subprocess.run([*cmd, "-std=c99", *flags, *STRICT, "-I", str(tmp_path), "-c", str(tmp_path / "edge_gru.c"),
                        "-o", str(obj)], check=True)
        assert obj.read_bytes()[:4] == b"\x7fELF", flags


def test_export_refuses_overwrite(tmp_path):
    fm, _ = _random_model(0, np.random.default_rng(0))
    export_c(fm, tmp_path)
    from edge_gru.errors import OutputExistsError

    with pytest.raises(OutputExistsError):
        export_c(fm, tmp_path)
    assert host_cc()


@pytest.mark.parametrize("name, ident", [
    ('x"; system("rm -rf /"); //', "x_system_rm_rf"),
    ("int", "int_"),
    ("123abc", "m_123abc"),
    ("", "model"),
    ("Keyword Spotter v2", "keyword_spotter_v2"),
    ("ÿ*/ #define", "define"),
])
def test_c_identifiers_are_sanitised(name, ident, tmp_path):
    from converters.c_export import c_identifier

    assert c_identifier(name) == ident
    fm, _ = _random_model(1, np.random.default_rng(1))
    export_c(fm, tmp_path, name=name)
    for f in ("model.h", "model.c", "CMakeLists.txt"):
        text = (tmp_path / f).read_text()
        assert "system(" not in text and "rm -rf" not in text
    assert f"const eg_model_t {ident}_model" in (tmp_path / "model.c").read_text()
    subprocess.run([host_cc(), "-std=c99", *STRICT, "-c", str(tmp_path / "model.c"), "-o", str(tmp_path / "m.o")],
                   check=True)


def test_example_main_runs_and_matches_numba(tmp_path):
    """The README's example program compiles cleanly and prints the reference's integers."""
    import re

    fm, _ = _random_model(7, np.random.default_rng(7))
    export_c(fm, tmp_path)
    exe = tmp_path / "example"
    subprocess.run([host_cc(), "-std=c99", "-O2", *STRICT, "-o", str(exe), *(str(tmp_path / f) for f in
                    ("example_main.c", "edge_gru.c", "model.c"))], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    got = [int(v) for v in re.findall(r"out\[\d+\] = (-?\d+)", out)]
    t, k = np.meshgrid(np.arange(10), np.arange(fm.features), indexing="ij")
    xq = np.clip((t * 37 + k * 11) % 200 - 100, -fm.precision.a_qmax, fm.precision.a_qmax)[None].astype(np.int16)
    ref = fm.predict_raw(xq, quantized=True)[0]
    assert got == ref.tolist()
    assert f"argmax = {int(np.argmax(ref))}" in out
    readme = (tmp_path / "README.md").read_text()
    assert "eg_step" in readme and "constant model data" in readme


@pytest.mark.needs("cmake")
def test_cmake_builds_the_export(tmp_path):
    fm, _ = _random_model(2, np.random.default_rng(2))
    export_c(fm, tmp_path / "src", name="kws")
    subprocess.run(["cmake", "-S", str(tmp_path / "src"), "-B", str(tmp_path / "b")], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(tmp_path / "b")], check=True, capture_output=True)
    exe = next(p for p in (tmp_path / "b").rglob("kws_example*") if p.is_file() and os.access(p, os.X_OK))
    assert "argmax =" in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout


def _arm_cc(cc: str, cpu: str) -> list[str]:
    if cc == "gcc":
        return ["arm-none-eabi-gcc", f"-mcpu={cpu.replace('_', '-')}", "-mthumb"]
    return [sys.executable, "-m", "ziglang", "cc", "-target", "thumb-freestanding-eabi", f"-mcpu={cpu}"]


@pytest.mark.parametrize("cc", [pytest.param("zig", marks=pytest.mark.needs("zig")),
                                pytest.param("gcc", marks=pytest.mark.needs("gcc"))])
def test_assembly_argument_offsets_are_checked_at_compile_time(cc, tmp_path):
    """The ARMv6-M assembly reads eg_v6m_args_t at fixed offsets: reordering two fields stops the build, naming
    the field, instead of building a kernel that reads the wrong arguments."""
    fm, _ = _random_model(4, np.random.default_rng(0))
    export_c(fm, tmp_path)
    cmd = [*_arm_cc(cc, "cortex_m0plus"), "-std=c99", "-O2", *STRICT, "-c", str(tmp_path / "edge_gru.c"), "-o",
           str(tmp_path / "x.o")]
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    src = (tmp_path / "edge_gru_v6m.h").read_text()
    assert src.count("    int32_t K;") == 1
    (tmp_path / "edge_gru_v6m.h").write_text(src.replace("    int32_t K;", "    int32_t moved; int32_t K;"))
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode != 0 and "eg_v6m_offset_of_K" in p.stderr, p.stderr[-2000:]


def test_dense_modes_are_named_in_the_export():
    """model.c names each dense layer's mode as edge_gru.h defines it, with the values of the Numba kernels."""
    from edge_gru.fixed import kernels as K
    from edge_gru.runtime import c_source

    header = c_source("edge_gru.h").read_text()
    assert re.search(r"#define EG_DENSE_REQUANT (\d+)", header).group(1) == str(K.DENSE_REQUANT)
    assert re.search(r"#define EG_DENSE_SIGMOID (\d+)", header).group(1) == str(K.DENSE_SIGMOID)
    rng = np.random.default_rng(9)
    spec = random_spec(rng, 3, [4], [(5, "sigmoid"), (2, "softmax")], timesteps=4)
    fm = quantize_model(spec, rng.normal(size=(6, 4, 3)).astype(np.float32), "w8a16")
    from converters.c_export import render_model

    model_c = render_model(fm, "m")["model.c"]
    modes = re.findall(r"\{\d+, \d+, \d, \d, (EG_DENSE_\w+), \d", model_c)
    assert modes == ["EG_DENSE_SIGMOID", "EG_DENSE_REQUANT"], modes


def test_folded_export_refuses_eg_step_at_compile_time_and_its_example_runs(tmp_path):
    """A folded-embedding export has no input weights for feature vectors: a program calling eg_step or eg_run
    does not compile (the error names what to call instead); its example_main.c feeds token ids and prints the
    reference's integers."""
    from edge_gru.runtime.c_host import host_cc

    rng = np.random.default_rng(11)
    spec = random_spec(rng, 6, [5], [(3, "softmax")], vocab=40, mask_zero=True)
    fm = quantize_model(spec, rng.integers(0, 40, (20, 7)), "w8a16")
    export_c(fm, tmp_path, embedding="folded")
    cc = host_cc()
    for call in ("eg_step(&EG_MODEL, state, x, scratch);", "eg_run(&EG_MODEL, state, x, 1, out, scratch);"):
        (tmp_path / "bad.c").write_text(
            '#include "model.h"\nstatic int16_t state[EG_MODEL_STATE_LEN];\n'
            "static int32_t scratch[EG_MODEL_SCRATCH_LEN];\n"
            "int main(void) { int16_t x[EG_MODEL_FEATURES] = {0}; int32_t out[EG_MODEL_OUTPUT_DIM];\n"
            f"    (void)x; (void)out; {call} return 0; }}\n")
        p = subprocess.run([cc, "-std=c99", "-c", str(tmp_path / "bad.c"), "-o", str(tmp_path / "bad.o")],
                           capture_output=True, text=True)
        word = call.split("(")[0]
        assert p.returncode != 0 and f"EG_REFUSED_{word}_on_a_folded_export_use_{word}_token" in p.stderr, p.stderr
    exe = tmp_path / "example"
    subprocess.run([cc, "-std=c99", "-O2", *STRICT, "-o", str(exe), *(str(tmp_path / s) for s in
                    ("example_main.c", "edge_gru.c", "model.c"))], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    got = [int(ln.split(" = ")[1].split()[0]) for ln in out.splitlines() if ln.startswith("out[")]
    ids = np.array([[(t * 37 + 11) % 40 for t in range(10)]])
    assert got == fm.predict_raw(ids)[0].tolist()


@pytest.mark.needs("cmake", "gcc")
def test_cmake_cross_build_builds_the_library_alone(tmp_path):
    """With a toolchain file for arm-none-eabi-gcc (a cross build) the generated CMakeLists.txt builds the library
    and leaves out the host example, which could not link there; a host build still builds the example."""
    fm, _ = _random_model(2, np.random.default_rng(2))
    export_c(fm, tmp_path / "src", name="kws")
    (tmp_path / "arm.cmake").write_text(
        "set(CMAKE_SYSTEM_NAME Generic)\nset(CMAKE_SYSTEM_PROCESSOR arm)\nset(CMAKE_C_COMPILER arm-none-eabi-gcc)\n"
        "set(CMAKE_C_FLAGS_INIT \"-mcpu=cortex-m4 -mthumb\")\n"
        "set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)\n")
    subprocess.run(["cmake", "-S", str(tmp_path / "src"), "-B", str(tmp_path / "b"),
                    f"-DCMAKE_TOOLCHAIN_FILE={tmp_path / 'arm.cmake'}"], check=True, capture_output=True)
    p = subprocess.run(["cmake", "--build", str(tmp_path / "b")], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert (tmp_path / "b" / "libkws.a").is_file() and not list((tmp_path / "b").rglob("kws_example*"))


def test_generic_build_matches_numba_on_random_models(tmp_path):
    """-DEG_GENERIC (every path, chosen at run time: a firmware with several models) = Numba on 12 random models,
    as the default build specialized to each model's model.h is (the tests above); every third in the pairs layout."""
    rng = np.random.default_rng(77)
    for i in range(12):
        fm, X = _random_model(i, rng)
        export_c(fm, tmp_path / f"m{i}", matrix="pairs" if i % 3 == 1 else "blocks")
        xq = fm.quantize_input(X)
        np.testing.assert_array_equal(run_host(tmp_path / f"m{i}", xq, (*STRICT, "-DEG_GENERIC")),
                                      fm.predict_raw(xq, quantized=True), err_msg=f"model {i}")


def _functions(obj) -> dict[str, int]:
    from elftools.elf.elffile import ELFFile

    with open(obj, "rb") as fh:
        symtab = ELFFile(fh).get_section_by_name(".symtab")
        return {s.name: s["st_size"] for s in symtab.iter_symbols() if s["st_info"]["type"] == "STT_FUNC"}


def _m4_function_sizes(folder) -> dict[str, dict[str, int]]:
    """Function sizes of the export's edge_gru.c built for the Cortex-M4 (zig, -O2): ``specialized`` (its model.h) and
    ``generic`` (-DEG_GENERIC)."""
    sizes = {}
    for build in ("specialized", "generic"):
        obj = folder / f"{build}.o"
        flags = ["-DEG_GENERIC"] if build == "generic" else []
        subprocess.run([*_arm_cc("zig", "cortex_m4"), "-std=c99", "-O2", *STRICT, *flags, "-I", str(folder), "-c",
                        str(folder / "edge_gru.c"), "-o", str(obj)], check=True)
        sizes[build] = _functions(obj)
    return sizes


@pytest.mark.needs("zig", "sim")
def test_specialized_build_holds_only_the_models_paths(tmp_path):
    """model.h's EG_MODEL_USES_* let the compiler drop what the model does not use: a w8a16 reset_after model with
    32-bit accumulators has no 64-bit, int16-weight, rows-layout, reset-before or embedding code, no C loop of the
    int8 kernel (every product has a bias and SMMULR requantization) and only the assembly copies of its products'
    K & 6 (6 inputs padded: 6; 12 units: 4), and its runtime .text is under a third of the generic build's; the
    generic build has them all."""
    from converters.c_paths import uses

    rng = np.random.default_rng(3)
    spec = random_spec(rng, 5, [12], [(3, "softmax")], timesteps=6)
    fm = quantize_model(spec, rng.normal(size=(20, 6, 5)).astype(np.float32), "w8a16")
    export_c(fm, tmp_path)
    assert uses(fm, False) == {"W8": True, "W16": False, "A8": False, "A16": True, "ACC32": True, "ACC64": False,
                               "RESET_AFTER": True, "RESET_BEFORE": False, "FEATURES": True, "TABLE": False,
                               "FOLD": False, "DENSE": True, "BLOCKS": True, "ROWS": False, "PAIRS": False,
                               "I8_K0": False, "I8_K2": False, "I8_K4": True, "I8_K6": True, "I8_GENERIC": False,
                               "PER_STEP": False, "WINDOW": False}
    sizes = _m4_function_sizes(tmp_path)
    unused = {"eg_matrix_64", "eg_matrix_i16", "eg_matrix_rows", "eg_gates_before", "eg_run_seq", "eg_run_tokens_seq"}
    assert unused <= set(sizes["generic"]) and not unused & set(sizes["specialized"])
    assert sum(sizes["specialized"].values()) < sum(sizes["generic"].values()) / 3
    # the int8 kernel: the assembly's 4 copies in the generic build, 2 here
    assert sizes["specialized"]["eg_matrix_i8_asm"] < 0.6 * sizes["generic"]["eg_matrix_i8_asm"]
    # no C loop: beside the assembly at most a small wrapper of it (the compiler may inline that)
    rest = [n for f, n in sizes["specialized"].items() if f.startswith("eg_matrix") and f != "eg_matrix_i8_asm"]
    assert sum(rest) < 200


@pytest.mark.needs("zig", "sim")
def test_specialized_pairs_build_holds_only_the_pairs_kernel(tmp_path):
    """A model exported in the pairs layout builds for the Cortex-M4 with the pairs kernel's assembly alone (a
    straight-line copy for each of its products' K, 6 and 12, and no loop copy: model.h says so), neither the blocks
    layout's assembly nor a C loop; the generic build holds both kernels (loop copies) and the pairs C loop."""
    from converters.c_paths import uses

    rng = np.random.default_rng(3)
    spec = random_spec(rng, 5, [12], [(3, "softmax")], timesteps=6)
    fm = quantize_model(spec, rng.normal(size=(20, 6, 5)).astype(np.float32), "w8a16")
    export_c(fm, tmp_path, matrix="pairs")
    head = (tmp_path / "model.h").read_text()
    assert "#define EG_MODEL_PAIRS_K1 6\n" in head and "#define EG_MODEL_PAIRS_K2 12\n" in head
    assert "#define EG_MODEL_PAIRS_K3 0\n" in head
    assert not any(v for k, v in uses(fm, False, "pairs").items() if k.startswith("I8_"))
    sizes = _m4_function_sizes(tmp_path)
    assert {"eg_matrix_p8_asm", "eg_matrix_i8_asm", "eg_matrix_pairs_c"} <= set(sizes["generic"])
    assert "eg_matrix_p8_asm" in sizes["specialized"]
    assert not {"eg_matrix_i8_asm", "eg_matrix_pairs_c", "eg_matrix_rows"} & set(sizes["specialized"])
    assert sizes["specialized"]["eg_matrix_p8_asm"] < 0.7 * sizes["generic"]["eg_matrix_p8_asm"]


@pytest.mark.needs("zig", "sim")
def test_rolled_copy_bounds_the_kernels_code(tmp_path):
    """A product of more than 24 inputs gets a rolled copy of the pairs kernel (edge_gru_dsp_pairs.h), whose code does
    not grow with K: the seed-shaped GRU(50) x 5 features and a GRU(74) (the same remainder of groups and half group)
    build the same eg_matrix_p8_asm size for the Cortex-M4, and GRU(50)'s runtime .text stays in the 4 kB budget
    (zig) on the M4 and M33 and in 4.5 kB on the M7 (its straight-line copy took 4,512 / 4,522 / 4,746 B)."""
    from firmware_sim.sizes import object_sizes
    from firmware_sim.toolchain import resolve_compiler

    rng = np.random.default_rng(50)
    sizes = {}
    for units in (50, 74):
        spec = random_spec(rng, 5, [units], [(1, "sigmoid")], timesteps=4)
        fm = quantize_model(spec, rng.normal(size=(20, 4, 5)).astype(np.float32), "w8a16")
        export_c(fm, tmp_path / f"u{units}", matrix="pairs")
        assert f"#define EG_MODEL_PAIRS_K2 {units}\n" in (tmp_path / f"u{units}" / "model.h").read_text()
        sizes[units] = _m4_function_sizes(tmp_path / f"u{units}")["specialized"]["eg_matrix_p8_asm"]
    assert sizes[50] == sizes[74]
    zig = resolve_compiler("zig")
    budget = {"cortex-m4": 4096, "cortex-m33": 4096, "cortex-m7": 4608}
    for core, most in budget.items():
        assert object_sizes(tmp_path / "u50", core, zig)["runtime_text"] <= most, core


@pytest.mark.needs("zig", "sim")
def test_dsp_build_holds_only_its_products_kernel_copies(tmp_path):
    """On a DSP core the specialized runtime keeps the int8 assembly only for its products' K & 6: built for a model
    whose products have K & 6 in {6, 4}, eg_supports refuses a model with a product of K & 6 = 2 (10 units), which
    the generic build runs; emulated on a Cortex-M4, main returns 2 * supports(a) + supports(b)."""
    from firmware_sim.emulator import Emulator
    from firmware_sim.targets import get_target
    from firmware_sim.toolchain import build_elf

    rng = np.random.default_rng(5)
    X = rng.normal(size=(20, 4, 5)).astype(np.float32)
    export_c(quantize_model(random_spec(rng, 5, [12], None, timesteps=4), X, "w8a16"), tmp_path / "a", name="a")
    export_c(quantize_model(random_spec(rng, 5, [10], None, timesteps=4), X, "w8a16"), tmp_path / "b", name="b")
    main = tmp_path / "main.c"
    main.write_text('#include "edge_gru.h"\nextern const eg_model_t a_model, b_model;\n'
                    "int main(void) { return (int)(2 * eg_supports(&a_model) + eg_supports(&b_model)); }\n")
    target = get_target("nrf52840").ideal()
    for build, want in (("specialized", 2), ("generic", 3)):
        defines = ("EG_GENERIC",) if build == "generic" else ()
        elf = build_elf([main, tmp_path / "a" / "edge_gru.c", tmp_path / "a" / "model.c", tmp_path / "b" / "model.c"],
                        target, tmp_path / build, include_dirs=(tmp_path / "a",), defines=defines)
        assert Emulator(elf, target).run().exit_code == want, build


def test_eg_supports_says_which_models_a_build_runs(tmp_path):
    """A runtime specialized for a w8a16 model refuses a w16a16 model (eg_supports = 0) and runs its own; the
    generic build runs both."""
    rng = np.random.default_rng(4)
    spec = random_spec(rng, 3, [4], None, timesteps=3)
    X = rng.normal(size=(10, 3, 3)).astype(np.float32)
    export_c(quantize_model(spec, X, "w8a16"), tmp_path / "a", name="a")
    export_c(quantize_model(spec, X, "w16a16"), tmp_path / "b", name="b")
    main = tmp_path / "main.c"
    main.write_text('#include <stdio.h>\n#include "edge_gru.h"\nextern const eg_model_t a_model, b_model;\n'
                    'int main(void) { printf("%d %d\\n", (int)eg_supports(&a_model), (int)eg_supports(&b_model)); '
                    'return 0; }\n')
    for build, want in (("specialized", "1 0"), ("generic", "1 1")):
        exe = tmp_path / build
        flags = ["-DEG_GENERIC"] if build == "generic" else []
        subprocess.run([host_cc(), "-std=c99", "-O2", *flags, "-I", str(tmp_path / "a"), "-o", str(exe), str(main),
                        str(tmp_path / "a" / "edge_gru.c"), str(tmp_path / "a" / "model.c"),
                        str(tmp_path / "b" / "model.c")], check=True)    # b/model.c includes b/model.h
        assert subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split() == want.split()
