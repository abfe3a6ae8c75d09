"""The ``search`` command: the GRU that fits a part, as a Pareto front of accuracy, latency and memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from edge_gru.cli._common import _console, _progress, cc_option, cli, resolve_cc
from edge_gru.errors import DataError


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise DataError(f"--{what} takes comma-separated whole numbers, got {text!r}") from None
    if not values or min(values) < 1 or max(values) > 1024:
        raise DataError(f"--{what} takes numbers from 1 to 1024, got {text!r}")
    return sorted(set(values))


@cli.command()
@click.option("--dataset", "dataset_name", type=click.Choice(["spoken-digits", "seed-toy", "speech-frames"]),
              help="Search on a built-in dataset.")
@click.option("--data", type=click.Path(path_type=Path), help="Training data (.npz with X, y).")
@click.option("--test-data", type=click.Path(path_type=Path), help="Test data for the accuracy (.npz with X, y).")
@click.option("--targets", "target_names", required=True, help="Comma-separated targets (see `edge-gru targets`).")
@click.option("--targets-file", type=click.Path(path_type=Path), help="Extra targets (TOML).")
@click.option("--units", default="8,16,32,64", show_default=True, help="GRU sizes to try.")
@click.option("--layers", default="1,2", show_default=True, help="Stacked GRU layers to try.")
@click.option("--precisions", default="w8a8,w8a16,w16a16", show_default=True, help="Fixed-point precisions.")
@click.option("--trials", type=click.IntRange(1), help="Stop after this many architectures (default: all).")
@click.option("--max-latency-ms", type=click.FloatRange(min=0, min_open=True), help="Latency budget per sequence.")
@click.option("--max-flash-kb", type=click.FloatRange(min=0, min_open=True), help="Flash budget (KiB).")
@click.option("--max-ram-kb", type=click.FloatRange(min=0, min_open=True), help="RAM budget (KiB).")
@click.option("--epochs", default=30, show_default=True, type=click.IntRange(1, 10000))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--emulate-sequences", default=4, show_default=True, type=click.IntRange(1, 1000),
              help="Test sequences emulated per candidate and target (cycles do not depend on the data).")
@click.option("--storage", help="Optuna storage URL shared by several workers or machines (postgresql://..., "
                                "redis://...); default: a journal file in OUT.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes on this machine (each runs trials of the same study).")
@click.option("--worker-only", is_flag=True, hidden=True, help="Run trials only (a worker started by --workers).")
@click.option("--no-tflite", is_flag=True, help="Do not convert the recommended models to .tflite.")
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True,
              help="Output directory (study, trials, report); run again to resume.")
@click.option("--placements", default="flash,weights-ram", show_default=True,
              help="Where code and weights run (flash, weights-ram, ram): each placement is a candidate of its own, "
                   "so a part with RAM to spare gets the faster build.")
@cc_option
def search(dataset_name: str | None, data: Path | None, test_data: Path | None, target_names: str,
           targets_file: Path | None, units: str, layers: str, precisions: str, trials: int | None,
           max_latency_ms: float | None, max_flash_kb: float | None, max_ram_kb: float | None, epochs: int, seed: int,
           emulate_sequences: int, storage: str | None, workers: int, worker_only: bool, no_tflite: bool, out: Path,
           placements: str, cc_choice: str | None) -> None:
    """Search GRU sizes and precisions for the targets: train, quantize, score, emulate; report the Pareto front
    per target and the recommended model (.egru, C folder, .tflite) under the budgets.

    Built on Optuna: the study lives in OUT/study.journal (or --storage), so a search resumes where it stopped
    and several processes (--workers) or machines (--storage postgresql://...) share it.
    """
    from edge_gru.cli.sim_cmds import _placements, _report_choices
    from edge_gru.outputs import check_output
    from edge_gru.workflows.search import Objective, SearchConfig, run_search

    targets, precs = _report_choices(target_names, targets_file, precisions)
    if not targets:
        raise DataError("--targets names no target")
    train, test = _search_data(dataset_name, data, test_data)
    check_output(out, force=True, folder=True)
    cfg = SearchConfig(out=out.resolve(), targets=targets, units=_ints(units, "units"), layers=_ints(layers, "layers"),
                       precisions=precs, epochs=epochs, seed=seed, trials=trials, max_latency_ms=max_latency_ms,
                       max_flash_kb=max_flash_kb, max_ram_kb=max_ram_kb, emulate_sequences=emulate_sequences,
                       storage=storage, cc=resolve_cc(cc_choice), dataset=dataset_name or str(data),
                       placements=_placements(placements))
    helpers = [] if worker_only else _start_workers(workers - 1, click.get_current_context().params)
    try:
        with _progress() as prog:
            task = prog.add_task("search", total=None, info="")
            objective = Objective(cfg, train, test, say=prog.console.print,
                                  stage=lambda s: prog.update(task, description=s))
            study = run_search(cfg, objective, after_trial=None if worker_only else _front_so_far(cfg, prog))
    finally:
        for p in helpers:
            p.wait()
    if worker_only:
        return
    _finish(cfg, study, train, objective.trained, no_tflite)


def _front_so_far(cfg: Any, prog: Any) -> Any:
    """An Optuna callback: after each trial, the trial's outcome and the front so far on the first target."""
    from edge_gru.workflows.search_report import summarize

    def show(study: Any, trial: Any) -> None:
        why = trial.user_attrs.get("pruned") or trial.user_attrs.get("failure") or ""
        prog.console.print(f"trial {trial.number} GRU({trial.params.get('units')})x{trial.params.get('layers')}: "
                           f"{trial.state.name.lower()} {why}".rstrip())
        first = cfg.targets[0].name
        rows = [r for r in summarize(cfg, study)["targets"][first]["candidates"] if r["pareto"]]
        for r in rows:
            prog.console.print(f"  front on {first}: {r['name']} {r['accuracy'] * 100:.2f}% {r['latency_ms']:.3f} ms "
                               f"{r['flash_bytes'] / 1024:.1f}/{r['ram_bytes'] / 1024:.1f} KiB", soft_wrap=True)

    return show


def _start_workers(n: int, params: dict) -> list[subprocess.Popen]:
    """``n`` more processes running trials of the same study: this command's options plus ``--worker-only``."""
    names = {"dataset_name": "--dataset", "target_names": "--targets", "cc_choice": "--cc", "out": "-o"}
    args = ["search", "--worker-only"]
    for key, value in params.items():
        if value is None or value is False or key in ("workers", "worker_only", "no_tflite"):
            continue
        opt = names.get(key, "--" + key.replace("_", "-"))
        args += [opt] if value is True else [opt, str(value)]
    return [subprocess.Popen([sys.executable, "-m", "edge_gru.cli", *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for _ in range(n)]


def _search_data(dataset_name: str | None, data: Path | None, test_data: Path | None) -> tuple[Any, Any]:
    from edge_gru.data import load_data, load_dataset

    if (dataset_name is None) == (data is None):
        raise DataError("give exactly one of --dataset NAME or --data train.npz (with --test-data test.npz)")
    if dataset_name:
        return load_dataset(dataset_name)
    if test_data is None:
        raise DataError("--data needs --test-data test.npz (the accuracy of every candidate is measured on it)")
    train = load_data(data)
    if train.tokens:
        raise DataError(f"{data}: search takes feature data X (N, T, F); text models (token ids) are not searched "
                        "yet: train candidates with `edge-gru train --units H` and compare them with `edge-gru report`")
    test = load_data(test_data, features=train.X.shape[2], timesteps=train.X.shape[1])
    per_step = train.y is not None and train.per_step_labels and train.y.ndim == 2
    if train.y is None or test.y is None or not (train.y.ndim == 1 or per_step) or test.y.ndim != train.y.ndim:
        raise DataError("search needs integer class labels in both --data and --test-data: y (N,) per sequence, "
                        "or y (N, T) per step (a per-step model)")
    return train, test


def _finish(cfg: Any, study: Any, train: Any, trained: int, no_tflite: bool) -> None:
    from edge_gru.workflows.search_report import export_recommended, summarize, write_report

    report = summarize(cfg, study)
    report["trained_this_run"] = trained
    export_recommended(report, cfg, train.X[:200], tflite=not no_tflite, say=_console().print)
    write_report(report, cfg.out)
    click.echo(f"{report['trials']} trials in the study ({trained} trained by this process), "
               f"{report['candidates']} candidates")
    for name, entry in report["targets"].items():
        rec = entry["recommended"]
        n_front = sum(r["pareto"] for r in entry["candidates"])
        if rec is None:
            click.echo(f"{name}: {n_front} on the front; no candidate meets the budgets")
            continue
        click.echo(f"{name}: {n_front} on the front; recommended {rec['name']}: accuracy {rec['accuracy'] * 100:.2f}%, "
                   f"{rec['latency_ms']:.3f} ms, {rec['flash_bytes']:,} B flash, {rec['ram_bytes']:,} B RAM "
                   f"-> {cfg.out / 'recommended' / name}")
    click.echo(f"report: {cfg.out / 'search.html'} (also search.md, search.json)")
