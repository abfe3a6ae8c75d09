"""Commands about targets: targets, simulate, report, demo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from edge_gru.cli._common import (
    PLACEMENT_CHOICES,
    _check_output,
    _progress,
    artifact_kind,
    cc_option,
    cli,
    load_float_spec,
    memory_option,
    placement_option,
    resolve_cc,
)
from edge_gru.errors import DataError, EdgeGruError, ModelFileError


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--targets-file", type=click.Path(path_type=Path), help="Extra targets (TOML, same format as ours).")
@click.option("--memory", "show_memory", is_flag=True, help="Also list each memory system with its sources.")
def targets(as_json: bool, targets_file: Path | None, show_memory: bool) -> None:
    """List the microcontroller targets (core, clock, flash, RAM, memory system)."""
    import json

    from firmware_sim.targets import load_targets

    tg = load_targets(targets_file)
    if as_json:
        click.echo(json.dumps([t.as_dict() for t in tg.values()], indent=2))
        return
    click.echo(f"{'name':<12} {'core':<14} {'MHz':>5} {'flash kB':>9} {'RAM kB':>7}  {'memory model':<16} part")
    for t in tg.values():
        click.echo(f"{t.name:<12} {t.core:<14} {t.clock_mhz:>5g} {t.flash_kb:>9} {t.ram_kb:>7}  {t.memory.name:<16} "
                   f"{t.part}")
    if show_memory:
        for t in tg.values():
            click.echo(f"\n{t.name}: {t.memory.describe()}\n  validated: "
                       f"{t.memory.validated or 'modelled from the reference manual, not validated'}")
            for r in t.memory.regions:
                click.echo(f"  region {r.name} ({r.kind}) {r.base:#010x}-{r.end - 1:#010x}: {r.source}")
            for c in t.memory.caches:
                click.echo(f"  cache {c.name}{'' if c.enabled else ' (off)'}: {c.source}")


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
@placement_option
@memory_option
@cc_option
def simulate(artifact: Path | None, target_name: str, targets_file: Path | None, data: Path | None,
             sequences: int | None, calibration: Path | None, precision_name: str, elf: Path | None,
             json_out: Path | None, force: bool, placement: str | None, memory_model: str,
             cc_choice: str | None) -> None:
    """Emulate the C runtime of ARTIFACT (.egru, C folder, or .keras/.onnx/.egspec with --calibration) on a target.

    Reports MACs, cycles per sequence and per step, cycles/MAC, latency at the target clock, flash, RAM
    (with the measured peak stack), whether it fits, and checks the outputs bit for bit against the
    Numba reference. Cycles include the target's memory system (flash wait states, prefetch, caches,
    XIP; see `edge-gru targets --memory`): the headline is warm (after the first sequence since reset),
    the cold first sequence is beside it. With --elf, runs any program built with our startup code
    (semihosting output and exit code are shown; each call of eg_mark(id), or write to 0x60000010,
    records the cycle count, and the cycles between consecutive marks are printed and written to --json).
    """
    import json

    from firmware_sim.targets import get_target

    target = get_target(target_name, targets_file)
    if memory_model == "ideal":
        target = target.ideal()
    if json_out is not None:
        _check_output(json_out, force)
    if elf is not None:
        if artifact is not None:
            raise DataError("give either ARTIFACT or --elf, not both")
        if cc_choice is not None or placement is not None:
            raise DataError("--cc and --placement apply to models; an --elf program is already built (its .comment "
                            "names the compiler, its linker script the placement)")
        result = _simulate_elf(elf, target)
    elif artifact is None:
        raise DataError("give a model (ARTIFACT) or --elf PROGRAM")
    else:
        from firmware_sim.simulate import check_emulator

        check_emulator(target)
        result = _simulate_model(artifact, target, data, sequences, calibration, precision_name,
                                 resolve_cc(cc_choice), placement)
    if json_out is not None:
        from edge_gru.outputs import atomic_file

        with atomic_file(json_out) as tmp:
            tmp.write_text(json.dumps(result, indent=2, default=float))
        click.echo(f"wrote {json_out}")


def _simulate_elf(elf: Path, target: Any) -> dict:
    from firmware_sim.emulator import Emulator
    from firmware_sim.targets import uses_qemu

    if uses_qemu(target):
        raise DataError(f"--elf runs on unicorn, which has no {target.core}: simulate a model (.egru or C folder) on "
                        f"{target.name}, edge-gru builds and runs it on QEMU")
    emu = Emulator(elf, target)
    res = emu.run()
    if res.stdout:
        click.echo(res.stdout, nl=not res.stdout.endswith("\n"))
    intervals = [{"from_mark": a, "to_mark": b, "cycles": c1 - c0}
                 for a, b, c0, c1 in zip(res.mark_values, res.mark_values[1:], res.marks, res.marks[1:], strict=False)]
    for iv in intervals:
        click.echo(f"  mark {iv['from_mark']} -> {iv['to_mark']}: {iv['cycles']:,.0f} cycles")
    click.echo(f"{target.name} ({target.core}, {res.model}): exit code {res.exit_code}, {res.cycles:,.0f} cycles, "
               f"{res.instructions:,} instructions, {res.cycles / (target.clock_mhz * 1e3):.3f} ms at "
               f"{target.clock_mhz:g} MHz, peak stack {res.stack_bytes} bytes (emulated)")
    return {"target": target.name, "core": target.core, "exit_code": res.exit_code, "cycles": res.cycles,
            "instructions": res.instructions, "stack_bytes": res.stack_bytes, "stdout": res.stdout,
            "cycle_model": res.model, "method": "emulated",
            "marks": [{"value": v, "cycles": c} for v, c in zip(res.mark_values, res.marks, strict=True)],
            "mark_intervals": intervals, "compiler": {"comment": emu.image.comment or None}}


def _simulate_model(artifact: Path, target: Any, data: Path | None, sequences: int | None,
                    calibration: Path | None, precision_name: str, cc: Any, placement: str | None = None) -> dict:
    import numpy as np

    from edge_gru.data import load_model_data
    from edge_gru.fixed.io import load_fixed
    from edge_gru.fixed.model import quantize_model
    from firmware_sim.simulate import simulate

    kind = artifact_kind(artifact)
    if kind == "c":
        from converters.c_export import check_c_folder
        from firmware_sim.simulate import folder_placement

        fm = check_c_folder(artifact)
        folder_placement(artifact, placement)          # refused before the work starts
        model: Any = artifact
    elif kind == "fixed":
        model = fm = load_fixed(artifact)
    elif kind in ("keras", "onnx", "spec"):
        if calibration is None:
            raise DataError(f"{artifact}: a float model needs --calibration train.npz to be quantized first")
        spec = load_float_spec(artifact)
        model = fm = quantize_model(spec, load_model_data(calibration, spec).X, precision_name)
    else:
        raise ModelFileError(f"{artifact}: simulate takes a .egru, a C export folder, or a .keras/.onnx/.egspec "
                             "model")
    lengths = None
    if data is not None:
        ds = load_model_data(data, fm)
        X, lengths = ds.X, ds.lengths
    elif fm.tokens:
        X = np.random.default_rng(0).integers(1, fm.vocab, size=(4, fm.timesteps or 16)).astype(np.int32)
    else:
        X = np.random.default_rng(0).normal(size=(4, fm.timesteps or 16, fm.features)).astype(np.float32)
    if sequences:
        X, lengths = X[:sequences], None if lengths is None else lengths[:sequences]
    with _progress() as prog:
        task = prog.add_task(f"emulating on {target.name} ({target.core})", total=len(X), info="")
        res = simulate(model, target, X, progress=lambda n: prog.update(task, advance=n), cc=cc, lengths=lengths,
                       placement=placement)
    ref = fm.predict_raw(X, lengths=lengths)
    same = int(np.sum(np.all((ref == res.outputs).reshape(len(X), -1), axis=1)))
    # a model (not a C folder) was exported here in the layout the core's kernel reads: how to get the same folder
    layout_hint = ("" if (artifact is not None and artifact.is_dir()) or res.matrix_layout == "blocks"
                   else f" (`convert --format c --target {target.name}` writes it)")
    rows = [("MACs per sequence", f"{res.macs_per_sequence:,}"),
            ("cycles per sequence", f"{res.cycles_per_sequence:,.0f} warm (min {res.cycles_per_sequence_min:,.0f}, "
                                    f"max {res.cycles_per_sequence_max:,.0f}); cold {res.cycles_cold:,.0f}"),
            ("memory stalls", f"{res.stall_cycles_per_sequence:,.0f} cycles per warm sequence "
                              f"({res.memory_description}; placement {res.placement})"),
            ("cycles per token" if fm.tokens else "cycles per timestep",
             f"{res.cycles_per_step:,.0f} ({res.steps_per_sequence:.1f} real steps per sequence; reset and head "
             "included)"),
            ("cycles per MAC", f"{res.cycles_per_mac:.2f}"),
            ("kernel", f"{res.kernel}, {res.matrix_layout} layout" + layout_hint
             + (f"; matrix loop {res.loop_cycles_per_mac:.3f} cycles/MAC"
                                          if res.loop_cycles_per_mac else "")
             + (f" (floor under the model {res.loop_floor_cycles_per_mac:.3f})"
                if res.loop_floor_cycles_per_mac else "")),
            ("latency", f"{res.latency_ms:.3f} ms at {target.clock_mhz:g} MHz"
             + (f" per sequence; {res.latency_ms / max(res.steps_per_sequence, 1e-9) * 1e3:,.1f} us per step "
                "(an output after every step)" if fm.per_step else "")),
            ("flash", f"{res.flash_bytes:,} B (.text {res.text_bytes:,} + .rodata {res.rodata_bytes:,} + "
                      f".data {res.data_bytes:,}) of {res.flash_available:,}"),
            ("RAM", f"{res.ram_bytes:,} B (.data {res.data_bytes:,} + .bss {res.bss_bytes:,} + stack "
                    f"{res.stack_bytes:,}" + (f" + run from RAM {res.ram_resident_bytes:,}" if res.ram_resident_bytes
                                              else "") + f") of {res.ram_available:,}"),
            ("fits", "yes" if res.fits else "NO"),
            ("bit-exact vs Numba", f"{same}/{len(X)} sequences" + (" (every step's outputs)" if fm.per_step else ""))]
    click.echo(f"{target.name}: {target.part}, {target.core}; {res.sequences} sequences x {res.timesteps} steps; "
               f"cycle model: {res.cycle_model}; memory: {res.memory} "
               f"({res.memory_validated or 'modelled from the reference manual, not validated'}); "
               f"figures emulated on {res.emulator}; compiler: {cc.label()}")
    for k, v in rows:
        click.echo(f"  {k:<20} {v}")
    if same != len(X):
        raise EdgeGruError(f"emulated outputs differ from the Numba reference on {len(X) - same} sequences")
    d = res.as_dict()
    d["bitexact_sequences"] = same
    return d


DEFAULT_TARGETS = "rp2040,stm32l4r5,stm32h7"


def _placements(text: str) -> tuple[str, ...]:
    places = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    bad = [p for p in places if p not in PLACEMENT_CHOICES]
    if bad or not places:
        raise DataError(f"unknown placement {', '.join(bad) or '(none)'}; choose from {', '.join(PLACEMENT_CHOICES)}")
    return places


def placements_option(fn: Any) -> Any:
    """``--placements``: the placements a report emulates."""
    return click.option("--placements", default="flash,weights-ram", show_default=True,
                        help="Where code and weights run on the targets (comma-separated: flash, weights-ram, ram); "
                             "the first at every precision, the others at the first precision.")(fn)


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
@placements_option
@cc_option
def report(model: Path, calibration: Path, data: Path, target_names: str, targets_file: Path | None, precisions: str,
           emulate_sequences: int | None, no_tflite: bool, out: Path, force: bool, placements: str,
           cc_choice: str | None) -> None:
    """Accuracy-vs-latency report of every implementation: report.json, report.md, report.html, plots."""
    from edge_gru.data import load_model_data
    from edge_gru.outputs import staged_folder

    targets, precs = _report_choices(target_names, targets_file, precisions)
    places = _placements(placements)
    cc = resolve_cc(cc_choice) if targets else None
    with staged_folder(out, None, force) as stage:       # written aside, moved in when complete
        spec = load_float_spec(model)
        cal = load_model_data(calibration, spec)
        test = load_model_data(data, spec)
        _run_report(spec, cal.X, test, targets, precs, stage, emulate_sequences, not no_tflite, cc, places)
    click.echo(f"report: {out / 'report.html'} (also report.md, report.json, plots)")


def _report_choices(target_names: str, targets_file: Path | None, precisions: str) -> tuple[list, list[str]]:
    from edge_gru.fixed.quantize import PRECISIONS
    from firmware_sim.simulate import check_emulator
    from firmware_sim.targets import get_target

    targets = [get_target(t.strip(), targets_file) for t in target_names.split(",") if t.strip()]
    for t in targets:
        check_emulator(t)                      # QEMU for a Cortex-M55: said before the work starts
    precs = [p.strip() for p in precisions.split(",") if p.strip()]
    bad = [p for p in precs if p not in PRECISIONS]
    if bad or not precs:
        raise DataError(f"unknown precision {', '.join(bad) or '(none)'}; choose from {', '.join(PRECISIONS)}")
    return targets, precs


def _run_report(spec: Any, cal_X: Any, test: Any, targets: list, precs: list[str], out: Path,
                emulate_sequences: int | None, tflite: bool, cc: Any = None,
                placements: tuple[str, ...] = ("flash",)) -> dict:
    from edge_gru.workflows.report import build_report

    n_emu = min(len(test.X), emulate_sequences or len(test.X))
    with _progress() as prog:
        tick = _report_progress(prog, max(1, len(targets) * (len(precs) + len(placements) - 1) * n_emu))
        rep = build_report(spec, cal_X, test, targets, precs, out, say=prog.console.print, tick=tick,
                           emulate_sequences=emulate_sequences, tflite=tflite, cc=cc, placements=placements)
    click.echo((out / "report.md").read_text().split("\n## Assumptions")[0])
    return rep


@cli.command()
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), default=Path("demo-out"), show_default=True,
              help="Output directory.")
@click.option("--dataset", "dataset_name", type=click.Choice(["spoken-digits", "sentiment-zh", "speech-frames"]),
              default="spoken-digits", show_default=True,
              help="spoken-digits: GRU(16) on MFCC frames; sentiment-zh: Embedding(2000, 16) -> GRU(32) on characters; "
                   "speech-frames: a per-step GRU(16) labelling every frame speech or silence.")
@click.option("--epochs", type=click.IntRange(1, 1000), help="Training epochs [default: 30; 4 for sentiment-zh].")
@click.option("--targets", "target_names", default=DEFAULT_TARGETS, show_default=True,
              help="Targets to emulate on.")
@click.option("--emulate-sequences", type=click.IntRange(1), default=200, show_default=True,
              help="Emulate the first N test sequences per target and precision.")
@click.option("--model", "model", type=click.Path(path_type=Path),
              help="Your float model (.keras, .onnx or .egspec) instead of training one: it must take the dataset's "
                   "input (spoken-digits: 48 x 13 MFCC frames, 10 classes).")
@click.option("--force", is_flag=True, help="Reuse a non-empty output directory.")
@placements_option
@cc_option
def demo(out: Path, dataset_name: str, epochs: int | None, target_names: str, emulate_sequences: int | None,
         model: Path | None, force: bool, placements: str, cc_choice: str | None) -> None:
    """Train a model on a built-in dataset (or take --model), convert to every format, emulate on a few targets,
    write the report."""
    from edge_gru.outputs import staged_folder

    targets, precs = _report_choices(target_names, None, "w8a16,w8a8,w16a16")
    places = _placements(placements)
    cc = resolve_cc(cc_choice) if targets else None
    spec = None
    if model is not None:
        if epochs is not None:
            raise DataError("--epochs applies to the model demo trains; --model is used as it is")
        from edge_gru.workflows.demo import demo_data

        spec = load_float_spec(model)                      # both refused before the output folder is touched
        train, test = demo_data(spec, dataset_name, model)
    with staged_folder(out, None, force) as stage:       # written aside, moved in when complete
        if spec is None:
            spec, train, test = _train_demo(stage, dataset_name, epochs)
        _run_report(spec, train.X, test, targets, precs, stage, emulate_sequences, True, cc, places)
    click.echo(f"report: {out / 'report.html'} (also report.md, report.json, plots)")


def _train_demo(stage: Path, dataset_name: str, epochs: int | None) -> tuple[Any, Any, Any]:
    """Train the demo's model on the built-in dataset into ``stage`` with a progress bar; (spec, train, test)."""
    from edge_gru.workflows.demo import train_demo_model

    units, epochs = (32, epochs or 4) if dataset_name == "sentiment-zh" else (16, epochs or 30)
    with _progress() as prog:
        task = prog.add_task(f"training {dataset_name} GRU({units})", total=epochs, info="")

        def on_epoch(epoch: int, logs: dict) -> None:
            prog.update(task, advance=1, info=f"loss {logs.get('loss', float('nan')):.4f}")

        return train_demo_model(stage, dataset=dataset_name, units=units, epochs=epochs, say=prog.console.print,
                                on_epoch=on_epoch)

