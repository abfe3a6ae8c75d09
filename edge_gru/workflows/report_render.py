"""Render a report dictionary: PNG plots (matplotlib, Agg), Markdown, and self-contained HTML."""

from __future__ import annotations

import html
from pathlib import Path

from edge_gru.workflows.render import figure, html_table, markdown_table, page, pyplot

METHOD_MARK = {"emulated": "o", "estimated": "s", "measured": "^"}


def targets_of(report: dict) -> list[str]:
    """The targets of a report's rows, in order of first appearance."""
    seen: list[str] = []
    for r in report["rows"]:
        if r.get("target") and r["target"] not in seen:
            seen.append(r["target"])
    return seen


def _label(r: dict) -> str:
    if r["method"] == "estimated":
        return f"TFLite Micro int8 {r.get('layout', '')} {r.get('kernels', '')}".replace("  ", " ").strip()
    return f"C runtime {r['precision']}"


def render_plots(report: dict, out: Path) -> dict[str, Path]:
    """One accuracy-vs-latency plot per target (Pareto front drawn) and a cycles-per-MAC bar chart."""
    plt = pyplot()
    pngs: dict[str, Path] = {}
    for t in targets_of(report):
        rows = [r for r in report["rows"] if r.get("target") == t and r.get("latency_ms") and r.get("accuracy")
                is not None]
        if not rows:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 5.4), dpi=110)
        for r in rows:
            ax.scatter(r["latency_ms"], r["accuracy"] * 100, marker=METHOD_MARK[r["method"]], s=60,
                       label=f"{_label(r)} [{r['method']}]", zorder=3)
        front = sorted((r for r in rows if r.get("pareto")), key=lambda r: r["latency_ms"])
        if front:
            ax.step([r["latency_ms"] for r in front], [r["accuracy"] * 100 for r in front], where="post",
                    color="grey", linestyle="--", label="Pareto front", zorder=2)
        float_acc = report["model"].get("float_accuracy_emulated_sequences")
        if float_acc is not None:
            ax.axhline(float_acc * 100, color="black", linewidth=0.8, linestyle=":",
                       label=f"float reference (same {report['model']['emulated_sequences']} sequences)")
        ax.set_xscale("log")
        ax.set_xlabel("latency per sequence (ms, log scale)")
        ax.set_ylabel(f"accuracy on {report['model']['emulated_sequences']} test sequences (%)")
        core = rows[0]["implementation"].split(" on ")[-1].replace(" (emulated)", "") if rows else ""
        ax.set_title(f"{t}: accuracy vs latency")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
        fig.tight_layout()
        path = out / f"accuracy-latency-{t}.png"
        fig.savefig(path)
        plt.close(fig)
        pngs[f"{t} ({core})" if core else t] = path
    emu = [r for r in report["rows"] if r["method"] in ("emulated", "estimated") and r.get("cycles_per_mac")]
    if emu:
        fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
        labels = [f"{r['target']}\n" + (f"TFLM {r.get('layout', '')} {r.get('kernels', '')}"
                                         if r['method'] == 'estimated' else r['precision']) for r in emu]
        colors = ["#c44e52" if r["method"] == "estimated" else "#4c72b0" for r in emu]
        ax.bar(range(len(emu)), [r["cycles_per_mac"] for r in emu], color=colors)
        ax.set_xticks(range(len(emu)), labels, fontsize=6, rotation=90)
        ax.set_ylabel("cycles per MAC (whole inference)")
        ax.set_title("cycles per MAC: emulated C runtime (blue) vs TFLite Micro estimate (red)")
        ax.title.set_fontsize(9)
        fig.tight_layout()
        path = out / "cycles-per-mac.png"
        fig.savefig(path)
        plt.close(fig)
        pngs["cycles per MAC"] = path
    return pngs


def _fmt(v, kind: str = "") -> str:
    if v is None:
        return "–"
    if kind == "pct":
        return f"{v * 100:.2f}%"
    if kind == "delta":
        return f"{v * 100:+.2f}"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "e":
        return f"{v:.2e}"
    if kind == "bool":
        return "yes" if v else "NO"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


COLUMNS = [("implementation", "implementation", ""), ("precision", "precision", ""), ("target", "target", ""),
           ("placement", "placement", ""),
           ("accuracy", "accuracy", "pct"), ("accuracy_delta", "Δ vs float (pts)", "delta"),
           ("agreement", "agreement", "pct"), ("rmse", "RMSE", "e"), ("max_lsb_diff", "max LSB", ""),
           ("cycles", "cycles/seq", "int"), ("cycles_cold", "cold cycles/seq", "int"),
           ("cycles_per_step", "cycles/step", "int"),
           ("cycles_per_mac", "cycles/MAC", ""), ("latency_ms", "latency ms", ""),
           ("flash_bytes", "flash B", "int"), ("ram_bytes", "RAM B", "int"), ("fits", "fits", "bool"),
           ("method", "method", "")]


def _table_rows(report: dict) -> list[list[str]]:
    return [[_fmt(r.get(k), kind) for k, _, kind in COLUMNS] for r in report["rows"]]


def compiler_line(report: dict) -> str:
    """Which compiler built the emulated rows (empty when nothing was emulated)."""
    cc = report.get("compiler")
    if not cc:
        return ""
    return (f"Emulated rows: firmware built with {cc['version']} ({cc['kind']}, chosen by {cc['source']}), "
            f"flags `{cc['flags']}` plus the core's -mcpu flags.")


def memory_lines(report: dict) -> list[str]:
    """One line per emulated target: the memory model its cycles include and what that model was checked against."""
    seen: dict[str, tuple[str, str]] = {}
    for r in report["rows"]:
        if r["method"] == "emulated" and r.get("memory") and r["target"] not in seen:
            seen[r["target"]] = (r["memory"], r.get("memory_validated") or "modelled from the reference manual, "
                                                                              "not validated")
    tflm = {r["target"]: r.get("memory") for r in report["rows"] if r["method"] == "estimated"}
    return [f"Memory on {t}: {name} ({why})." + (f" TFLite Micro rows: {tflm[t]}." if tflm.get(t) else "")
            for t, (name, why) in seen.items()]


def _input_line(m: dict) -> str:
    """What the model reads (token models) and outputs (per-step models); empty otherwise."""
    per_step = ("Output: one after every timestep (a per-step model): accuracy is the frame accuracy over every "
                "step of every sequence, agreement and RMSE compare every step's outputs, and cycles/step is the "
                "latency of one step's decision.") if m.get("per_step") else ""
    if m.get("input") != "token ids":
        return per_step
    pad = ", id 0 is padding (skipped)" if m.get("mask_zero") else ""
    return per_step + (" " if per_step else "") + (
        f"Input: token ids, vocabulary {m['vocab']:,}{pad}; {m['steps_per_sequence']:.1f} real tokens per sequence "
        f"on average (of {m['timesteps']}): cycles/step is cycles per token.")


def render_markdown(report: dict) -> str:
    """The report as Markdown (for pull requests)."""
    m = report["model"]
    lines = [f"# edge-gru report: {m['name']}", "",
             f"{m['parameters']:,} parameters, {m['macs_per_sequence']:,} MACs per sequence, "
             f"{m['test_sequences']} test sequences; rows with a target are evaluated on the first "
             f"{m['emulated_sequences']} (emulated per target).", ""]
    if _input_line(m):
        lines += [_input_line(m), ""]
    if compiler_line(report):
        lines += [compiler_line(report), ""]
    if memory_lines(report):
        lines += [*memory_lines(report), ""]
    lines += markdown_table([h for _, h, _ in COLUMNS], _table_rows(report))
    unmeasured = sorted({t for r in report["rows"] for t in r.get("unmeasured_ops") or []})
    if unmeasured:
        lines += ["", f"The TFLite Micro estimates include operators never measured ({', '.join(unmeasured)}): each is "
                      "costed as a typical element-wise kernel (firmware_sim/tflm_estimate.py DEFAULT_OP); their "
                      "calibration_error does not cover them."]
    tflm = next((r for r in report["rows"] if "litert_vs_tflm" in r), None)
    if tflm:
        d = tflm["litert_vs_tflm"]
        lines += ["", f"LiteRT and TFLite Micro differ on {d['differing_outputs'] * 100:.2f}% of output values of the "
                      f"same int8 file (largest difference {d['max_lsb']} LSB)."]
    lines += ["", "## Assumptions", ""] + [f"- {a}" for a in report["assumptions"]]
    lines += ["", "## Model", "", "```", *m["architecture"], "```"]
    return "\n".join(lines) + "\n"


def tflm_extremes(rows: list[dict], target: str) -> tuple[dict | None, dict | None]:
    """The fastest and the smallest (flash + RAM) TFLite Micro rows of ``target``."""
    est = [o for o in rows if o.get("target") == target and o["method"] == "estimated" and o.get("latency_ms")]
    if not est:
        return None, None
    fastest = min(est, key=lambda o: o["latency_ms"])
    smallest = min(est, key=lambda o: (o.get("flash_bytes") or 0) + (o.get("ram_bytes") or 0))
    return fastest, smallest


def _err_text(o: dict) -> str:
    err = o.get("calibration_error")
    if not err:
        return "never measured on this core"
    worst, n = err["worst_cycles_any_model"], err["models_measured"]
    cal = ("fitted on the calibration model" if err.get("cycles_fitted") else
           f"{err['cycles'] * 100:+.1f}% off in cycles on the calibration model")
    return f"{cal}; at worst {worst * 100:+.1f}% in cycles on {n} measured run{'s' * (n != 1)} it was not fitted on"


def _summary(report: dict) -> str:
    rows = report["rows"]
    best = {}
    for r in rows:
        if r["method"] == "emulated" and r.get("fits"):
            t = r["target"]
            if t not in best or r["latency_ms"] < best[t]["latency_ms"]:
                best[t] = r
    items = []
    for t, r in best.items():
        fastest, smallest = tflm_extremes(rows, t)
        vs = ""
        if fastest is not None:
            vs = (f"; TFLite Micro (estimated) at best {fastest['latency_ms']:.3g} ms ({fastest['layout']}, "
                  f"{fastest['kernels']}: {fastest['latency_ms'] / r['latency_ms']:.1f}x slower, {_err_text(fastest)}),"
                  f" smallest {smallest['flash_bytes']:,} B flash + {smallest['ram_bytes'] or 0:,} B RAM "
                  f"({smallest['layout']}, {smallest['kernels']})")
        items.append(f"<li><b>{html.escape(t)}</b>: C runtime {html.escape(r['precision'])} "
                     f"{r['latency_ms']:.3g} ms per sequence ({r['cycles_per_mac']:.2f} cycles/MAC), accuracy "
                     f"{_fmt(r['accuracy'], 'pct')}, flash {r['flash_bytes']:,} B, RAM {r['ram_bytes']:,} B"
                     f"{html.escape(vs)}</li>")
    return "<ul>" + "".join(items) + "</ul>" if items else "<p>No target was emulated.</p>"


def render_html(report: dict, pngs: dict[str, Path]) -> str:
    """A self-contained HTML page (plots embedded as data URIs, no network needed)."""
    m = report["model"]
    table = html_table([h for _, h, _ in COLUMNS], _table_rows(report))
    figs = "".join(figure(p, f"accuracy vs latency: {k}" if k != "cycles per MAC" else k) for k, p in pngs.items())
    assumptions = "".join(f"<li>{html.escape(a)}</li>" for a in report["assumptions"])
    arch = html.escape("\n".join(m["architecture"]))
    tflm = next((r for r in report["rows"] if "litert_vs_tflm" in r), None)
    diff = (f"<p>LiteRT and TFLite Micro differ on {tflm['litert_vs_tflm']['differing_outputs'] * 100:.2f}% of the "
            f"output values of the same int8 file (largest difference {tflm['litert_vs_tflm']['max_lsb']} LSB): a "
            f"host run with LiteRT does not predict the device's outputs.</p>") if tflm else ""
    body = f"""<p>{m['parameters']:,} parameters, {m['macs_per_sequence']:,} MACs per sequence;
{m['test_sequences']} test sequences; rows with a target (and the plots) use the first
{m['emulated_sequences']}, emulated per target.</p>
<p>{html.escape(_input_line(m))}</p>
<p>{html.escape(compiler_line(report).replace('`', ''))}</p>
{"".join(f"<p>{html.escape(line)}</p>" for line in memory_lines(report))}
<h2>Summary</h2>{_summary(report)}{diff}
<h2>Accuracy vs latency</h2>{figs}
<h2>All implementations</h2>{table}
<h2>Model</h2><pre>{arch}</pre>
<h2>How each figure was obtained</h2><ul>{assumptions}</ul>"""
    return page(f"edge-gru report: {m['name']}", body)


__all__ = ["compiler_line", "tflm_extremes", "render_html", "render_markdown", "render_plots", "targets_of"]
