"""The ``run`` command: one model on a data set with any engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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

ENGINES = ("keras", "onnxruntime", "float", "fixed", "c", "emulator", "litert", "litert-ref", "tflm")


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

    Engines: keras, onnxruntime (an .onnx file as it is), float (numpy reference), fixed (Numba integer
    reference), c (host C compiler),
    emulator (the C runtime cross-compiled and run on an emulated Cortex-M, needs --target),
    litert, litert-ref (LiteRT reference kernels), tflm (TFLite Micro).
    """
    kind = artifact_kind(artifact)
    engine = engine or {"keras": "keras", "onnx": "onnxruntime", "spec": "float", "fixed": "fixed",
                        "tflite": "litert"}.get(kind, kind)
    if engine not in ENGINES or (engine == "c" and kind != "c"):
        raise DataError(f"engine {engine!r} cannot run a {kind} artifact")
    if cc_choice is not None and engine != "emulator":
        raise DataError("--cc applies to --engine emulator (the firmware build)")
    if raw and engine in ("keras", "onnxruntime", "float"):
        raise DataError("--raw applies to integer engines (fixed, litert, litert-ref, tflm)")
    if out is not None:
        if out.suffix != ".npy":         # numpy would append .npy: check (and name) the file really written
            out = out.with_name(out.name + ".npy")
        _check_output(out, force)
    opener = {"keras": _open_keras, "onnxruntime": _open_onnx, "float": _open_float, "fixed": _open_fixed, "c": _open_c,
              "litert": _open_tflite, "litert-ref": _open_tflite, "tflm": _open_tflite}
    if engine == "emulator":
        model = _open_emulator(artifact, kind, raw, target_name, targets_file, cc_choice)
    else:
        model = opener[engine](artifact, kind, engine, raw)
    try:
        outputs, y = _run_chunks(model, data)
    finally:
        model.close()
    if out is not None:
        _save_npy(out, outputs)
        click.echo(f"wrote {out} {outputs.shape} {outputs.dtype}")
    if outputs.ndim == 3:
        click.echo(f"engine {engine}: {len(outputs)} sequences, an output of width {outputs.shape[2]} at each of "
                   f"{outputs.shape[1]} steps")
    else:
        click.echo(f"engine {engine}: {len(outputs)} sequences, output width {outputs.shape[1]}")
    if y is not None and not raw:
        from edge_gru.data import accuracy, check_targets

        check_targets(outputs, y)
        what = "frame accuracy (every step of every sequence)" if outputs.ndim == 3 else "accuracy"
        click.echo(f"{what}: {accuracy(outputs, y) * 100:.2f}%")
        if y.dtype.kind == "f" and y.shape == outputs.shape:      # regression targets
            import numpy as np

            rmse = float(np.sqrt(np.mean((outputs.astype(np.float64) - y) ** 2)))
            click.echo(f"{'per-step ' if outputs.ndim == 3 else ''}RMSE against y: {rmse:.4g}")


@dataclass
class _Model:
    """An engine ready to run: the input it expects and a function from float inputs to outputs."""

    features: int | None
    timesteps: int | None
    predict: Callable[[Any, Any], Any]               # (X chunk, lengths chunk or None) -> outputs
    close: Callable[[], None] = lambda: None
    after: Callable[[int], None] | None = None     # called with the number of sequences run, at the end
    vocab: int | None = None                       # token-id input (embedding models)


def _run_chunks(model: _Model, data: Path) -> tuple[Any, Any]:
    """Run the data file in chunks of ``CHUNK_BYTES`` of ``X``: memory stays bounded whatever its size."""
    import numpy as np

    from edge_gru.data import DataFile

    with DataFile(data, None if model.vocab else model.features, model.timesteps, model.vocab) as f:
        outs, done = [], 0
        for X in f.chunks():
            lens = None if f.lengths is None else f.lengths[done:done + len(X)]
            outs.append(model.predict(X, lens))
            done += len(X)
        y = f.y
    outputs = np.concatenate(outs)
    if model.after is not None:
        model.after(len(outputs))
    return outputs, y


def _save_npy(out: Path, outputs: Any) -> None:
    import numpy as np

    from edge_gru.outputs import atomic_file

    with atomic_file(out) as tmp, open(tmp, "wb") as fh:
        np.save(fh, outputs)


def _finite(engine: str, outputs: Any) -> Any:
    """Float engines: refuse outputs float32 cannot represent instead of returning NaN."""
    import numpy as np

    bad = ~np.isfinite(outputs.reshape(len(outputs), -1)).all(axis=1)
    if bad.any():
        raise DataError(f"the {engine} engine produced NaN or infinite outputs for {int(bad.sum())} sequences "
                        f"(first: {int(np.argmax(bad))} of this chunk): the inputs are too large for float32 "
                        "arithmetic; rescale the data (the fixed-point engines saturate instead)")
    return outputs


def _open_keras(artifact: Path, kind: str, engine: str, raw: bool) -> _Model:
    import numpy as np

    if kind != "keras":
        raise ModelFileError(f"{artifact}: --engine keras needs a .keras file")
    from converters.keras_import import import_keras, load_keras

    model = load_keras(artifact)
    spec = import_keras(model)

    def predict(X: Any, lengths: Any) -> Any:
        if lengths is not None:
            raise DataError("--engine keras does not take a lengths array (Keras masks come from padding); "
                            "use --engine float, which applies lengths as a mask")
        return _finite("keras", np.asarray(model.predict(X, verbose=0, batch_size=256), np.float32))

    return _Model(spec.features, spec.timesteps, predict, vocab=_vocab(spec))


def _open_onnx(artifact: Path, kind: str, engine: str, raw: bool) -> _Model:
    import numpy as np

    if kind != "onnx":
        raise ModelFileError(f"{artifact}: --engine onnxruntime needs an .onnx file")
    from edge_gru.importers.onnx_import import load_onnx, onnx_predict, read_spec

    m = load_onnx(artifact)
    spec, time_axis = read_spec(m)          # the layout of the file's input (time first or batch first)

    def predict(X: Any, lengths: Any) -> Any:
        if lengths is not None:
            raise DataError("--engine onnxruntime does not take a lengths array (the file runs every step); "
                            "use --engine float, which applies lengths as a mask")
        return _finite("onnxruntime", onnx_predict(m, np.asarray(X), time_axis))

    return _Model(spec.features, spec.timesteps, predict, vocab=_vocab(spec))


def _open_float(artifact: Path, kind: str, engine: str, raw: bool) -> _Model:
    from edge_gru.float_ref import predict

    spec = load_float_spec(artifact)
    return _Model(spec.features, spec.timesteps, lambda X, L: _finite("float", predict(spec, X, lengths=L)),
                  vocab=_vocab(spec))


def _vocab(model: Any) -> int | None:
    from edge_gru.data import data_args

    return data_args(model)["vocab"]


def _open_tflite(artifact: Path, kind: str, engine: str, raw: bool) -> _Model:
    from edge_gru.tflite.runner import predict_file, probe_file

    if kind != "tflite":
        raise ModelFileError(f"{artifact}: --engine {engine} needs a .tflite file (make one with `edge-gru convert`)")
    info = probe_file(artifact, engine)      # the interpreter runs in child processes: a crash is an error line
    return _Model(info["features"], info["timesteps"],
                  lambda X, L: predict_file(artifact, engine, X, raw, checked=True, lengths=L),
                  vocab=info.get("vocab"))


def _open_c(artifact: Path, kind: str, engine: str, raw: bool) -> _Model:
    from converters.c_export import check_c_folder
    from edge_gru.runtime.c_host import HostProgram

    fm = check_c_folder(artifact)
    prog = HostProgram(artifact)

    def predict(X: Any, lengths: Any) -> Any:
        out = prog.run(*fm.device_input(X, lengths))
        if fm.per_step:        # eg_run_seq's rows placed at the input's steps (masked ones repeat the one before)
            out = fm.expand_device_outputs(out, prog.zero_output, fm.device_step_index(X, lengths))
        return out if raw else fm.dequantize(out)

    return _Model(fm.features, fm.timesteps, predict, prog.close, vocab=fm.vocab)


def _open_emulator(artifact: Path, kind: str, raw: bool, target_name: str | None, targets_file: Path | None,
                   cc_choice: str | None) -> _Model:
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    if target_name is None:
        raise DataError("--engine emulator needs --target NAME (see `edge-gru targets`)")
    target = get_target(target_name, targets_file)
    from firmware_sim.simulate import check_emulator

    check_emulator(target)
    cc = resolve_cc(cc_choice)
    if kind not in ("c", "fixed"):
        raise ModelFileError(f"{artifact}: --engine emulator needs a .egru file or a folder from "
                             "`edge-gru convert --format c`")
    if kind == "c":
        from converters.c_export import check_c_folder

        fm = check_c_folder(artifact)
    else:
        from edge_gru.fixed.io import load_fixed

        fm = load_fixed(artifact)
    prog = _progress()
    prog.start()
    task = prog.add_task(f"emulating on {target.name} ({target.core})", total=None, info="")
    results: list = []

    def predict(X: Any, lengths: Any) -> Any:
        res = simulate(artifact, target, X, progress=lambda n: prog.update(task, advance=n), cc=cc, lengths=lengths)
        results.append(res)
        return res.outputs if raw else fm.dequantize(res.outputs)

    def after(n: int) -> None:
        prog.stop()
        cps = sum(r.cycles_per_sequence * r.sequences for r in results) / n
        steps = sum(r.steps_per_sequence * r.sequences for r in results) / n
        ms = cps / (target.clock_mhz * 1e3)
        per = "token" if fm.tokens else "step"
        _console().print(f"{target.name}: {cps:,.0f} cycles/sequence, {cps / max(steps, 1e-9):,.0f} cycles/{per} "
                         f"({steps:.1f} real {per}s per sequence), {ms:.3f} ms at {target.clock_mhz:g} MHz "
                         f"({results[0].cycle_model}; emulated; compiler {cc.label()})")

    return _Model(fm.features, fm.timesteps, predict, prog.stop, after, vocab=fm.vocab)


def _open_fixed(artifact: Path, kind: str, engine: str, raw: bool) -> _Model:
    if kind != "fixed":
        raise ModelFileError(f"{artifact}: --engine fixed needs a .egru file (make one with `edge-gru quantize`)")
    from edge_gru.fixed.io import load_fixed

    fm = load_fixed(artifact)
    return _Model(fm.features, fm.timesteps,
                  lambda X, L: fm.predict_raw(X, lengths=L) if raw else fm.predict(X, lengths=L), vocab=fm.vocab)
