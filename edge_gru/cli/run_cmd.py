"""The ``run`` command: one model on a data set with any engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from edge_gru.cli._common import (
    _check_output,
    _console,
    _progress,
    artifact_kind,
    cc_option,
    cli,
    load_float_spec,
    resolve_cc,
)
from edge_gru.errors import DataError, ModelFileError

ENGINES = ("keras", "float", "fixed", "c", "emulator", "litert", "litert-ref", "tflm")


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
@cc_option
def run(artifact: Path, data: Path, engine: str | None, out: Path | None, raw: bool, target_name: str | None,
        targets_file: Path | None, force: bool, cc_choice: str | None) -> None:
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
        "emulator": lambda: _run_emulator(artifact, kind, data, raw, target_name, targets_file, cc_choice),
    }
    for name in ("litert", "litert-ref", "tflm"):
        runners[name] = lambda name=name: _run_tflite(artifact, kind, data, name, raw)
    if engine not in runners:
        raise DataError(f"engine {engine!r} cannot run a {kind} artifact")
    if cc_choice is not None and engine != "emulator":
        raise DataError("--cc applies to --engine emulator (the firmware build)")
    if raw and engine in ("keras", "float"):
        raise DataError("--raw applies to integer engines (fixed, litert, litert-ref, tflm)")
    if out is not None:
        if out.suffix != ".npy":         # numpy would append .npy: check (and name) the file really written
            out = out.with_name(out.name + ".npy")
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
                  targets_file: Path | None, cc_choice: str | None) -> tuple[Any, Any]:
    from edge_gru.data import load_data
    from edge_gru.fixed.model import load_fixed
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    if target_name is None:
        raise DataError("--engine emulator needs --target NAME (see `edge-gru targets`)")
    target = get_target(target_name, targets_file)
    cc = resolve_cc(cc_choice)
    if kind not in ("c", "fixed"):
        raise ModelFileError(f"{artifact}: --engine emulator needs a .egru file or a folder from "
                             "`edge-gru convert --format c`")
    fm = load_fixed(artifact / "model.egru" if kind == "c" else artifact)
    ds = load_data(data, features=fm.features, timesteps=fm.timesteps)
    with _progress() as prog:
        task = prog.add_task(f"emulating on {target.name} ({target.core})", total=len(ds.X), info="")
        res = simulate(artifact, target, ds.X, progress=lambda n: prog.update(task, advance=n), cc=cc)
    _console().print(f"{target.name}: {res.cycles_per_sequence:,.0f} cycles/sequence, {res.latency_ms:.3f} ms at "
                     f"{target.clock_mhz:g} MHz ({res.cycle_model}; emulated; compiler {cc.label()})")
    return (res.outputs if raw else fm.dequantize(res.outputs)), ds


def _run_fixed(artifact: Path, kind: str, data: Path, raw: bool) -> tuple[Any, Any]:
    from edge_gru.data import load_data

    if kind != "fixed":
        raise ModelFileError(f"{artifact}: --engine fixed needs a .egru file (make one with `edge-gru quantize`)")
    from edge_gru.fixed.model import load_fixed

    fm = load_fixed(artifact)
    ds = load_data(data, features=fm.features, timesteps=fm.timesteps)
    return (fm.predict_raw(ds.X) if raw else fm.predict(ds.X)), ds

