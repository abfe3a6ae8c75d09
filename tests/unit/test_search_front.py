"""The search's front, budgets and pruning bounds (issue 16), without training."""

from __future__ import annotations

import numpy as np

from edge_gru.data import Dataset
from firmware_sim.search import SearchConfig, infeasible, lower_bounds
from firmware_sim.search_report import dominates, front
from firmware_sim.targets import get_target


def _p(acc, ms, flash, ram):
    return {"accuracy": acc, "latency_ms": ms, "flash_bytes": flash, "ram_bytes": ram}


def test_front_is_the_non_dominated_set():
    rng = np.random.default_rng(0)
    pts = [_p(*v) for v in zip(rng.random(60), rng.random(60), rng.integers(1, 50, 60), rng.integers(1, 50, 60),
                               strict=True)]
    pts.append(dict(pts[0]))                           # an exact tie is not a domination
    f = front(pts)
    for p in pts:
        beaten = any(all((o[k] - p[k]) * s >= 0 for k, s in (("accuracy", 1), ("latency_ms", -1),
                                                              ("flash_bytes", -1), ("ram_bytes", -1))) and o != p
                     for o in pts)
        assert (any(p is q for q in f)) == (not beaten)
    assert dominates(_p(0.9, 1, 10, 10), _p(0.8, 1, 10, 10)) and not dominates(_p(0.9, 2, 10, 10), _p(0.8, 1, 10, 10))


def test_pruning_bounds_never_exceed_a_real_build():
    """The lower bounds used to prune are below what the emulator measures for a small model (any core)."""
    lb = lower_bounds(16, 1, 13, 48, 10)
    assert lb["macs"] == 48 * 3 * 16 * (13 + 16) + 16 * 10
    assert lb["flash_bytes"] == 3 * 16 * 29 + 160 and lb["cycles"] == lb["macs"] * 0.25
    # measured (make bench): 2.9-9.1 cycles/MAC and >14 KB of flash for this model on M7..M0+
    assert lb["cycles"] < 2.0 * lb["macs"] and lb["flash_bytes"] < 14_000


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
