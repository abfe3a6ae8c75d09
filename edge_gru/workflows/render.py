"""What the report and the search draw with: matplotlib (Agg), Markdown and HTML tables, self-contained pages.

A table is given once as headers and rows of cell strings; :func:`markdown_table` and :func:`html_table`
render the same cells, so the ``.md`` and ``.html`` of a report always show the same figures.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from edge_gru.errors import ToolMissingError

CSS = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
       "table{border-collapse:collapse;font-size:12px;margin:0.5em 0}"
       "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
       "td:first-child,th:first-child{text-align:left}figure{display:inline-block;margin:0.5em}"
       "img{max-width:560px}pre{background:#f6f6f6;padding:0.6em}")


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend.

    Raises:
        ToolMissingError: matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ToolMissingError("plots need matplotlib: pip install 'edge-gru[report]'") from exc
    return plt


def figure(path: Path, caption: str) -> str:
    """An HTML ``<figure>`` with the PNG at ``path`` embedded as a data URI (no network needed)."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    cap = html.escape(caption)
    return f'<figure><img alt="{cap}" src="data:image/png;base64,{data}"><figcaption>{cap}</figcaption></figure>'


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table (``|`` in a cell is escaped)."""
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return [line(headers), "|" + "---|" * len(headers), *(line(r) for r in rows)]


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table of the same cells (escaped)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, body: str) -> str:
    """A self-contained HTML document around ``body`` (already HTML)."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


__all__ = ["CSS", "figure", "html_table", "markdown_table", "page", "pyplot"]
