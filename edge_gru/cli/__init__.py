"""The ``edge-gru`` command line (click). Commands live in the modules of this package by what they do."""

from __future__ import annotations

from edge_gru.cli import model_cmds, run_cmd, search_cmd, sim_cmds  # noqa: F401 - registers the commands
from edge_gru.cli._common import artifact_kind, cli, load_float_spec


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="edge-gru")


__all__ = ["artifact_kind", "cli", "load_float_spec", "main"]
