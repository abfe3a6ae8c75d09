"""The result of a search: candidates per target, their Pareto front, the budgets, the recommended model with
its artifacts ready to use, and the report (search.json, search.md, search.html with plots).

A candidate is one trained architecture at one precision. On a target it is described by accuracy (higher is
better), latency, flash and RAM (lower is better); it is on the front when no other candidate is at least as
good in all four and better in one. It meets the budgets when its latency, flash and RAM are within the
``--max-*`` options and within the part's own flash and RAM. The recommended candidate of a target is the
most accurate one that meets the budgets (then the fastest, then the smallest).
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

from edge_gru.workflows.pareto import front
from edge_gru.workflows.render import figure, html_table, markdown_table, page, pyplot
from edge_gru.workflows.search import SearchConfig, trial_folder

KEYS = (("accuracy", 1), ("latency_ms", -1), ("flash_bytes", -1), ("ram_bytes", -1))


def collect(study: Any) -> tuple[list[dict], list[dict]]:
    """Candidates of the finished trials, and the trials that were pruned or failed (with their reasons)."""
    cands, others = [], []
    workers = {t.number: t.user_attrs.get("worker", "") for t in study.get_trials(deepcopy=False)}
    for t in study.get_trials(deepcopy=False):
        if t.state.name == "COMPLETE" and "candidates" in t.user_attrs:
            src = t.user_attrs.get("copied_from", t.number)
            for c in t.user_attrs["candidates"]:
                cands.append({**c, "trial": src, "worker": workers.get(src, ""),
                              "units": t.params["units"], "layers": t.params["layers"],
                              "name": f"GRU({t.params['units']})x{t.params['layers']} {c['precision']}",
                              "float_accuracy": t.user_attrs.get("float_accuracy")})
        elif t.state.name in ("PRUNED", "FAIL") and t.params:
            others.append({"trial": t.number, "state": t.state.name.lower(), **t.params,
                           "reason": t.user_attrs.get("pruned") or t.user_attrs.get("failure") or "interrupted"})
    unique = {(c["units"], c["layers"], c["precision"]): c for c in cands}     # a copied trial is one candidate
    return list(unique.values()), others


def summarize(cfg: SearchConfig, study: Any) -> dict:
    """The report's content: per target, every candidate's figures, the front, the budgets and the choice."""
    cands, others = collect(study)
    per_target = {}
    for t in cfg.targets:
        flash = min(t.flash_kb, cfg.max_flash_kb or t.flash_kb) * 1024
        ram = min(t.ram_kb, cfg.max_ram_kb or t.ram_kb) * 1024
        rows = []
        for c in cands:
            entry = c["targets"].get(t.name)
            if entry is None:
                continue
            for pl, f in entry.get("by_placement", {entry.get("placement", "flash"): entry}).items():
                meets = (f["flash_bytes"] <= flash and f["ram_bytes"] <= ram
                         and (cfg.max_latency_ms is None or f["latency_ms"] <= cfg.max_latency_ms))
                rows.append({"name": c["name"] + ("" if pl == "flash" else f" {pl}"), "trial": c["trial"],
                             "worker": c["worker"], "units": c["units"], "layers": c["layers"],
                             "precision": c["precision"], "accuracy": c["accuracy"], "params": c["params"],
                             "macs": c["macs"], "placement": pl, "cycles_cold": f.get("cycles_cold"),
                             **{k: f[k] for k in ("latency_ms", "cycles_per_sequence", "flash_bytes", "ram_bytes",
                                                  "bit_exact")}, "meets_budgets": meets})
        on_front = front(rows, KEYS)
        for r in rows:
            r["pareto"] = any(r is p for p in on_front)
        ok = [r for r in rows if r["meets_budgets"]]
        best = min(ok, key=lambda r: (-r["accuracy"], r["latency_ms"], r["flash_bytes"])) if ok else None
        per_target[t.name] = {"part": t.part, "core": t.core, "clock_mhz": t.clock_mhz,
                              "limits": {"flash_bytes": flash, "ram_bytes": ram, "latency_ms": cfg.max_latency_ms},
                              "candidates": sorted(rows, key=lambda r: r["latency_ms"]),
                              "recommended": None if best is None else dict(best)}
    return {"config": cfg.record(), "budgets": cfg.budgets, "trials": len(study.trials), "targets": per_target,
            "pruned_or_failed": others, "candidates": len(cands)}


def export_recommended(report: dict, cfg: SearchConfig, calibration: Any, tflite: bool = True,
                       say: Any = print) -> None:
    """Write each target's recommended model, ready to use: ``recommended/TARGET/`` with the ``.egru``, the C
    folder, the ``.keras`` and (unless ``tflite`` is False) the int8 ``.tflite``; paths go into the report."""
    from converters.c_export import export_c
    from edge_gru.errors import EdgeGruError
    from edge_gru.fixed.io import load_fixed, save_fixed
    from edge_gru.outputs import staged_folder
    from firmware_sim.simulate import matrix_layout_for, straight_max_k_for

    for name, entry in report["targets"].items():
        rec = entry["recommended"]
        if rec is None:
            continue
        src = trial_folder(cfg.out, rec["trial"])
        if not (src / "model.keras").is_file():      # trained by a worker on another machine with its own -o
            rec["artifacts_missing"] = (f"trial {rec['trial']} ran on {rec['worker'] or 'another worker'}; its "
                                        f"files are in that worker's {src.relative_to(cfg.out)}")
            say(f"{name}: recommended {rec['name']}: {rec['artifacts_missing']} (share -o between machines, or run "
                "this command there)")
            continue
        with staged_folder(cfg.out / "recommended" / name, None, force=True) as stage:
            shutil.copyfile(src / f"model-{rec['precision']}.egru", stage / "model.egru")
            shutil.copyfile(src / "model.keras", stage / "model.keras")
            fm = load_fixed(stage / "model.egru")
            target = next(t for t in cfg.targets if t.name == name)
            placement = rec.get("placement", "flash")
            export_c(fm, stage / "c", name=f"{name}_gru", placement=placement,   # as the search measured it
                     matrix=matrix_layout_for(target), straight_max_k=straight_max_k_for(target, placement))
            save_fixed(fm, stage / "c" / "model.egru")
            rec["artifacts"] = {"egru": f"recommended/{name}/model.egru", "c": f"recommended/{name}/c",
                                "keras": f"recommended/{name}/model.keras"}
            if tflite:
                try:
                    from converters.tflite_export import export_tflite
                    from edge_gru.spec import load_spec

                    export_tflite(load_spec(src / "model.egspec"), calibration, stage / "model-int8.tflite")
                    rec["artifacts"]["tflite"] = f"recommended/{name}/model-int8.tflite"
                except EdgeGruError as exc:
                    rec["tflite_failure"] = str(exc)[:300]
                    say(f"{name}: no .tflite for {rec['name']}: {exc}")


def write_report(report: dict, out: Path) -> list[Path]:
    """search.json, search.md and search.html with one accuracy-vs-latency and one accuracy-vs-flash plot per
    target; returns the files written."""
    pngs = _plots(report, out)
    (out / "search.json").write_text(json.dumps(report, indent=2, default=float))
    (out / "search.md").write_text(render_markdown(report))
    (out / "search.html").write_text(render_html(report, pngs))
    return [out / "search.json", out / "search.md", out / "search.html", *pngs.values()]


def _plots(report: dict, out: Path) -> dict[str, Path]:
    plt = pyplot()
    pngs = {}
    for name, entry in report["targets"].items():
        rows = entry["candidates"]
        if not rows:
            continue
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), dpi=100)
        for ax, key, label in ((axes[0], "latency_ms", "latency per sequence (ms, log scale)"),
                               (axes[1], "flash_bytes", "flash (bytes, log scale)")):
            for prec, marker in zip(sorted({r["precision"] for r in rows}), "osD^v", strict=False):
                pts = [r for r in rows if r["precision"] == prec]
                ax.scatter([r[key] for r in pts], [r["accuracy"] * 100 for r in pts], marker=marker, s=40,
                           label=prec, zorder=3, alpha=0.8)
            best = {}
            for r in sorted(rows, key=lambda r: r[key]):       # the 2-D front of this plot
                if not best or r["accuracy"] > max(best.values()):
                    best[r[key]] = r["accuracy"]
            ax.step(list(best), [v * 100 for v in best.values()], where="post", color="grey", linestyle="--",
                    label="front (this pair)")
            rec = entry["recommended"]
            if rec:
                ax.scatter([rec[key]], [rec["accuracy"] * 100], s=180, facecolors="none", edgecolors="red",
                           label=f"recommended: {rec['name']}", zorder=4)
            limit = entry["limits"]["latency_ms"] if key == "latency_ms" else entry["limits"]["flash_bytes"]
            if limit:
                ax.axvline(limit, color="red", linestyle=":", linewidth=1, label="budget")
            ax.set_xscale("log")
            from matplotlib.ticker import NullFormatter

            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel(label)
            ax.set_ylabel("test accuracy (%)")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle(f"{name} ({entry['core']}, {entry['clock_mhz']:g} MHz): {len(rows)} candidates")
        fig.tight_layout()
        path = out / f"search-{name}.png"
        fig.savefig(path)
        plt.close(fig)
        pngs[name] = path
    return pngs


TABLE_HEADERS = ("candidate", "placement", "accuracy", "latency ms", "cycles/seq", "flash B", "RAM B", "front",
                 "meets budgets")


def _cells(rows: list[dict]) -> list[list[str]]:
    return [[r["name"], r.get("placement", "flash"), f"{r['accuracy'] * 100:.2f}%", f"{r['latency_ms']:.3f}",
             f"{r['cycles_per_sequence']:,.0f}", f"{r['flash_bytes']:,}", f"{r['ram_bytes']:,}",
             "yes" if r["pareto"] else "", "yes" if r["meets_budgets"] else "no"] for r in rows]


def _intro(report: dict) -> list[str]:
    b = report["budgets"]
    budgets = ", ".join(f"{k} {v:g}" for k, v in b.items() if v is not None) or "none (the parts' flash and RAM)"
    return [f"{report['trials']} trials, {report['candidates']} candidates (architecture x precision); budgets: "
            f"{budgets}.",
            "Accuracy: the host fixed-point reference on the whole test set (bit-exact with the device); latency, "
            "flash and RAM: the C runtime emulated (per-core cycle model) on a few test sequences."]


def _heading(name: str, entry: dict) -> str:
    return f"{name} ({entry['part']}, {entry['core']}, {entry['clock_mhz']:g} MHz)"


def _recommended(entry: dict) -> str:
    rec = entry["recommended"]
    if not rec:
        return "Recommended: none (no candidate meets the budgets on this part)"
    files = ", ".join(str(v) for v in rec.get("artifacts", {}).values())
    return (f"Recommended: {rec['name']}, accuracy {rec['accuracy'] * 100:.2f}%, {rec['latency_ms']:.3f} ms, "
            f"{rec['flash_bytes']:,} B flash, {rec['ram_bytes']:,} B RAM" + (f"; artifacts: {files}" if files else ""))


def _pruned(report: dict) -> list[str]:
    return [f"trial {o['trial']} GRU({o['units']})x{o['layers']}: {o['state']}: {o['reason']}"
            for o in report["pruned_or_failed"]]


def render_markdown(report: dict) -> str:
    """The search report as Markdown."""
    out = ["# edge-gru search", "", *_intro(report), ""]
    for name, entry in report["targets"].items():
        front_rows = [r for r in entry["candidates"] if r["pareto"]]
        out += [f"## {_heading(name, entry)}", "", _recommended(entry), "",
                "Pareto front (accuracy, latency, flash, RAM):", ""]
        out += markdown_table(TABLE_HEADERS, _cells(front_rows))
        out += ["", "All candidates:", ""] + markdown_table(TABLE_HEADERS, _cells(entry["candidates"])) + [""]
    if report["pruned_or_failed"]:
        out += ["## Pruned or failed", ""] + [f"- {line}" for line in _pruned(report)]
    return "\n".join(out) + "\n"


def render_html(report: dict, pngs: dict[str, Path]) -> str:
    """The search report as a self-contained HTML page: the same text and tables as the Markdown, with the plots."""
    esc = html.escape
    body = "".join(f"<p>{esc(line)}</p>" for line in _intro(report))
    for name, entry in report["targets"].items():
        body += f"<h2>{esc(_heading(name, entry))}</h2><p>{esc(_recommended(entry))}</p>"
        if name in pngs:
            body += figure(pngs[name], f"accuracy vs latency and flash on {name}")
        front_rows = [r for r in entry["candidates"] if r["pareto"]]
        body += "<h3>Pareto front (accuracy, latency, flash, RAM)</h3>" + html_table(TABLE_HEADERS, _cells(front_rows))
        body += "<h3>All candidates</h3>" + html_table(TABLE_HEADERS, _cells(entry["candidates"]))
    if report["pruned_or_failed"]:
        body += "<h2>Pruned or failed</h2><ul>" + "".join(f"<li>{esc(x)}</li>" for x in _pruned(report)) + "</ul>"
    return page("edge-gru search", body)


__all__ = ["KEYS", "collect", "export_recommended", "render_html", "render_markdown", "summarize", "write_report"]
