"""Accuracy-vs-latency report: every implementation of one model, on host and on emulated targets.

Rows (``report.json``): float reference; int8 TFLite under LiteRT and under TFLite Micro (host runs,
measured); each fixed-point precision (Numba, measured); the C runtime emulated on each target at
each precision (``emulated``); TFLite Micro on each target (``estimated`` cycles, measured accuracy
and arena). Every figure is computed in this run.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge_gru.data import Dataset, accuracy
from edge_gru.fixed.io import save_fixed
from edge_gru.fixed.model import FixedModel, quantize_model
from edge_gru.fixed.summary import compare_outputs
from edge_gru.float_ref import predict
from edge_gru.spec import ModelSpec, save_spec
from edge_gru.workflows.pareto import ACCURACY_LATENCY, mark_front
from firmware_sim.targets import Target

log = logging.getLogger(__name__)

KEYS = ("implementation", "precision", "target", "accuracy", "accuracy_delta", "agreement", "rmse", "mae", "l2r",
        "cosine", "max_lsb_diff", "macs", "cycles", "cycles_per_step", "cycles_per_mac", "latency_ms", "flash_bytes",
        "ram_bytes", "fits", "method")
Say = Callable[[str], None]
Tick = Callable[[str, int], None]


def _row(**kw) -> dict:
    row = dict.fromkeys(KEYS)
    row.update(kw)
    return row


def float_logits(spec: ModelSpec, X: np.ndarray) -> np.ndarray:
    """The float network's outputs before a final sigmoid/softmax (what fixed-point raw outputs represent)."""
    if spec.dense and spec.dense[-1].activation in ("sigmoid", "softmax"):
        spec = dataclasses.replace(spec, dense=[*spec.dense[:-1],
                                                dataclasses.replace(spec.dense[-1], activation="linear")])
    return predict(spec, X)


def _quality(y: np.ndarray, y_float: np.ndarray, labels: np.ndarray | None, acc_float: float | None) -> dict:
    cmp = compare_outputs(y_float, y)
    acc = accuracy(y, labels) if labels is not None else None
    return {"accuracy": acc, "accuracy_delta": (acc - acc_float) if acc is not None and acc_float is not None
            else None, "agreement": cmp["agreement"], "rmse": cmp["rmse"], "mae": cmp["mae"], "l2r": cmp["l2r"],
            "cosine": cmp["cosine"]}


def _timed(fn: Callable[[], np.ndarray], n: int) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) / max(n, 1) * 1e6


def _fixed_rows(spec: ModelSpec, fm: FixedModel, test: Dataset, y_float: np.ndarray, logits: np.ndarray,
                acc_float: float | None) -> tuple[dict, np.ndarray]:
    fm.predict_raw(test.X[:2])                                       # JIT warm-up, not timed
    raw, us = _timed(lambda: fm.predict_raw(test.X), len(test.X))
    ref_int = np.round(logits / fm.output_scale)
    row = _row(implementation="fixed-point (Numba)", precision=fm.precision.name, method="measured",
               macs=fm.macs_per_sequence(test.X.shape[1]), flash_bytes=None,
               max_lsb_diff=float(np.abs(raw - ref_int).max()),
               **_quality(fm.dequantize(raw), y_float, test.y, acc_float))
    row["host_us_per_seq"] = us
    return row, raw


def _tflite_rows(tfl: Path, test: Dataset, y_float: np.ndarray, acc_float: float | None,
                 masked: bool = False) -> dict[str, dict]:
    from edge_gru.tflite.runner import TFLiteRunner

    rows = {}
    note = ", unrolled: padding steps run (no mask)" if masked else ""
    for engine, label in (("litert", f"TFLite int8 (LiteRT{note})"), ("tflm", f"TFLite int8 (TFLite Micro{note})")):
        r = TFLiteRunner(tfl, engine)
        xq = r.quantize(test.X)
        raw, us = _timed(lambda r=r, xq=xq: r.predict_raw(xq), len(xq))
        y = r.dequantize(raw)
        lsb = _lsb_diff(raw, y_float, r.out_scale, r.out_zero)
        row = _row(implementation=label, precision="int8", method="measured", flash_bytes=tfl.stat().st_size,
                   max_lsb_diff=float(lsb.max()), **_quality(y, y_float, test.y, acc_float))
        row["host_us_per_seq"] = us
        row["raw"] = raw
        row["y"] = y
        row["lsb"] = lsb
        rows[engine] = row
    rows["litert"].pop("y")
    rows["litert"].pop("lsb")
    a, b = rows["litert"].pop("raw"), rows["tflm"]["raw"]
    diff = np.abs(a.astype(np.int64) - b.astype(np.int64))
    rows["tflm"]["litert_vs_tflm"] = {"differing_outputs": float(np.mean(diff > 0)), "max_lsb": int(diff.max())}
    return rows


def _emulated_row(fm: FixedModel, target: Target, X: np.ndarray, labels: np.ndarray | None, raw_ref: np.ndarray,
                  y_float: np.ndarray, acc_float: float | None, work: Path, tick: Tick | None, cc=None,
                  placement: str = "flash") -> dict:
    from firmware_sim.simulate import simulate

    def progress(n: int) -> None:
        if tick:
            tick(f"emulating {fm.precision.name} on {target.name} ({placement})", n)

    res = simulate(fm, target, X, work_dir=work, progress=progress, cc=cc, placement=placement)
    if labels is not None and len(X) < len(y_float):    # compare with float on the same (emulated) sequences
        acc_float = accuracy(y_float[:len(X)], labels)
    bitexact = float(np.mean(np.all((res.outputs == raw_ref[:len(X)]).reshape(len(X), -1), axis=1)))   # per sequence
    where = {"flash": "", "weights-ram": ", weights in RAM", "ram": ", all in RAM"}[placement]
    row = _row(implementation=f"C runtime ({res.kernel}) on {target.core} (emulated{where})",
               precision=fm.precision.name,
               target=target.name, method="emulated", macs=res.macs_per_sequence, cycles=res.cycles_per_sequence,
               cycles_per_step=res.cycles_per_step, cycles_per_mac=res.cycles_per_mac, latency_ms=res.latency_ms,
               flash_bytes=res.flash_bytes, ram_bytes=res.ram_bytes, fits=res.fits, max_lsb_diff=None,
               **_quality(fm.dequantize(res.outputs), y_float[:len(X)], labels, acc_float))
    row.update({"sequences": len(X), "bitexact_vs_numba": bitexact, "kernel": res.kernel, "kernel_path": res.kernel,
                "emulator": res.emulator, "loop_floor_cycles_per_mac": res.loop_floor_cycles_per_mac,
                "steps_per_sequence": res.steps_per_sequence,
                "loop_cycles_per_mac": res.loop_cycles_per_mac, "executed_macs": res.padded_macs_per_sequence,
                "stack_bytes": res.stack_bytes, "cycle_model": res.cycle_model, "compiler": res.compiler,
                "placement": res.placement, "cycles_cold": res.cycles_cold, "memory": res.memory,
                "memory_validated": res.memory_validated or None,
                "stall_cycles_per_sequence": res.stall_cycles_per_sequence,
                "ram_resident_bytes": res.ram_resident_bytes,
                "breakdown": {k: round(v) for k, v in list(res.breakdown.items())[:8]}})
    return row


def _lsb_diff(raw: np.ndarray, y_float: np.ndarray, scale: float, zero: int) -> np.ndarray:
    """Per-sequence largest |integer output - float output quantized with the same scale| (int8 outputs)."""
    ref_int = np.clip(np.round(y_float / scale) + zero, -128, 127)
    return np.abs(raw.astype(np.int64) - ref_int).reshape(len(raw), -1).max(axis=1)


def _tflm_step_outputs(tfl_step: Path, X: np.ndarray, y_float: np.ndarray) -> dict:
    """The step-layout file under TFLite Micro's interpreter on ``X``: outputs and per-sequence LSB differences."""
    from edge_gru.tflite.runner import TFLiteRunner

    r = TFLiteRunner(tfl_step, "tflm")
    raw = r.predict_raw(r.quantize(X))
    return {"y": r.dequantize(raw), "lsb": _lsb_diff(raw, y_float[:len(X)], r.out_scale, r.out_zero)}


def _tflm_row(tfl: Path, layout: str, kernels: str, target: Target, tflm: dict, info, arena: int | None,
              y_float: np.ndarray, labels: np.ndarray | None, n: int, timesteps: int, model_macs: int,
              real_steps: float | None = None, real_macs: int | None = None) -> dict:
    """TFLite Micro on a target: estimated cycles and memory (calibrated); accuracy measured with TFLite Micro's
    interpreter on the same file and the emulated subset of sequences.

    ``real_steps``: the average unmasked steps per sequence; the step layout invokes only those (the unrolled
    file always runs ``timesteps``); ``real_macs``: the MACs of that many steps and the head."""
    from firmware_sim.tflm_estimate import estimate

    steps = timesteps if layout == "unrolled" or real_steps is None else max(1, round(real_steps))
    if layout == "step" and real_macs is not None:
        # the step file runs the real steps only: its MACs are those steps' (as for the C runtime rows), not the
        # padded sequence's, or its cycles per MAC come out too low
        model_macs = real_macs
    est = estimate(tfl, target, layout=layout, kernels=kernels, info=info, arena=arena, timesteps=steps,
                   model_macs=model_macs)
    acc_float = accuracy(y_float[:n], labels) if labels is not None else None
    row = _row(max_lsb_diff=float(tflm["lsb"][:n].max()), **_quality(tflm["y"][:n], y_float[:n], labels, acc_float))
    row["sequences"] = n
    row.update(implementation=f"TFLite Micro int8 ({layout}, {kernels})", precision="int8", target=target.name,
               method="estimated", macs=est.macs, cycles=est.cycles, cycles_per_step=est.cycles / steps,
               cycles_per_mac=est.cycles_per_mac,
               latency_ms=est.latency_ms, flash_bytes=est.flash_bytes, ram_bytes=est.ram_bytes, fits=est.fits)
    from firmware_sim.tflm_estimate import M4_REFERENCE

    unmeasured = sorted({op.type for op in info.ops} - set(M4_REFERENCE))
    row.update({"layout": layout, "kernels": kernels, "arena_bytes": est.arena_bytes, "code_bytes": est.code_bytes,
                "unmeasured_ops": unmeasured,
                "setup_cycles": est.setup_cycles, "calibration": est.calibration, "core_basis": est.core_basis,
                "calibration_error": est.calibration_error,
                # TFLite Micro's default build: model array in flash, arena in SRAM; est.memory says whether and
                # how the part's memory system is in these cycles (tflm_estimate.memory_factor)
                "placement": "flash", "cycles_cold": None, "memory": est.memory,
                "memory_factor": est.memory_factor})
    return row


def _tflm_graphs(spec: ModelSpec, calibration: np.ndarray, tfl: Path, tfl_step: Path, X: np.ndarray,
                 y_float: np.ndarray, tflm_unrolled: dict, say: Say) -> dict[str, tuple]:
    """Both layouts' files (the step one converted here), their inspection, host arena and TFLite Micro outputs."""
    from converters.tflite_export import export_tflite
    from edge_gru.tflite.inspection import inspect_tflite
    from firmware_sim.tflm_estimate import tflm_arena_bytes

    unrolled = {"unrolled": (tfl, inspect_tflite(tfl), tflm_arena_bytes(tfl), tflm_unrolled)}
    if spec.window:              # a Bidirectional/go_backwards model has no step layout: it needs the whole window
        return unrolled
    say("converting to the int8 step layout (one timestep per invoke) for the TFLite Micro step rows")
    export_tflite(spec, calibration, tfl_step, "int8", "step")
    return {**unrolled,
            "step": (tfl_step, inspect_tflite(tfl_step), tflm_arena_bytes(tfl_step),
                     _tflm_step_outputs(tfl_step, X, y_float))}


def build_report(spec: ModelSpec, calibration: np.ndarray, test: Dataset, targets: list[Target],
                 precisions: list[str], out: Path, say: Say = log.info, tick: Tick | None = None,
                 emulate_sequences: int | None = None, tflite: bool = True, cc=None,
                 placements: tuple[str, ...] = ("flash",)) -> dict:
    """Evaluate every implementation and write ``report.json``, ``report.md``, ``report.html`` and plots.

    Args:
        spec: The float model.
        calibration: Calibration inputs (quantization, TFLite representative data).
        test: Test data (labels give accuracy).
        targets: Targets to emulate on.
        precisions: Fixed-point precisions.
        out: Output folder.
        say: Progress messages.
        tick: Progress bar callback ``(what, units_done)``.
        emulate_sequences: Emulate only the first N test sequences (default: all).
        tflite: Include the int8 TFLite rows (needs TensorFlow for the conversion).
        cc: The cross-compiler for the emulated rows (a ``Compiler`` or a ``--cc`` choice; default zig's clang).
        placements: Where code and weights run on the targets: the first placement is emulated at every precision,
            the others at the first precision only (each row says its placement).

    Returns:
        The report dictionary written to ``report.json``.
    """
    from firmware_sim.toolchain import Compiler, resolve_compiler

    cc = cc if isinstance(cc, Compiler) else resolve_compiler(cc) if targets else None
    out.mkdir(parents=True, exist_ok=True)
    save_spec(spec, out / "model.egspec")
    y_float = predict(spec, test.X)
    logits = float_logits(spec, test.X)
    acc_float = accuracy(y_float, test.y) if test.y is not None else None
    _, us_float = _timed(lambda: predict(spec, test.X), len(test.X))
    rows = [_row(implementation="float reference (numpy)", precision="float32", method="measured",
                 macs=spec.macs_per_sequence(test.X.shape[1]), flash_bytes=4 * spec.n_params, max_lsb_diff=None,
                 **_quality(y_float, y_float, test.y, acc_float))]
    rows[0]["host_us_per_seq"] = us_float
    say(f"float reference: accuracy {_pct(acc_float)}")
    tfl_rows: dict[str, dict] = {}
    tfl = out / "model-int8.tflite"
    if tflite:
        from converters.tflite_export import export_tflite_int8

        say("converting to int8 TFLite (TensorFlow converter in a child process)")
        export_tflite_int8(spec, calibration, tfl)
        tfl_rows = _tflite_rows(tfl, test, y_float, acc_float, spec.masked)
        rows += [tfl_rows["litert"], tfl_rows["tflm"]]
        say(f"TFLite int8: LiteRT {_pct(tfl_rows['litert']['accuracy'])}, TFLite Micro "
            f"{_pct(tfl_rows['tflm']['accuracy'])}")
    n_emu = min(len(test.X), emulate_sequences or len(test.X))
    fixed: dict[str, tuple[FixedModel, np.ndarray]] = {}
    for p in precisions:
        fm = quantize_model(spec, calibration, p)
        save_fixed(fm, out / f"model-{p}.egru")
        row, raw = _fixed_rows(spec, fm, test, y_float, logits, acc_float)
        rows.append(row)
        fixed[p] = (fm, raw)
        say(f"fixed {p}: accuracy {_pct(row['accuracy'])}, agreement {row['agreement'] * 100:.2f}%")
    graphs: dict[str, tuple] = {}
    if tflite and targets:
        graphs = _tflm_graphs(spec, calibration, tfl, out / "model-int8-step.tflite", test.X[:n_emu], y_float,
                              tfl_rows["tflm"], say)
    labels = test.y[:n_emu] if test.y is not None else None
    real_steps = _real_steps(spec, test.X[:n_emu])
    runs = [(p, pl) for pl in placements[:1] for p in precisions] + [(precisions[0], pl) for pl in placements[1:]]
    for t in targets:
        for p, pl in runs:
            fm, raw = fixed[p]
            row = _emulated_row(fm, t, test.X[:n_emu], labels, raw, y_float, acc_float,
                                out / "build" / f"{t.name}-{p}-{pl}", tick, cc, pl)
            rows.append(row)
            say(f"{t.name} {p} ({pl}): {row['cycles']:,.0f} cycles/sequence warm ({row['cycles_cold']:,.0f} cold), "
                f"{row['latency_ms']:.3f} ms, bit-exact {row['bitexact_vs_numba'] * 100:.1f}%")
        for layout, (path, info, arena, outputs) in graphs.items():
            for kernels in ("reference", "cmsis-nn"):
                rows.append(_tflm_row(path, layout, kernels, t, outputs, info, arena, y_float, labels, n_emu,
                                      test.X.shape[1], spec.macs_per_sequence(test.X.shape[1]), real_steps,
                                      spec.macs_per_sequence(max(1, round(real_steps)))))
    for key in ("raw", "y", "lsb"):
        tfl_rows.get("tflm", {}).pop(key, None)
    mark_front(rows, ACCURACY_LATENCY, group="target")
    info_d = _model_info(spec, test, tfl if tflite else None, n_emu)
    if test.y is not None:
        info_d["float_accuracy_emulated_sequences"] = accuracy(y_float[:n_emu], test.y[:n_emu])
    report = {"model": info_d, "rows": rows, "assumptions": ASSUMPTIONS,
              "compiler": cc.describe() if cc is not None else None}
    write_report(report, out)
    return report


ASSUMPTIONS = [
    "measured: run on this host (accuracy and output comparisons; host_us_per_seq is wall time on one core).",
    "emulated: the exported C runtime cross-compiled at -O2 and executed instruction by instruction in unicorn; "
    "cycles from a per-basic-block model of each core's pipeline with cited rules (firmware_sim/core_timing.py; "
    "no interrupts), validated against published GCC silicon CoreMark/MHz from RAM/TCM (docs/simulation.md), "
    "plus the part's memory system (firmware_sim/memory.py, targets.toml: flash wait states, prefetch, caches, "
    "XIP, with state across the run); each row names its memory model and placement (flash: code and weights in "
    "flash; weights-ram: weights copied to SRAM/DTCM at start-up; ram: everything runs from RAM/ITCM), and "
    "memory_validated says what that memory model was checked against (null: modelled from the reference "
    "manual, not validated). cycles are warm (sequences after the first since reset), cycles_cold the first. "
    "Cortex-M55 rows run the Helium build on QEMU's mps3-an547 with edge-gru's own M55 timing model "
    "(firmware_sim/m55_timing.py): modelled, not validated against M55 silicon. "
    "Flash = .text + .rodata + .data of the whole firmware (runtime, model, startup, harness); "
    "RAM = .data + .bss + measured peak stack + code and constants that run from RAM.",
    "estimated: TFLite Micro cycles per sequence, set-up cycles, code size and 32-bit arena from the .tflite's "
    "operators, calibrated against TFLite Micro built from source and run in firmware_sim (spoken-digits GRU(16) "
    "and GRU(32), seed GRU(50); reference and CMSIS-NN kernels; unrolled and step layouts; see "
    "firmware_sim/tflm_estimate.py). Each row carries calibration_error: how far the estimate was from the "
    "measurement of its core, layout and kernels on the calibration model, and the worst cycle error over every "
    "model measured so (null where the core was never measured: M3, M7, M33 and M55 scale the M4 by emulated "
    "CoreMark/MHz). Accuracy of these rows is measured with TFLite Micro's Python "
    "interpreter on the same file.",
    "cycles_per_step is cycles per sequence divided by the real (unmasked) steps fed per sequence: cycles per "
    "token for text models, the reset and dense head included. The C runtime and the step-layout .tflite skip "
    "padding; the unrolled .tflite runs every padded step (TensorFlow's converter drops Keras masks), so its "
    "accuracy on padded data is shown as measured.",
    "accuracy_delta is against the float reference; agreement is the fraction of sequences whose predicted class "
    "matches float's; rmse/mae/l2r/cosine compare the outputs with float's; max_lsb_diff counts output LSBs between "
    "the integer output and the float output quantized with the same scale.",
]


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.2f}%"


def _real_steps(spec: ModelSpec, X: np.ndarray) -> float:
    """Average unmasked timesteps per sequence (all of them for a model without a mask)."""
    from edge_gru.float_ref import embed_and_mask

    valid = embed_and_mask(spec, X)[1] if len(X) else None
    return float(X.shape[1]) if valid is None else float(valid.sum(axis=1).mean())


def _model_info(spec: ModelSpec, test: Dataset, tfl: Path | None, n_emu: int) -> dict:
    info = {"name": spec.name, "features": spec.features, "timesteps": spec.timesteps,
            "parameters": spec.n_params, "macs_per_sequence": spec.macs_per_sequence(test.X.shape[1]),
            "architecture": spec.describe(), "test_sequences": len(test.X), "emulated_sequences": n_emu,
            "tflite_bytes": tfl.stat().st_size if tfl is not None else None,
            "input": "features", "steps_per_sequence": _real_steps(spec, test.X[:n_emu]),
            "per_step": spec.per_step}
    if spec.embedding is not None:
        info.update(input="token ids", vocab=spec.embedding.vocab, mask_zero=spec.embedding.mask_zero)
    return info


def write_report(report: dict, out: Path) -> None:
    """``report.json``, ``report.md``, the PNG plots and the self-contained ``report.html``."""
    from edge_gru.workflows.report_render import render_html, render_markdown, render_plots

    (out / "report.json").write_text(json.dumps(report, indent=2, default=_json_default))
    pngs = render_plots(report, out)
    (out / "report.md").write_text(render_markdown(report))
    (out / "report.html").write_text(render_html(report, pngs))


def _json_default(v):
    if isinstance(v, np.integer | np.floating):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


__all__ = ["ASSUMPTIONS", "KEYS", "build_report", "float_logits", "write_report"]
