"""``edge-gru search``: find the GRU that fits a part.

Each Optuna trial is one architecture (GRU units x layers, from a grid): it is trained, quantized at every
requested precision, scored on the test set with the host fixed-point reference (bit-exact with the
device) and emulated on every target for a few sequences (the integer path's cost does not depend on the
data). A candidate is one (architecture, precision); its figures per target are stored as the trial's user
attributes, so the study in its storage is the whole record: a second invocation resumes it, several
processes or machines can work on one study (`--storage postgresql+psycopg://...`, Optuna's own
coordination), and ``optuna-dashboard`` reads it.

Optuna does the bookkeeping: a grid sampler hands out architectures (a grid point is taken once; one
left running by a lost worker is handed out again at the end), the objectives (best fixed-point accuracy,
lowest latency on the first target) give the dashboard its Pareto plot, an architecture that cannot meet
the budgets on any target (a lower bound on flash, RAM and latency from its size) is pruned before
training, and a candidate that fails (a converter error, a model too big to build) is recorded with its
reason and the search goes on.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge_gru.data import Dataset, accuracy
from edge_gru.errors import EdgeGruError, ToolMissingError
from firmware_sim.targets import Target

log = logging.getLogger(__name__)

STUDY_NAME = "edge-gru-search"
#: Cycles per MAC no core reaches (M7/M55 dual-issue SIMD stays above it): the latency lower bound for pruning.
MIN_CYCLES_PER_MAC = 0.25


@dataclass
class SearchConfig:
    """What one search explores and where it keeps its record."""

    out: Path
    targets: list[Target]
    units: list[int]
    layers: list[int]
    precisions: list[str]
    epochs: int = 30
    seed: int = 0
    trials: int | None = None
    max_latency_ms: float | None = None
    max_flash_kb: float | None = None
    max_ram_kb: float | None = None
    emulate_sequences: int = 4
    storage: str | None = None
    cc: Any = None
    dataset: str = ""
    placements: tuple[str, ...] = ("flash", "weights-ram")   # each is a candidate of its own on every target

    @property
    def budgets(self) -> dict:
        """The ``--max-*`` options (``None`` where not given)."""
        return {"max_latency_ms": self.max_latency_ms, "max_flash_kb": self.max_flash_kb,
                "max_ram_kb": self.max_ram_kb}

    def grid(self) -> dict[str, list[int]]:
        """The architectures searched."""
        return {"units": list(self.units), "layers": list(self.layers)}

    def record(self) -> dict:
        """What must stay the same when a study is resumed."""
        return {"dataset": self.dataset, "targets": [t.name for t in self.targets], "precisions": self.precisions,
                "epochs": self.epochs, "seed": self.seed, "emulate_sequences": self.emulate_sequences,
                "grid": self.grid(), "placements": list(self.placements)}


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ToolMissingError("edge-gru search needs Optuna: pip install 'edge-gru[search]'") from None
    import warnings

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def make_storage(url: str | None, out: Path) -> Any:
    """The study's storage: a journal file in ``out`` by default, or a database / Redis URL.

    ``postgresql://`` uses psycopg 3 when psycopg2 is not installed. Database storages get Optuna's
    heartbeat, so a trial whose worker died is failed and retried.
    """
    _optuna()
    from optuna.storages import JournalStorage, RDBStorage, RetryFailedTrialCallback

    if url is None:
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(str(out / "study.journal")))
    if url.startswith(("redis://", "rediss://")):
        try:
            import redis
            from redis.exceptions import RedisError
        except ImportError:
            raise ToolMissingError("--storage redis://... needs the redis package: pip install 'edge-gru[search]' "
                                   "(or pip install redis)") from None
        from optuna.storages.journal import JournalRedisBackend

        try:
            redis.Redis.from_url(url, socket_connect_timeout=10).ping()
        except (RedisError, ValueError) as exc:
            raise EdgeGruError(f"cannot open the study storage {url!r}: {str(exc).splitlines()[0][:200]}") from None
        return JournalStorage(JournalRedisBackend(url))
    if url.startswith("postgresql://"):
        import importlib.util

        if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg") is not None:
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
    try:
        return RDBStorage(url, heartbeat_interval=30, grace_period=120,
                          failed_trial_callback=RetryFailedTrialCallback(max_retry=2))
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's errors: a wrong URL or an unreachable server
        raise EdgeGruError(f"cannot open the study storage {url!r}: {str(exc).splitlines()[0][:200]}") from None


def open_study(cfg: SearchConfig) -> Any:
    """Create the study, or load it and check it explores the same thing."""
    optuna = _optuna()
    storage = make_storage(cfg.storage, cfg.out)
    sampler = optuna.samplers.GridSampler(cfg.grid(), seed=cfg.seed)
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage, sampler=sampler,
                                directions=["maximize", "minimize"], load_if_exists=True)
    record = study.user_attrs.get("config")
    if record is None:
        study.set_user_attr("config", cfg.record())
        study.set_user_attr("budgets", cfg.budgets)
        study.set_metric_names(["accuracy (best precision)", f"latency ms on {cfg.targets[0].name}"])
    elif record != cfg.record():
        diff = [k for k in record if record[k] != cfg.record().get(k)]
        raise EdgeGruError(f"the study in {cfg.storage or cfg.out / 'study.journal'} searched another space "
                           f"({', '.join(diff)} differ); use another -o/--storage or the same options")
    _requeue_interrupted(study)
    return study


def _requeue_interrupted(study: Any) -> None:
    """A trial stopped by Ctrl-C is FAIL without a recorded reason: queue its architecture again."""
    optuna = _optuna()
    states = optuna.trial.TrialState
    pending = {tuple(sorted(t.params.items())) for t in study.get_trials(deepcopy=False)
               if t.state in (states.COMPLETE, states.WAITING, states.RUNNING, states.PRUNED)
               or t.user_attrs.get("failure")}
    for t in study.get_trials(deepcopy=False, states=(states.FAIL,)):
        key = tuple(sorted(t.params.items()))
        if t.params and key not in pending and not t.user_attrs.get("failure"):
            study.enqueue_trial(dict(t.params), user_attrs={"requeued_from": t.number})
            pending.add(key)


def lower_bounds(units: int, layers: int, features: int, timesteps: int, outputs: int) -> dict:
    """What any build of this architecture needs at least: int8 weights, int16 states, 0.25 cycle per MAC."""
    params, macs, width = 0, 0, features
    for _ in range(layers):
        params += 3 * units * (width + units)
        macs += timesteps * 3 * units * (width + units)
        width = units
    params += width * outputs
    macs += width * outputs
    return {"flash_bytes": params, "ram_bytes": 2 * units * layers, "cycles": macs * MIN_CYCLES_PER_MAC,
            "macs": macs}


def infeasible(cfg: SearchConfig, units: int, layers: int, train: Dataset, outputs: int) -> str | None:
    """Why no precision of this architecture can meet the budgets on any target, or ``None``."""
    lb = lower_bounds(units, layers, train.X.shape[2], train.X.shape[1], outputs)
    reasons = []
    for t in cfg.targets:
        flash = min(t.flash_kb, cfg.max_flash_kb or t.flash_kb) * 1024
        ram = min(t.ram_kb, cfg.max_ram_kb or t.ram_kb) * 1024
        ms = lb["cycles"] / (t.clock_mhz * 1e3)
        if lb["flash_bytes"] > flash:
            reasons.append(f"{t.name}: weights alone need {lb['flash_bytes']:,} bytes of flash > {flash:,.0f}")
        elif lb["ram_bytes"] > ram:
            reasons.append(f"{t.name}: states alone need {lb['ram_bytes']:,} bytes of RAM > {ram:,.0f}")
        elif cfg.max_latency_ms is not None and ms > cfg.max_latency_ms:
            reasons.append(f"{t.name}: at least {ms:.3g} ms ({lb['macs']:,} MACs at {MIN_CYCLES_PER_MAC} cycle/MAC) "
                           f"> {cfg.max_latency_ms:g} ms")
        else:
            return None
    return "; ".join(reasons)


class Objective:
    """One trial: train, quantize, score and emulate one architecture (see the module docstring)."""

    def __init__(self, cfg: SearchConfig, train: Dataset, test: Dataset,
                 say: Callable[[str], None] = log.info, stage: Callable[[str], None] | None = None) -> None:
        self.cfg, self.train, self.test, self.say = cfg, train, test, say
        self.stage = stage or (lambda s: None)
        self.outputs = int(train.y.max()) + 1 if train.y is not None and train.y.ndim == 1 else 1
        self.trained = 0

    def __call__(self, trial: Any) -> tuple[float, float]:
        optuna = _optuna()
        units = trial.suggest_categorical("units", self.cfg.units)
        layers = trial.suggest_categorical("layers", self.cfg.layers)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        twin = _finished_twin(trial)
        if twin is not None:                                  # another worker or an earlier run did it
            for k, v in twin.user_attrs.items():
                if k not in ("worker", "requeued_from"):
                    trial.set_user_attr(k, v)
            trial.set_user_attr("copied_from", twin.number)
            return tuple(twin.values)
        why = infeasible(self.cfg, units, layers, self.train, self.outputs if self.outputs > 2 else 1)
        if why:
            trial.set_user_attr("pruned", why)
            raise optuna.TrialPruned(why)
        try:
            result = self.evaluate(trial.number, units, layers)
        except EdgeGruError as exc:
            trial.set_user_attr("failure", str(exc)[:500])
            raise
        for k, v in result.items():
            trial.set_user_attr(k, v)
        best = max(c["accuracy"] for c in result["candidates"])
        first = self.cfg.targets[0].name
        fastest = min(f["latency_ms"] for c in result["candidates"]
                      for f in c["targets"][first]["by_placement"].values())
        return best, fastest

    def evaluate(self, number: int, units: int, layers: int) -> dict:
        """Train, quantize at each precision, score on the test set, emulate on each target."""
        from converters.keras_import import import_keras
        from converters.keras_train import save_keras, train_classifier
        from edge_gru.fixed.io import save_fixed
        from edge_gru.fixed.model import quantize_model
        from edge_gru.spec import save_spec
        from firmware_sim.simulate import simulate

        cfg = self.cfg
        folder = trial_folder(cfg.out, number)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        self.stage(f"training GRU({units})x{layers}")
        model, acc_float = train_classifier(self.train, self.test, units=units, layers=layers, epochs=cfg.epochs,
                                            seed=cfg.seed)
        self.trained += 1
        save_keras(model, folder / "model.keras")
        spec = import_keras(model)
        save_spec(spec, folder / "model.egspec")
        train_s = time.perf_counter() - t0
        X = self.test.X[:cfg.emulate_sequences]
        candidates = []
        for prec in cfg.precisions:
            self.stage(f"GRU({units})x{layers} {prec}: quantize, score, emulate")
            fm = quantize_model(spec, self.train.X, prec)
            save_fixed(fm, folder / f"model-{prec}.egru")
            acc = accuracy(fm.predict(self.test.X), self.test.y)
            raw = fm.predict_raw(X)
            per_target = {}
            for t in cfg.targets:
                by_placement = {}
                for pl in cfg.placements:
                    res = simulate(fm, t, X, cc=cfg.cc, placement=pl)
                    by_placement[pl] = {
                        "latency_ms": res.latency_ms, "cycles_per_sequence": res.cycles_per_sequence,
                        "cycles_cold": res.cycles_cold, "flash_bytes": res.flash_bytes, "ram_bytes": res.ram_bytes,
                        "fits": res.fits, "bit_exact": bool(np.array_equal(res.outputs, raw)), "kernel": res.kernel,
                        "placement": pl, "memory": res.memory}
                per_target[t.name] = {**by_placement[cfg.placements[0]], "by_placement": by_placement}
            candidates.append({"precision": prec, "accuracy": acc, "macs": spec.macs_per_sequence(),
                               "params": spec.n_params, "targets": per_target})
        return {"candidates": candidates, "float_accuracy": acc_float, "train_seconds": round(train_s, 1),
                "seconds": round(time.perf_counter() - t0, 1), "epochs": cfg.epochs, "seed": cfg.seed,
                "compiler": cfg.cc.describe(cfg.targets[0].core) if cfg.cc is not None else None}


def trial_folder(out: Path, number: int) -> Path:
    """Where trial ``number`` keeps its model files."""
    return out / "trials" / f"{number:04d}"


def _finished_twin(trial: Any, poll: float = 5.0) -> Any:
    """A finished trial of the same architecture, waiting for one that a live worker is running.

    The grid sampler hands an architecture out again once every one has been started, so that one left
    running by a lost worker still gets done; when its worker is alive (same machine: its process exists;
    another machine: a database storage's heartbeat keeps only live trials RUNNING) this waits for it instead
    of training the same model twice.
    """
    optuna = _optuna()
    states = optuna.trial.TrialState
    while True:
        live = False
        for t in trial.study.get_trials(deepcopy=False, states=(states.COMPLETE, states.RUNNING)):
            if t.number == trial.number or t.params != trial.params:
                continue
            if t.state == states.COMPLETE and "candidates" in t.user_attrs:
                return t
            if t.state == states.RUNNING and _alive(t.user_attrs.get("worker", ""), trial.study):
                live = True
        if not live:
            return None
        time.sleep(poll)


def _alive(worker: str, study: Any) -> bool:
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        from optuna.storages._heartbeat import is_heartbeat_enabled

        return is_heartbeat_enabled(study._storage)
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def run_search(cfg: SearchConfig, objective: Objective, n_trials: int | None = None,
               after_trial: Callable[[Any, Any], None] | None = None) -> Any:
    """Run trials in this process until the grid (or ``cfg.trials``) is done; returns the study.

    Args:
        cfg: The search.
        objective: What a trial does.
        n_trials: Stop this process after that many trials (others may go on).
        after_trial: Optuna callback ``(study, trial)`` after each trial of this process.
    """
    optuna = _optuna()
    study = open_study(cfg)
    states = optuna.trial.TrialState
    callbacks: list = [after_trial] if after_trial else []
    if cfg.trials is not None:
        callbacks.append(optuna.study.MaxTrialsCallback(cfg.trials, states=(states.COMPLETE, states.PRUNED)))
        done = len(study.get_trials(deepcopy=False, states=(states.COMPLETE, states.PRUNED)))
        if done >= cfg.trials:
            return study
    elif _grid_done(study, cfg):
        return study
    study.optimize(objective, n_trials=n_trials, callbacks=callbacks, catch=(EdgeGruError,))
    return study


def _grid_done(study: Any, cfg: SearchConfig) -> bool:
    finished = {tuple(sorted(t.params.items())) for t in study.get_trials(deepcopy=False)
                if t.state.is_finished() and (t.state.name != "FAIL" or t.user_attrs.get("failure"))}
    return len(finished) >= len(cfg.units) * len(cfg.layers)


__all__ = ["Objective", "SearchConfig", "infeasible", "lower_bounds", "make_storage", "open_study", "run_search",
           "trial_folder"]
