"""Run the CLI on mutated artifacts and classify every outcome.

Each case: one mutation of one seed artifact, one command that reads it, run as a user would (a child
process ``python -m edge_gru.cli``) with a time limit; its peak memory comes from ``wait4``. Outcomes:

* ``refused``: exit 2 with one ``edge-gru: error:`` line that is not an internal error (clean);
* ``ok``: exit 0, and any outputs written are finite (clean);
* ``garbage``: exit 0 with NaN or infinite outputs;
* ``internal``: the catch-all "internal error" line (a user input reached our last line of defence);
* ``crash``: killed by a signal (a native crash);
* ``uncaught``: a traceback, or another exit status or stderr shape;
* ``hang``: still running at the time limit;
* ``memory``: peak resident memory over the limit;
* ``leftover``: a temporary or staging file left in the output folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fuzz.mutate import mutate

CLEAN = ("refused", "ok")
#: Share of cases per artifact kind.
KIND_WEIGHTS = {"keras": 0.07, "egspec": 0.12, "egru": 0.13, "npz": 0.16, "tflite": 0.12, "tflite-step": 0.07,
                "cfolder": 0.08, "targets": 0.08, "egru-text": 0.06, "npz-tokens": 0.07, "tflite-text": 0.04,
                "onnx": 0.08}


@dataclass
class Outcome:
    """What one case did."""

    case: int
    kind: str
    mutation: str
    command: list[str]
    outcome: str
    returncode: int | None
    seconds: float
    peak_mb: float
    stderr_tail: str = ""
    notes: list[str] = field(default_factory=list)


def commands(kind: str, artifact: Path, seeds: dict[str, Path], case: Path, rng: np.random.Generator) -> list[str]:
    """The command that reads ``artifact`` (a mutated artifact of ``kind``), outputs into ``case``."""
    out = case / "out" / "y.npy"
    data = seeds["npz"]
    choices = {
        "keras": [["inspect", artifact], ["run", artifact, data, "--engine", "float", "-o", out]],
        "egspec": [["inspect", artifact], ["run", artifact, data, "-o", out],
                   ["quantize", artifact, "--calibration", data, "-o", case / "out" / "q.egru"]],
        "egru": [["inspect", artifact], ["run", artifact, data, "-o", out],
                 ["run", artifact, data, "--raw", "-o", out], ["inspect", artifact],
                 ["convert", artifact, "--format", "c", "-o", case / "out" / "c"]],
        "npz": [["run", seeds["egru"], artifact, "-o", out], ["run", seeds["egspec"], artifact, "-o", out],
                ["run", seeds["tflite"], artifact, "--engine", "litert", "-o", out],
                ["run", seeds["tflite-step"], artifact, "--engine", "tflm", "-o", out],
                ["quantize", seeds["egspec"], "--calibration", artifact, "-o", case / "out" / "q.egru"]],
        "tflite": [["inspect", artifact], ["run", artifact, data, "--engine", "litert", "-o", out],
                   ["run", artifact, data, "--engine", "litert-ref", "-o", out],
                   ["run", artifact, data, "--engine", "tflm", "-o", out]],
        "cfolder": [["run", artifact, data, "--engine", "c", "-o", out]],
        "targets": [["targets", "--targets-file", artifact]] * 9 + [
            ["simulate", seeds["egru"], "--target", "myboard", "--targets-file", artifact, "--sequences", "1"]],
    }
    choices["tflite-step"] = choices["tflite"]
    choices["onnx"] = [["inspect", artifact], ["run", artifact, data, "-o", out],
                       ["run", artifact, data, "--engine", "float", "-o", out],
                       ["quantize", artifact, "--calibration", data, "-o", case / "out" / "q.egru"]]
    tokens = seeds["npz-tokens"]
    choices["egru-text"] = [["inspect", artifact], ["run", artifact, tokens, "-o", out],
                            ["run", artifact, tokens, "--raw", "-o", out],
                            ["convert", artifact, "--format", "c", "--embedding", "folded", "-o", case / "out" / "c"],
                            ["convert", artifact, "--format", "c", "-o", case / "out" / "c"]]
    choices["npz-tokens"] = [["run", seeds["egru-text"], artifact, "-o", out],
                             ["run", seeds["egru-text"], artifact, "--engine", "fixed", "--raw", "-o", out],
                             ["run", seeds["tflite-text"], artifact, "--engine", "tflm", "-o", out],
                             ["quantize", seeds["egru-text"].with_name("text.keras"), "--calibration", artifact,
                              "-o", case / "out" / "q.egru"]]
    choices["tflite-text"] = [["inspect", artifact], ["run", artifact, tokens, "--engine", "litert", "-o", out],
                              ["run", artifact, tokens, "--engine", "tflm", "-o", out]]
    options = choices[kind]
    return [str(a) for a in options[int(rng.integers(len(options)))]]


def run_case(i: int, seed: int, seeds: dict[str, Path], work: Path, timeout: float, max_mb: float) -> Outcome:
    """Generate case ``i`` (reproducible from ``seed`` and ``i``), run it and classify the outcome."""
    import time

    rng = np.random.default_rng([seed, i])
    kinds = list(KIND_WEIGHTS)
    kind = kinds[int(rng.choice(len(kinds), p=np.array(list(KIND_WEIGHTS.values())) / sum(KIND_WEIGHTS.values())))]
    case = work / f"case-{i:05d}"
    case.mkdir(parents=True, exist_ok=True)
    (case / "out").mkdir(exist_ok=True)
    try:
        artifact, what = mutate(rng, kind, seeds[kind], case)
    except Exception as exc:  # noqa: BLE001 - a mutator that cannot apply: record, do not count as an outcome
        return Outcome(i, kind, f"mutator failed: {type(exc).__name__}: {exc}", [], "skipped", None, 0, 0)
    cmd = commands(kind, artifact, seeds, case, rng)
    t0 = time.perf_counter()
    rc, peak_mb, timed_out = _run(cmd, case, timeout)
    seconds = time.perf_counter() - t0
    stderr = (case / "stderr.txt").read_text(errors="replace")
    outcome, notes = classify(rc, stderr, timed_out, peak_mb, max_mb, case / "out")
    tail = "\n".join(stderr.strip().splitlines()[-3:])
    return Outcome(i, kind, what, cmd, outcome, rc, round(seconds, 2), round(peak_mb, 1), tail, notes)


def _run(cmd: list[str], case: Path, timeout: float) -> tuple[int | None, float, bool]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", COLUMNS="120")
    env.pop("EDGE_GRU_DEBUG", None)
    with open(case / "stdout.txt", "wb") as so, open(case / "stderr.txt", "wb") as se:
        proc = subprocess.Popen([sys.executable, "-m", "edge_gru.cli", *cmd], stdout=so, stderr=se,
                                stdin=subprocess.DEVNULL, cwd=case, env=env, start_new_session=True)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
    return (None if timed_out.is_set() else rc), usage.ru_maxrss / 1024, timed_out.is_set()


def classify(rc: int | None, stderr: str, timed_out: bool, peak_mb: float, max_mb: float,
             out_dir: Path) -> tuple[str, list[str]]:
    """The outcome class of one run (see the module docstring)."""
    notes: list[str] = []
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    leftovers = [p.name for p in out_dir.rglob(".*") if ".tmp" in p.name or "stage" in p.name] \
        if out_dir.exists() else []
    if timed_out:
        return "hang", notes
    if peak_mb > max_mb:
        return "memory", [f"peak {peak_mb:.0f} MB"]
    if rc is not None and rc < 0:
        return "crash", notes
    if "Traceback (most recent call last)" in stderr or "Exception ignored" in stderr:
        return "uncaught", notes
    if leftovers:
        return "leftover", leftovers
    if rc == 0:
        for f in out_dir.glob("*.npy"):
            try:
                arr = np.load(f, allow_pickle=False)
            except (OSError, ValueError) as exc:
                return "garbage", [f"{f.name} unreadable: {exc}"]
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                return "garbage", [f"{f.name} has NaN or infinite values"]
        return "ok", notes
    if rc == 2 and lines:
        errors = [ln for ln in lines if ln.startswith("edge-gru: error:")]
        if any("internal error" in ln for ln in errors):
            return "internal", notes
        if len(errors) == 1 and lines[-1] == errors[0]:
            return "refused", notes
    return "uncaught", [f"exit {rc}"]


def summary(outcomes: list[Outcome]) -> dict:
    """Counts by outcome and by kind."""
    by_outcome: dict[str, int] = {}
    by_kind: dict[str, dict[str, int]] = {}
    for o in outcomes:
        by_outcome[o.outcome] = by_outcome.get(o.outcome, 0) + 1
        by_kind.setdefault(o.kind, {}).setdefault(o.outcome, 0)
        by_kind[o.kind][o.outcome] += 1
    bad = [asdict(o) for o in outcomes if o.outcome not in (*CLEAN, "skipped")]
    slowest = sorted(outcomes, key=lambda o: -o.seconds)[:5]
    return {"cases": len(outcomes), "by_outcome": by_outcome, "by_kind": by_kind, "non_clean": bad,
            "peak_mb_max": max((o.peak_mb for o in outcomes), default=0.0),
            "seconds_max": max((o.seconds for o in outcomes), default=0.0),
            "slowest": [{"case": o.case, "seconds": o.seconds, "mutation": o.mutation, "command": o.command[:2]}
                        for o in slowest],
            "cases_detail": [{"case": o.case, "kind": o.kind, "outcome": o.outcome, "seconds": o.seconds,
                              "peak_mb": o.peak_mb, "mutation": o.mutation} for o in outcomes]}


__all__ = ["CLEAN", "KIND_WEIGHTS", "Outcome", "classify", "commands", "run_case", "summary"]
