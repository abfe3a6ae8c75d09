"""The search's front, budgets and pruning bounds (issue 16), without training."""

from __future__ import annotations

import numpy as np
import pytest

from edge_gru.data import Dataset
from edge_gru.workflows.pareto import dominates, front, mark_front
from edge_gru.workflows.search import SearchConfig, infeasible, lower_bounds
from edge_gru.workflows.search_report import KEYS
from firmware_sim.targets import get_target


def _p(acc, ms, flash, ram):
    return {"accuracy": acc, "latency_ms": ms, "flash_bytes": flash, "ram_bytes": ram}


def test_front_is_the_non_dominated_set():
    rng = np.random.default_rng(0)
    pts = [_p(*v) for v in zip(rng.random(60), rng.random(60), rng.integers(1, 50, 60), rng.integers(1, 50, 60),
                               strict=True)]
    pts.append(dict(pts[0]))                           # an exact tie is not a domination
    f = front(pts, KEYS)
    for p in pts:
        beaten = any(all((o[k] - p[k]) * s >= 0 for k, s in (("accuracy", 1), ("latency_ms", -1),
                                                              ("flash_bytes", -1), ("ram_bytes", -1))) and o != p
                     for o in pts)
        assert (any(p is q for q in f)) == (not beaten)
    assert dominates(_p(0.9, 1, 10, 10), _p(0.8, 1, 10, 10), KEYS)
    assert not dominates(_p(0.9, 2, 10, 10), _p(0.8, 1, 10, 10), KEYS)


def test_mark_front_is_per_target_and_skips_incomplete_rows():
    rows = [{"target": "a", "accuracy": 0.9, "latency_ms": 2.0}, {"target": "a", "accuracy": 0.8, "latency_ms": 3.0},
            {"target": "b", "accuracy": 0.8, "latency_ms": 3.0}, {"target": "a", "accuracy": None, "latency_ms": 1.0}]
    mark_front(rows)
    assert [r.get("pareto") for r in rows] == [True, False, True, None]


@pytest.mark.parametrize("units,layers,features,timesteps,outputs", [(16, 1, 13, 48, 10), (7, 2, 3, 5, 1),
                                                                    (33, 1, 1, 9, 4)])
def test_pruning_bounds_never_exceed_the_export(units, layers, features, timesteps, outputs):
    """The bounds used to prune are at most what the C export of that architecture needs (any precision)."""
    from converters.c_layout import kernel_macs, memory_figures
    from edge_gru.fixed.model import quantize_model
    from edge_gru.spec import random_spec

    rng = np.random.default_rng(units)
    dense = [(outputs, "softmax" if outputs > 1 else "sigmoid")]
    spec = random_spec(rng, features, [units] * layers, dense)
    lb = lower_bounds(units, layers, features, timesteps, outputs)
    assert lb["macs"] == spec.macs_per_sequence(timesteps)          # the model's own MAC count
    for prec in ("w8a8", "w8a16", "w16a16"):
        fm = quantize_model(spec, rng.normal(size=(8, timesteps, features)).astype(np.float32), prec)
        mem = memory_figures(fm)
        assert lb["flash_bytes"] <= mem["constant_bytes"] and lb["ram_bytes"] <= mem["state_bytes"]
        assert lb["macs"] <= kernel_macs(fm, timesteps)


def test_infeasible_names_the_budget():
    train = Dataset(np.zeros((4, 48, 13), np.float32), np.array([0, 1, 2, 3]))
    cfg = SearchConfig(out=None, targets=[get_target("rp2040")], units=[64], layers=[2], precisions=["w8a8"],
                       max_latency_ms=0.01)
    why = infeasible(cfg, 64, 2, train, 4)
    assert why and "rp2040" in why and "> 0.01 ms" in why
    cfg.max_latency_ms = None
    assert infeasible(cfg, 64, 2, train, 4) is None
    cfg.max_flash_kb = 1
    assert "weights alone need" in infeasible(cfg, 64, 2, train, 4)


def test_search_takes_per_step_labels(tmp_path):
    """search's data: y (N,) per sequence or (N, T) per step in both splits; a mix is refused in one message."""
    from edge_gru.cli.search_cmd import _search_data
    from edge_gru.errors import DataError

    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 5, 3)).astype(np.float32)
    Dataset(X, rng.integers(0, 2, (8, 5))).save(tmp_path / "steps.npz")
    Dataset(X, rng.integers(0, 2, 8)).save(tmp_path / "seq.npz")
    train, test = _search_data(None, tmp_path / "steps.npz", tmp_path / "steps.npz")
    assert train.y.shape == test.y.shape == (8, 5)
    with pytest.raises(DataError, match=r"or y \(N, T\) per step"):
        _search_data(None, tmp_path / "steps.npz", tmp_path / "seq.npz")
