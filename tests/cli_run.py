"""``edge-gru`` as a user runs it: a subprocess (``python -m edge_gru.cli``), for the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys

EXE = [sys.executable, "-m", "edge_gru.cli"]


def run(*args, cwd=None, check_rc=None, env=None, timeout=600) -> subprocess.CompletedProcess:
    """Run ``edge-gru ARGS`` (paths are turned into strings); ``check_rc``: the exit status it must have."""
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    p = subprocess.run([*EXE, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=full_env,
                       timeout=timeout)
    if check_rc is not None:
        assert p.returncode == check_rc, p.stdout + p.stderr
    return p
