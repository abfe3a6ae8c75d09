"""The ``edge-gru`` command line.

Heavy modules (TensorFlow via :mod:`converters`, numba kernels) are imported inside
the commands that need them, so ``edge-gru --help`` stays fast and TensorFlow-free.
Every :class:`~edge_gru.errors.EdgeGruError` becomes one line on stderr and exit 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from edge_gru.errors import DataError, EdgeGruError, ModelFileError, OutputExistsError

ENGINES = ("keras", "float", "fixed", "c", "emulator", "litert", "litert-ref", "tflm")


def _fail(msg: str) -> None:
    click.echo(f"edge-gru: error: {msg}", err=True)
    sys.exit(2)


class _Group(click.Group):
    """A click group that turns library errors into one line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EdgeGruError as exc:
            _fail(str(exc))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            _fail("interrupted")
        except Exception as exc:  # noqa: BLE001 - last line of defence: no tracebacks for users
            if os.environ.get("EDGE_GRU_DEBUG"):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc} (set EDGE_GRU_DEBUG=1 for a traceback "
                  "and please report it)")


def _check_output(path: Path, force: bool) -> Path:
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def artifact_kind(path: str | Path) -> str:
    """Classify a model artifact: ``keras``, ``fixed``, ``spec``, ``tflite`` or ``c``.

    Raises:
        ModelFileError: The path does not exist or is of an unknown kind.
    """
    p = Path(path)
    if p.is_dir():
        return "c"
    if not p.is_file():
        raise ModelFileError(f"{p}: no such file or directory")
    suffix = p.suffix.lower()
    kinds = {".keras": "keras", ".egru": "fixed", ".egspec": "spec", ".tflite": "tflite"}
    if suffix in kinds:
        return kinds[suffix]
    raise ModelFileError(f"{p}: unknown model file type {suffix or '(none)'!r}; "
                         "expected .keras, .egru, .egspec or .tflite")


def load_float_spec(path: str | Path):
    """Load a float spec from ``.keras`` (via the Keras importer) or ``.egspec``."""
    kind = artifact_kind(path)
    if kind == "keras":
        from converters.keras_import import import_keras

        return import_keras(path)
    if kind == "spec":
        from edge_gru.spec import load_spec

        return load_spec(path)
    raise ModelFileError(f"{path}: a float model (.keras or .egspec) is needed here, got a {kind} artifact")


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[info]}"), console=_console(), transient=False)


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edge-gru")
def cli() -> None:
    """edge-gru: take a Keras-trained GRU to microcontrollers.

    Typical flow: `dataset` -> `train` -> `quantize` -> `run` / `inspect`.
    """


@cli.command()
@click.argument("name", type=click.Choice(["spoken-digits", "seed-toy"]))
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True, help="Output directory.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def dataset(name: str, out: Path, force: bool) -> None:
    """Write a built-in dataset as OUT/train.npz and OUT/test.npz."""
    from edge_gru.data import load_dataset

    train, test = load_dataset(name)
    out.mkdir(parents=True, exist_ok=True)
    for split, ds in (("train", train), ("test", test)):
        path = _check_output(out / f"{split}.npz", force)
        ds.save(path)
        click.echo(f"{path}: X {ds.X.shape}, {ds.n_classes} classes")


@cli.command()
@click.option("--dataset", "dataset_name", type=click.Choice(["spoken-digits", "seed-toy"]),
              help="Train on a built-in dataset.")
@click.option("--data", type=click.Path(path_type=Path), help="Train on an .npz file (X, y).")
@click.option("--test-data", type=click.Path(path_type=Path), help="Optional .npz for the reported accuracy.")
@click.option("--units", default=16, show_default=True, type=click.IntRange(1, 1024), help="GRU units per layer.")
@click.option("--layers", default=1, show_default=True, type=click.IntRange(1, 8), help="Stacked GRU layers.")
@click.option("--epochs", default=30, show_default=True, type=click.IntRange(1, 10000))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True, help="Output .keras file.")
@click.option("--force", is_flag=True, help="Overwrite the output.")
def train(dataset_name: str | None, data: Path | None, test_data: Path | None, units: int, layers: int,
          epochs: int, seed: int, out: Path, force: bool) -> None:
    """Train a GRU classifier and save it as a .keras file."""
    from edge_gru.data import DataError, load_data, load_dataset

    if (dataset_name is None) == (data is None):
        raise DataError("give exactly one of --dataset NAME or --data train.npz")
    if out.suffix != ".keras":
        raise DataError(f"{out}: the output must end in .keras")
    _check_output(out, force)
    if dataset_name:
        tr, te = load_dataset(dataset_name)
    else:
        tr = load_data(data)
        te = load_data(test_data, features=tr.X.shape[2]) if test_data else None
    if tr.y is None:
        raise DataError(f"{data}: training needs labels 'y'")
    from converters.keras_train import save_keras, train_classifier

    with _progress() as prog:
        task = prog.add_task(f"training GRU({units})x{layers}", total=epochs, info="")

        def on_epoch(epoch: int, logs: dict) -> None:
            prog.update(task, advance=1, info=f"loss {logs.get('loss', float('nan')):.4f}")

        model, acc = train_classifier(tr, te, units=units, layers=layers, epochs=epochs, seed=seed,
                                      on_epoch=on_epoch)
    save_keras(model, out)
    click.echo(f"saved {out}")
    if acc is not None:
        click.echo(f"test accuracy: {acc * 100:.2f}%")


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--calibration", type=click.Path(path_type=Path), required=True,
              help="Calibration inputs: .npz with X (N, T, F), typically the training data.")
@click.option("--precision", "precision_name", type=click.Choice(["w8a16", "w8a8", "w16a16"]), default="w8a16",
              show_default=True, help="Weight/activation bit widths.")
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True, help="Output .egru file.")
@click.option("--force", is_flag=True, help="Overwrite the output.")
def quantize(model: Path, calibration: Path, precision_name: str, out: Path, force: bool) -> None:
    """Quantize a float model (.keras or .egspec) into a fixed-point .egru model."""
    from edge_gru.data import load_data
    from edge_gru.fixed.model import quantize_model, save_fixed
    from edge_gru.fixed.summary import summarize

    if out.suffix != ".egru":
        raise ModelFileError(f"{out}: the output must end in .egru")
    _check_output(out, force)
    spec = load_float_spec(model)
    cal = load_data(calibration, features=spec.features, timesteps=spec.timesteps)
    fm = quantize_model(spec, cal.X, precision_name)
    summary = summarize(spec, fm, cal.X[:2000])
    fm.info.update(calibration_summary=summary)
    save_fixed(fm, out)
    for line in fm.describe():
        click.echo(line)
    click.echo(f"calibration check on {summary['n']} sequences: class agreement with float "
               f"{summary['agreement'] * 100:.2f}%, output RMSE {summary['rmse']:.3g}, "
               f"max abs error {summary['max_abs_error']:.3g}")
    click.echo(f"saved {out}")


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--calibration", type=click.Path(path_type=Path),
              help="Calibration inputs: .npz with X (N, T, F) (TFLite uses the first 200 sequences).")
@click.option("--format", "fmt", type=click.Choice(["tflite-int8", "tflite-16x8", "c"]), default="tflite-int8",
              show_default=True, help="int8 or 16x8 (int16 activations, int8 weights) TFLite, or the C runtime.")
@click.option("--layout", type=click.Choice(["unrolled", "step"]), default="unrolled", show_default=True,
              help="TFLite: whole sequence per invoke, or one timestep per invoke with explicit states.")
@click.option("--precision", "precision_name", type=click.Choice(["w8a16", "w8a8", "w16a16"]), default="w8a16",
              show_default=True, help="For --format c from a float model.")
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True, help="Output directory.")
@click.option("--name", help="For --format c: model name for C identifiers (sanitised).")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
def convert(model: Path, calibration: Path | None, fmt: str, layout: str, precision_name: str, out: Path,
            name: str | None, force: bool) -> None:
    """Convert a model: full-integer .tflite (int8 or 16x8, unrolled or step layout) or a C99 runtime folder.

    The TensorFlow converter runs in a child process, so a converter crash is reported, not fatal.
    `--format c` takes a .egru, or a float model plus --calibration.
    """
    from edge_gru.data import load_data

    if fmt == "c":
        from converters.c_export import export_c
        from edge_gru.fixed.model import load_fixed, quantize_model, save_fixed

        if artifact_kind(model) == "fixed":
            fm = load_fixed(model)
        else:
            if calibration is None:
                raise ModelFileError("--format c from a float model needs --calibration train.npz")
            spec = load_float_spec(model)
            fm = quantize_model(spec, load_data(calibration, spec.features, spec.timesteps).X, precision_name)
        if (out / "model.egru").exists() and not force:
            raise OutputExistsError(f"{out}/model.egru exists; pass --force to overwrite")
        files = export_c(fm, out, force, name=name)
        save_fixed(fm, out / "model.egru")
        from converters.c_export import memory_figures

        mem = memory_figures(fm)
        click.echo(f"wrote {len(files)} files to {out}/ ({fm.precision.name}): {mem['constant_bytes']:,} bytes of "
                   f"constant model data, {mem['ram_bytes']:,} bytes of RAM (state + scratch)")
        _append_sizes(out)
        return
    from converters.tflite_export import export_tflite
    from converters.tflite_inspect import inspect_tflite

    if calibration is None:
        raise ModelFileError(f"--format {fmt} needs --calibration train.npz")
    spec = load_float_spec(model)
    cal = load_data(calibration, features=spec.features, timesteps=spec.timesteps)
    quant = fmt.split("-")[1]
    suffix = f"-{quant}" + ("-step" if layout == "step" else "")
    target = _check_output(out / f"{_safe_stem(model)}{suffix}.tflite", force)
    size = export_tflite(spec, cal.X, target, quant, layout)
    info = inspect_tflite(target)
    how = f"unrolled over {spec.timesteps} steps" if layout == "unrolled" else "one timestep per invoke"
    click.echo(f"wrote {target} ({size:,} bytes, {quant}, {how}; {len(info.ops)} operators, no float operators)")


def _append_sizes(folder: Path) -> None:
    """Cross-compile the export for a few cores and add the section sizes to its README (when a compiler exists)."""
    from edge_gru.errors import ToolMissingError

    try:
        from firmware_sim.sizes import SIZE_CORES, object_sizes, sizes_markdown
        from firmware_sim.toolchain import find_compiler

        cc = find_compiler()
        rows = {core: object_sizes(folder, core) for core in SIZE_CORES}
    except (ToolMissingError, ImportError):
        click.echo("(no Arm cross-compiler: section sizes per core not measured; pip install ziglang)")
        return
    table = sizes_markdown(rows, "arm-none-eabi-gcc" if cc.kind == "gcc" else "zig cc (clang)")
    with open(folder / "README.md", "a") as fh:
        fh.write("\n" + table)
    click.echo(table)


def _safe_stem(path: Path) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem) or "model"


@cli.command()
@click.argument("artifact", type=click.Path(path_type=Path))
def inspect(artifact: Path) -> None:
    """Print a model's architecture, parameter count and MACs per sequence (.tflite: ops, tensors, quantization)."""
    kind = artifact_kind(artifact)
    if kind == "tflite":
        from converters.tflite_inspect import inspect_tflite

        for line in inspect_tflite(artifact).describe():
            click.echo(line)
        return
    if kind == "fixed":
        from edge_gru.fixed.model import load_fixed

        fm = load_fixed(artifact)
        for line in fm.describe():
            click.echo(line)
        return
    spec = load_float_spec(artifact)
    for line in spec.describe():
        click.echo(line)


@cli.command()
@click.argument("artifact", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--engine", type=click.Choice(ENGINES), default=None,
              help="Implementation to run (default: chosen from the artifact).")
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), help="Write outputs (N, K) as .npy.")
@click.option("--raw", is_flag=True, help="Write the integer output tensor instead of floats (fixed engine).")
@click.option("--target", "target_name", help="Target for --engine emulator (see `edge-gru targets`).")
@click.option("--targets-file", type=click.Path(path_type=Path), help="Extra targets (TOML).")
@click.option("--force", is_flag=True, help="Overwrite the output.")
def run(artifact: Path, data: Path, engine: str | None, out: Path | None, raw: bool, target_name: str | None,
        targets_file: Path | None, force: bool) -> None:
    """Run a model on DATA (.npz with X) and report accuracy when labels exist.

    Engines: keras, float (numpy reference), fixed (Numba integer reference), c (host C compiler),
    emulator (the C runtime cross-compiled and run on an emulated Cortex-M, needs --target),
    litert, litert-ref (LiteRT reference kernels), tflm (TFLite Micro).
    """
    import numpy as np

    from edge_gru.data import accuracy

    kind = artifact_kind(artifact)
    engine = engine or {"keras": "keras", "spec": "float", "fixed": "fixed", "tflite": "litert"}.get(kind, kind)
    runners: dict[str, Callable[[], tuple[Any, Any]]] = {
        "keras": lambda: _run_keras(artifact, kind, data),
        "float": lambda: _run_float(artifact, data),
        "fixed": lambda: _run_fixed(artifact, kind, data, raw),
        "c": lambda: _run_c(artifact, kind, data, raw),
        "emulator": lambda: _run_emulator(artifact, kind, data, raw, target_name, targets_file),
    }
    for name in ("litert", "litert-ref", "tflm"):
        runners[name] = lambda name=name: _run_tflite(artifact, kind, data, name, raw)
    if engine not in runners:
        raise DataError(f"engine {engine!r} cannot run a {kind} artifact")
    if raw and engine in ("keras", "float"):
        raise DataError("--raw applies to integer engines (fixed, litert, litert-ref, tflm)")
    if out is not None:
        _check_output(out, force)
    outputs, ds = runners[engine]()
    if out is not None:
        np.save(out, outputs)
        click.echo(f"wrote {out} {outputs.shape} {outputs.dtype}")
    click.echo(f"engine {engine}: {len(outputs)} sequences, output width {outputs.shape[1]}")
    if ds.y is not None and not raw:
        click.echo(f"accuracy: {accuracy(outputs, ds.y) * 100:.2f}%")


def _run_keras(artifact: Path, kind: str, data: Path) -> tuple[Any, Any]:
    import numpy as np

    from edge_gru.data import load_data

    if kind != "keras":
        raise ModelFileError(f"{artifact}: --engine keras needs a .keras file")
    from converters.keras_import import import_keras, load_keras

    model = load_keras(artifact)
    spec = import_keras(model)
    ds = load_data(data, features=spec.features, timesteps=spec.timesteps)
    return np.asarray(model.predict(ds.X, verbose=0, batch_size=256), np.float32), ds


def _run_float(artifact: Path, data: Path) -> tuple[Any, Any]:
    from edge_gru.data import load_data
    from edge_gru.float_ref import predict

    spec = load_float_spec(artifact)
    ds = load_data(data, features=spec.features, timesteps=spec.timesteps)
    return predict(spec, ds.X), ds


def _run_tflite(artifact: Path, kind: str, data: Path, engine: str, raw: bool) -> tuple[Any, Any]:
    from edge_gru.data import load_data
    from edge_gru.runtime.tflite import TFLiteRunner

    if kind != "tflite":
        raise ModelFileError(f"{artifact}: --engine {engine} needs a .tflite file (make one with `edge-gru convert`)")
    r = TFLiteRunner(artifact, engine)
    ds = load_data(data, features=r.features, timesteps=r.input_shape[1] if r.layout == "unrolled" else None)
    out = r.predict_raw(r.quantize(ds.X))
    return (out if raw else r.dequantize(out)), ds


def _run_c(artifact: Path, kind: str, data: Path, raw: bool) -> tuple[Any, Any]:
    from edge_gru.data import load_data
    from edge_gru.fixed.model import load_fixed
    from edge_gru.runtime.c_host import run_host

    if kind != "c" or not (artifact / "model.egru").is_file():
        raise ModelFileError(f"{artifact}: --engine c needs a folder from `edge-gru convert --format c`")
    fm = load_fixed(artifact / "model.egru")
    ds = load_data(data, features=fm.features, timesteps=fm.timesteps)
    out = run_host(artifact, fm.quantize_input(ds.X))
    return (out if raw else fm.dequantize(out)), ds


def _run_emulator(artifact: Path, kind: str, data: Path, raw: bool, target_name: str | None,
                  targets_file: Path | None) -> tuple[Any, Any]:
    from edge_gru.data import load_data
    from edge_gru.fixed.model import load_fixed
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    if target_name is None:
        raise DataError("--engine emulator needs --target NAME (see `edge-gru targets`)")
    target = get_target(target_name, targets_file)
    if kind not in ("c", "fixed"):
        raise ModelFileError(f"{artifact}: --engine emulator needs a .egru file or a folder from "
                             "`edge-gru convert --format c`")
    fm = load_fixed(artifact / "model.egru" if kind == "c" else artifact)
    ds = load_data(data, features=fm.features, timesteps=fm.timesteps)
    with _progress() as prog:
        task = prog.add_task(f"emulating on {target.name} ({target.core})", total=len(ds.X), info="")
        res = simulate(artifact, target, ds.X, progress=lambda n: prog.update(task, advance=n))
    _console().print(f"{target.name}: {res.cycles_per_sequence:,.0f} cycles/sequence, {res.latency_ms:.3f} ms at "
                     f"{target.clock_mhz:g} MHz ({res.cycle_model}; emulated)")
    return (res.outputs if raw else fm.dequantize(res.outputs)), ds


def _run_fixed(artifact: Path, kind: str, data: Path, raw: bool) -> tuple[Any, Any]:
    from edge_gru.data import load_data

    if kind != "fixed":
        raise ModelFileError(f"{artifact}: --engine fixed needs a .egru file (make one with `edge-gru quantize`)")
    from edge_gru.fixed.model import load_fixed

    fm = load_fixed(artifact)
    ds = load_data(data, features=fm.features, timesteps=fm.timesteps)
    return (fm.predict_raw(ds.X) if raw else fm.predict(ds.X)), ds


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--targets-file", type=click.Path(path_type=Path), help="Extra targets (TOML, same format as ours).")
def targets(as_json: bool, targets_file: Path | None) -> None:
    """List the microcontroller targets (core, clock, flash, RAM)."""
    import json

    from firmware_sim.targets import load_targets

    tg = load_targets(targets_file)
    if as_json:
        click.echo(json.dumps([t.as_dict() for t in tg.values()], indent=2))
        return
    click.echo(f"{'name':<12} {'core':<14} {'MHz':>5} {'flash kB':>9} {'RAM kB':>7}  part")
    for t in tg.values():
        click.echo(f"{t.name:<12} {t.core:<14} {t.clock_mhz:>5g} {t.flash_kb:>9} {t.ram_kb:>7}  {t.part}")


@cli.command()
@click.argument("artifact", type=click.Path(path_type=Path), required=False)
@click.option("--target", "target_name", required=True, help="Target name (see `edge-gru targets`).")
@click.option("--targets-file", type=click.Path(path_type=Path), help="Extra targets (TOML).")
@click.option("--data", type=click.Path(path_type=Path), help="Inputs (.npz with X); default: 4 synthetic sequences.")
@click.option("--sequences", type=click.IntRange(1), help="Emulate only the first N sequences of --data.")
@click.option("--calibration", type=click.Path(path_type=Path), help="For a float model: calibration inputs.")
@click.option("--precision", "precision_name", type=click.Choice(["w8a16", "w8a8", "w16a16"]), default="w8a16",
              show_default=True, help="For a float model.")
@click.option("--elf", type=click.Path(path_type=Path), help="Run this bare-metal ELF instead of a model.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Also write the figures as JSON.")
@click.option("--force", is_flag=True, help="Overwrite --json.")
def simulate(artifact: Path | None, target_name: str, targets_file: Path | None, data: Path | None,
             sequences: int | None, calibration: Path | None, precision_name: str, elf: Path | None,
             json_out: Path | None, force: bool) -> None:
    """Emulate the C runtime of ARTIFACT (.egru, C folder, or .keras/.egspec with --calibration) on a target.

    Reports MACs, cycles per sequence and per step, cycles/MAC, latency at the target clock, flash, RAM
    (with the measured peak stack), whether it fits, and checks the outputs bit for bit against the
    Numba reference. With --elf, runs any program built with our startup code (semihosting output and
    exit code are shown).
    """
    import json

    from firmware_sim.targets import get_target

    target = get_target(target_name, targets_file)
    if json_out is not None:
        _check_output(json_out, force)
    if elf is not None:
        if artifact is not None:
            raise DataError("give either ARTIFACT or --elf, not both")
        result = _simulate_elf(elf, target)
    elif artifact is None:
        raise DataError("give a model (ARTIFACT) or --elf PROGRAM")
    else:
        result = _simulate_model(artifact, target, data, sequences, calibration, precision_name)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2, default=float))
        click.echo(f"wrote {json_out}")


def _simulate_elf(elf: Path, target: Any) -> dict:
    from firmware_sim.emulator import Emulator

    res = Emulator(elf, target).run()
    if res.stdout:
        click.echo(res.stdout, nl=not res.stdout.endswith("\n"))
    click.echo(f"{target.name} ({target.core}, {res.model}): exit code {res.exit_code}, {res.cycles:,.0f} cycles, "
               f"{res.instructions:,} instructions, {res.cycles / (target.clock_mhz * 1e3):.3f} ms at "
               f"{target.clock_mhz:g} MHz, peak stack {res.stack_bytes} bytes (emulated)")
    return {"target": target.name, "core": target.core, "exit_code": res.exit_code, "cycles": res.cycles,
            "instructions": res.instructions, "stack_bytes": res.stack_bytes, "stdout": res.stdout,
            "cycle_model": res.model, "method": "emulated"}


def _simulate_model(artifact: Path, target: Any, data: Path | None, sequences: int | None,
                    calibration: Path | None, precision_name: str) -> dict:
    import numpy as np

    from edge_gru.data import load_data
    from edge_gru.fixed.model import load_fixed, quantize_model
    from firmware_sim.simulate import simulate

    kind = artifact_kind(artifact)
    if kind == "c":
        if not (artifact / "model.egru").is_file():
            raise ModelFileError(f"{artifact}: not a folder from `edge-gru convert --format c` (no model.egru)")
        fm = load_fixed(artifact / "model.egru")
        model: Any = artifact
    elif kind == "fixed":
        model = fm = load_fixed(artifact)
    elif kind in ("keras", "spec"):
        if calibration is None:
            raise DataError(f"{artifact}: a float model needs --calibration train.npz to be quantized first")
        spec = load_float_spec(artifact)
        model = fm = quantize_model(spec, load_data(calibration, spec.features, spec.timesteps).X, precision_name)
    else:
        raise ModelFileError(f"{artifact}: simulate takes a .egru, a C export folder, or a .keras/.egspec model")
    if data is not None:
        X = load_data(data, features=fm.features, timesteps=fm.timesteps).X
    else:
        X = np.random.default_rng(0).normal(size=(4, fm.timesteps or 16, fm.features)).astype(np.float32)
    X = X[:sequences] if sequences else X
    with _progress() as prog:
        task = prog.add_task(f"emulating on {target.name} ({target.core})", total=len(X), info="")
        res = simulate(model, target, X, progress=lambda n: prog.update(task, advance=n))
    ref = fm.predict_raw(X)
    same = int(np.sum(np.all(ref == res.outputs, axis=1)))
    rows = [("MACs per sequence", f"{res.macs_per_sequence:,}"),
            ("cycles per sequence", f"{res.cycles_per_sequence:,.0f} (min {res.cycles_per_sequence_min:,.0f}, "
                                    f"max {res.cycles_per_sequence_max:,.0f})"),
            ("cycles per timestep", f"{res.cycles_per_step:,.0f}"),
            ("cycles per MAC", f"{res.cycles_per_mac:.2f}"),
            ("latency", f"{res.latency_ms:.3f} ms at {target.clock_mhz:g} MHz"),
            ("flash", f"{res.flash_bytes:,} B (.text {res.text_bytes:,} + .rodata {res.rodata_bytes:,} + "
                      f".data {res.data_bytes:,}) of {res.flash_available:,}"),
            ("RAM", f"{res.ram_bytes:,} B (.data {res.data_bytes:,} + .bss {res.bss_bytes:,} + stack "
                    f"{res.stack_bytes:,}) of {res.ram_available:,}"),
            ("fits", "yes" if res.fits else "NO"),
            ("bit-exact vs Numba", f"{same}/{len(X)} sequences")]
    click.echo(f"{target.name}: {target.part}, {target.core}; {res.sequences} sequences x {res.timesteps} steps; "
               f"cycle model: {res.cycle_model}; figures emulated (zero wait-state memory, no caches)")
    for k, v in rows:
        click.echo(f"  {k:<20} {v}")
    if same != len(X):
        raise EdgeGruError(f"emulated outputs differ from the Numba reference on {len(X) - same} sequences")
    d = res.as_dict()
    d["bitexact_sequences"] = same
    return d


DEFAULT_TARGETS = "rp2040,stm32l4r5,stm32h7"


def _report_progress(prog: Any, total: int) -> Callable[[str, int], None]:
    task = prog.add_task("emulating", total=total, info="")

    def tick(what: str, n: int) -> None:
        prog.update(task, advance=n, description=what)

    return tick


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--calibration", type=click.Path(path_type=Path), required=True, help="Calibration inputs (.npz).")
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Test data (.npz with X and y).")
@click.option("--targets", "target_names", default=DEFAULT_TARGETS, show_default=True,
              help="Comma-separated targets to emulate (see `edge-gru targets`); empty for none.")
@click.option("--targets-file", type=click.Path(path_type=Path), help="Extra targets (TOML).")
@click.option("--precisions", default="w8a8,w8a16,w16a16", show_default=True, help="Fixed-point precisions.")
@click.option("--emulate-sequences", type=click.IntRange(1), help="Emulate only the first N test sequences.")
@click.option("--no-tflite", is_flag=True, help="Skip the int8 TFLite rows (no TensorFlow conversion).")
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True, help="Output directory.")
@click.option("--force", is_flag=True, help="Write into a non-empty output directory.")
def report(model: Path, calibration: Path, data: Path, target_names: str, targets_file: Path | None, precisions: str,
           emulate_sequences: int | None, no_tflite: bool, out: Path, force: bool) -> None:
    """Accuracy-vs-latency report of every implementation: report.json, report.md, report.html, plots."""
    from edge_gru.data import load_data

    if out.exists() and any(out.iterdir()) and not force:
        raise OutputExistsError(f"{out} is not empty; pass --force to write into it")
    targets, precs = _report_choices(target_names, targets_file, precisions)
    spec = load_float_spec(model)
    cal = load_data(calibration, spec.features, spec.timesteps)
    test = load_data(data, spec.features, spec.timesteps)
    _run_report(spec, cal.X, test, targets, precs, out, emulate_sequences, not no_tflite)


def _report_choices(target_names: str, targets_file: Path | None, precisions: str) -> tuple[list, list[str]]:
    from edge_gru.fixed.quantize import PRECISIONS
    from firmware_sim.targets import get_target

    targets = [get_target(t.strip(), targets_file) for t in target_names.split(",") if t.strip()]
    precs = [p.strip() for p in precisions.split(",") if p.strip()]
    bad = [p for p in precs if p not in PRECISIONS]
    if bad or not precs:
        raise DataError(f"unknown precision {', '.join(bad) or '(none)'}; choose from {', '.join(PRECISIONS)}")
    return targets, precs


def _run_report(spec: Any, cal_X: Any, test: Any, targets: list, precs: list[str], out: Path,
                emulate_sequences: int | None, tflite: bool) -> dict:
    from firmware_sim.report import build_report

    n_emu = min(len(test.X), emulate_sequences or len(test.X))
    with _progress() as prog:
        tick = _report_progress(prog, max(1, len(targets) * len(precs) * n_emu))
        rep = build_report(spec, cal_X, test, targets, precs, out, say=prog.console.print, tick=tick,
                           emulate_sequences=emulate_sequences, tflite=tflite)
    click.echo((out / "report.md").read_text().split("\n## Assumptions")[0])
    click.echo(f"report: {out / 'report.html'} (also report.md, report.json, plots)")
    return rep


@cli.command()
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), default=Path("demo-out"), show_default=True,
              help="Output directory.")
@click.option("--epochs", default=30, show_default=True, type=click.IntRange(1, 1000))
@click.option("--targets", "target_names", default=DEFAULT_TARGETS, show_default=True,
              help="Targets to emulate on.")
@click.option("--emulate-sequences", type=click.IntRange(1), default=200, show_default=True,
              help="Emulate the first N test sequences per target and precision.")
@click.option("--force", is_flag=True, help="Reuse a non-empty output directory.")
def demo(out: Path, epochs: int, target_names: str, emulate_sequences: int | None, force: bool) -> None:
    """Train spoken-digits GRU(16), convert to every format, emulate on a few targets, write the report."""
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputExistsError(f"{out} is not empty; pass --force to write into it")
    from firmware_sim.demo import train_demo_model

    targets, precs = _report_choices(target_names, None, "w8a8,w8a16,w16a16")
    with _progress() as prog:
        task = prog.add_task("training spoken-digits GRU(16)", total=epochs, info="")

        def on_epoch(epoch: int, logs: dict) -> None:
            prog.update(task, advance=1, info=f"loss {logs.get('loss', float('nan')):.4f}")

        spec, train, test = train_demo_model(out, epochs=epochs, say=prog.console.print, on_epoch=on_epoch)
    _run_report(spec, train.X, test, targets, precs, out, emulate_sequences, True)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="edge-gru")


if __name__ == "__main__":
    main()
