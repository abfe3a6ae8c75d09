"""The layers hold (import contract), and the test suite skips rather than errors without optional tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("edge_gru", "converters", "firmware_sim")


def _lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", code, "--no-cache"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.needs("import-linter")
def test_import_contract_is_kept():
    p = _lint_imports(ROOT)
    assert p.returncode == 0 and "0 broken" in p.stdout, p.stdout[-3000:] + p.stderr[-2000:]


@pytest.mark.needs("import-linter")
@pytest.mark.parametrize("module,line,contract", [
    ("edge_gru/spec.py", "from firmware_sim import targets", "Only the app layer imports firmware_sim"),
    ("edge_gru/fixed/quantize.py", "from converters import c_layout", "Only firmware_sim and the app layer import"),
    ("converters/c_export.py", "from firmware_sim import targets", "Only the app layer imports firmware_sim"),
    ("firmware_sim/simulate.py", "from edge_gru.workflows import pareto", "Only the CLI imports the workflows"),
    ("edge_gru/fixed/model.py", "from edge_gru.fixed import io", "No import circle"),
])
def test_import_contract_catches_a_violation(tmp_path, module, line, contract):
    """A copy of the packages with one forbidden import added breaks the contract that names it."""
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n\ndef _violation():\n    {line}  # noqa\n")
    p = _lint_imports(tmp_path, pythonpath=tmp_path)
    assert p.returncode != 0, p.stdout[-3000:]
    broken = [ln for ln in p.stdout.splitlines() if ln.endswith("BROKEN")]
    assert len(broken) == 1 and broken[0].startswith(contract), p.stdout[-3000:]


@pytest.mark.slow
def test_unit_tests_skip_without_tensorflow():
    """With TensorFlow and Keras hidden, the tests that need them skip, naming what to install; none errors."""
    env = dict(os.environ, EDGE_GRU_TEST_WITHOUT="tensorflow,keras")
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                        "tests/unit/test_keras_import.py", "tests/unit/test_tflite_runtime.py"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:]
    assert "skipped" in p.stdout and "needs tensorflow (pip install 'edge-gru[tf]')" in p.stdout, p.stdout[-3000:]
    assert " error" not in p.stdout.splitlines()[-1] and "failed" not in p.stdout.splitlines()[-1]


def test_readme_is_short_and_reaches_every_docs_page():
    """README stays a user's page (< 15 KB); every page under docs/ is linked from it; every relative link in the
    README and the docs points at a file that exists; no archive is tracked at the root."""
    import re

    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) < 15_000
    linked = set(re.findall(r"\]\((docs/[^)#]+)", readme))
    assert {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")} <= linked
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), (page.name, target)
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if tracked:                                 # a git checkout (CI clones one)
        assert not [f for f in tracked if re.search(r"\.(tar\.gz|tgz|zip|whl|tar|7z|xz)$", f)]


def test_ci_script_parses_and_installs_every_tool_the_markers_name():
    """`.ci/run` is valid bash (a broken edit once left it unparsable) and installs the Debian tools whose tests
    would otherwise skip in CI: the cross gcc, PostgreSQL, redis-server and QEMU for the Cortex-M55."""
    import subprocess

    ci = ROOT / ".ci" / "run"
    assert subprocess.run(["bash", "-n", str(ci)], capture_output=True).returncode == 0
    text = ci.read_text()
    for package in ("gcc-arm-none-eabi", "postgresql", "redis-server", "qemu-system-arm"):
        assert f"--no-install-recommends {package}" in text, package
    assert "pip install --quiet torch==2.13.0 onnxscript" in text      # `needs("torch")`: kept out of [all]
    assert text.rstrip().endswith("make test")


def test_every_docs_page_the_code_names_exists():
    """Report texts and docstrings point users at docs pages; a renamed page left the report citing
    docs/cycle-model.md, which never existed."""
    import re

    named = set()
    for path in [*ROOT.glob("edge_gru/**/*.py"), *ROOT.glob("converters/*.py"), *ROOT.glob("firmware_sim/*.py")]:
        named |= set(re.findall(r"docs/[A-Za-z0-9_-]+\.md", path.read_text()))
    assert len(named) >= 3
    assert sorted(p for p in named if not (ROOT / p).is_file()) == []
