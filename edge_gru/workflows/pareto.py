"""The Pareto front: the candidates no other candidate beats in every figure."""

from __future__ import annotations

from collections.abc import Sequence

#: a figure and its direction: +1 higher is better, -1 lower is better
Key = tuple[str, int]
ACCURACY_LATENCY: tuple[Key, ...] = (("accuracy", 1), ("latency_ms", -1))


def dominates(a: dict, b: dict, keys: Sequence[Key] = ACCURACY_LATENCY) -> bool:
    """``a`` is at least as good as ``b`` in every figure of ``keys`` and better in one."""
    ge = all((a[k] - b[k]) * sign >= 0 for k, sign in keys)
    return ge and any((a[k] - b[k]) * sign > 0 for k, sign in keys)


def front(points: Sequence[dict], keys: Sequence[Key] = ACCURACY_LATENCY) -> list[dict]:
    """The points of ``points`` that no other point dominates (ties both stay)."""
    return [p for p in points if not any(dominates(o, p, keys) for o in points if o is not p)]


def mark_front(rows: list[dict], keys: Sequence[Key] = ACCURACY_LATENCY, group: str = "target") -> None:
    """Set ``pareto`` on every row with all ``keys``: on the front of the rows sharing its ``group`` value.

    Rows missing a figure (``None``) are left without the flag.
    """
    complete = [r for r in rows if all(r.get(k) is not None for k, _ in keys)]
    for value in dict.fromkeys(r.get(group) for r in complete):
        members = [r for r in complete if r.get(group) == value]
        on = front(members, keys)
        for r in members:
            r["pareto"] = any(r is p for p in on)


__all__ = ["ACCURACY_LATENCY", "Key", "dominates", "front", "mark_front"]
