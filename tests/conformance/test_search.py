"""`edge-gru search` end to end (issue 16): two local workers on one Optuna storage (a journal file, then a real
PostgreSQL server), a non-dominated front, recommended figures reproduced by `edge-gru simulate` on the exported
artifact, and a resumed study that trains nothing again."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

EXE = [sys.executable, "-m", "edge_gru.cli"]
pytestmark = [pytest.mark.needs("search", "sim", "tf"), pytest.mark.slow]


def run(*args, timeout=1200):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([*EXE, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from edge_gru.data import seed_toy

    d = tmp_path_factory.mktemp("search-data")
    seed_toy(300, seed=1).save(d / "train.npz")
    seed_toy(100, seed=2).save(d / "test.npz")
    return d


BOTH = ("--placements", "flash,weights-ram")


def search(data, out, *extra, placements=("--placements", "flash")):
    return run("search", "--data", data / "train.npz", "--test-data", data / "test.npz", "--targets", "nrf52840",
               "--units", "4,8", "--layers", "1", "--precisions", "w8a8,w8a16", "--epochs", "2", "--workers", "2",
               "--emulate-sequences", "3", "--no-tflite", "-o", out, *placements, *extra)


def check_front(report, placements=("flash",)):
    rows = report["targets"]["nrf52840"]["candidates"]
    assert len(rows) == 4 * len(placements)     # 2 sizes x 2 precisions, per placement (each is a candidate)
    assert {r["placement"] for r in rows} == set(placements)

    def better_or_equal(o, r):
        return (o["accuracy"] >= r["accuracy"] and o["latency_ms"] <= r["latency_ms"]
                and o["flash_bytes"] <= r["flash_bytes"] and o["ram_bytes"] <= r["ram_bytes"])

    def strictly(o, r):
        return (o["accuracy"] > r["accuracy"] or o["latency_ms"] < r["latency_ms"]
                or o["flash_bytes"] < r["flash_bytes"] or o["ram_bytes"] < r["ram_bytes"])

    for r in rows:
        dominated = any(o is not r and better_or_equal(o, r) and strictly(o, r) for o in rows)
        assert r["pareto"] == (not dominated), r["name"]
        assert r["bit_exact"]
    assert any(r["pareto"] for r in rows)


def check_reproduced(report, out, data, tmp_path):
    rec = report["targets"]["nrf52840"]["recommended"]
    assert rec is not None and rec["meets_budgets"] and rec["pareto"]
    folder = out / rec["artifacts"]["c"]
    p = run("simulate", folder, "--target", "nrf52840", "--data", data / "test.npz", "--sequences", "3",
            "--json", tmp_path / "sim.json", "--force")
    assert p.returncode == 0, p.stderr
    sim = json.loads((tmp_path / "sim.json").read_text())
    for key in ("cycles_per_sequence", "flash_bytes", "ram_bytes", "latency_ms"):
        assert sim[key] == pytest.approx(rec[key], rel=1e-9), key


def check_dashboard(journal):
    """optuna-dashboard reads the study as Optuna users know it."""
    import urllib.request

    exe = Path(sys.executable).parent / "optuna-dashboard"
    assert exe.exists(), "optuna-dashboard is part of the search extra"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(exe), str(journal), "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as r:
                    studies = json.loads(r.read())["study_summaries"]
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("optuna-dashboard did not answer")
        assert [s["study_name"] for s in studies] == ["edge-gru-search"]
        assert studies[0]["directions"] == ["maximize", "minimize"]
    finally:
        proc.kill()
        proc.wait()


def trained(out):
    return sorted(p.name for p in (out / "trials").iterdir())


def test_search_two_workers_front_reproduced_and_resumed(data, tmp_path):
    out = tmp_path / "s"
    p = search(data, out, placements=BOTH)
    assert p.returncode == 0, p.stderr[-2000:]
    noise = [ln for ln in p.stderr.splitlines()            # TensorFlow's and LiteRT's start-up lines stay out
             if any(w in ln for w in ("cuda", "absl", "XNNPACK", "retracing", "oneDNN", "I0000", "W0000"))]
    assert not noise, noise
    report = json.loads((out / "search.json").read_text())
    check_front(report, ("flash", "weights-ram"))
    check_reproduced(report, out, data, tmp_path)
    assert len(trained(out)) == 2               # two architectures, each trained once by one of the workers
    assert "search-nrf52840.png" in os.listdir(out) and "Pareto front" in (out / "search.md").read_text()
    page = (out / "search.html").read_text()     # real tables, not Markdown in a <pre>
    assert page.count("<table>") == 2 * len(report["targets"]) and "|---|" not in page and "<pre>" not in page
    check_dashboard(out / "study.journal")
    stamps = {p: p.stat().st_mtime for p in (out / "trials").rglob("model.keras")}
    p = search(data, out, placements=BOTH)      # resume: every architecture is done
    assert p.returncode == 0 and "(0 trained by this process)" in p.stdout, p.stdout + p.stderr[-2000:]
    assert {p: p.stat().st_mtime for p in (out / "trials").rglob("model.keras")} == stamps
    assert json.loads((out / "search.json").read_text())["targets"] == report["targets"]


def test_budgets_prune_and_leave_no_recommendation(data, tmp_path):
    """A flash budget below any model's weights prunes every architecture before training."""
    out = tmp_path / "s"
    p = search(data, out, "--max-flash-kb", "0.1")
    assert p.returncode == 0, p.stderr[-2000:]
    report = json.loads((out / "search.json").read_text())
    assert report["candidates"] == 0 and report["targets"]["nrf52840"]["recommended"] is None
    assert {o["state"] for o in report["pruned_or_failed"]} == {"pruned"}
    assert all("weights alone need" in o["reason"] for o in report["pruned_or_failed"])
    assert not (out / "trials").exists()


def test_resumed_with_other_options_is_refused(data, tmp_path):
    out = tmp_path / "s"
    assert search(data, out, "--max-flash-kb", "0.1").returncode == 0
    p = run("search", "--data", data / "train.npz", "--test-data", data / "test.npz", "--targets", "nrf52840",
            "--units", "4,16", "--layers", "1", "--precisions", "w8a16", "--epochs", "2", "--no-tflite", "-o", out)
    assert p.returncode == 2 and "searched another space" in p.stderr


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(cands[-1]).parent if cands else None


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL server (Debian's postgresql package; as the postgres user when run as root)."""
    bindir = _postgres_bin()
    assert bindir is not None, "the test using this fixture is marked needs('postgres')"
    root = Path(tempfile.mkdtemp(prefix="edge-gru-pg-"))
    os.chmod(root, 0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-w", "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    try:
        import psycopg

        for _ in range(50):
            try:
                with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                                     autocommit=True) as conn:
                    conn.execute("CREATE DATABASE edge")
                break
            except psycopg.OperationalError:
                time.sleep(0.2)
        yield f"postgresql://postgres@127.0.0.1:{port}/edge"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def check_shared_storage(data, tmp_path, url):
    """Two workers on the storage at ``url``: the front, the recommended model reproduced, no journal file, and a
    second run that finds every architecture done."""
    out = tmp_path / "s"
    p = search(data, out, "--storage", url)
    assert p.returncode == 0, p.stderr[-2000:]
    report = json.loads((out / "search.json").read_text())
    check_front(report)
    check_reproduced(report, out, data, tmp_path)
    assert len(trained(out)) == 2 and not (out / "study.journal").exists()
    p = search(data, out, "--storage", url)
    assert p.returncode == 0 and "(0 trained by this process)" in p.stdout, p.stdout + p.stderr[-2000:]


@pytest.fixture
def redis_url(tmp_path):
    """A throwaway Redis server (Debian's redis-server), no persistence, on a free port."""
    import redis

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.exceptions.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.needs("redis")
@pytest.mark.slow
def test_search_on_a_redis_server(data, tmp_path, redis_url):
    """Optuna's Redis journal as the shared storage: two workers, the front, the recommended model reproduced, and
    a second run that finds every architecture done."""
    check_shared_storage(data, tmp_path, redis_url)


def test_redis_storage_refusals_are_one_line(data, tmp_path, monkeypatch):
    """Without the redis package, or with no server at the URL: one line saying what to do, exit 2."""
    from click.testing import CliRunner

    from edge_gru.cli import cli

    args = ["search", "--data", str(data / "train.npz"), "--test-data", str(data / "test.npz"), "--targets",
            "nrf52840", "--units", "4", "--layers", "1", "--epochs", "1", "--no-tflite"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]                       # nothing listens there
    monkeypatch.setitem(sys.modules, "redis", None)
    r = CliRunner().invoke(cli, [*args, "--storage", f"redis://127.0.0.1:{port}", "-o", str(tmp_path / "a")])
    assert r.exit_code == 2 and "needs the redis package: pip install" in r.output, r.output
    monkeypatch.delitem(sys.modules, "redis")
    if __import__("importlib.util").util.find_spec("redis") is not None:
        r = CliRunner().invoke(cli, [*args, "--storage", f"redis://127.0.0.1:{port}", "-o", str(tmp_path / "b")])
        assert r.exit_code == 2 and "cannot open the study storage 'redis://127.0.0.1" in r.output, r.output
        assert "internal error" not in r.output


@pytest.mark.needs("postgres")
@pytest.mark.slow
def test_search_on_a_postgresql_server(data, tmp_path, postgres):
    check_shared_storage(data, tmp_path, postgres)


def test_interrupted_search_resumes(data, tmp_path):
    """Ctrl-C while a model trains: exit 130, and the next run trains that architecture again and finishes."""
    import signal

    out = tmp_path / "s"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    args = ["search", "--data", str(data / "train.npz"), "--test-data", str(data / "test.npz"), "--targets",
            "nrf52840", "--units", "4", "--layers", "1", "--precisions", "w8a16", "--epochs", "30", "--no-tflite",
            "--emulate-sequences", "2", "--placements", "flash", "-o", str(out)]
    proc = subprocess.Popen([*EXE, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (out / "trials" / "0000").exists():      # the trial folder is made just before training starts
        assert proc.poll() is None and time.monotonic() < deadline, "the search never started training"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130, proc.stderr.read()[-2000:]
    # interrupted while training: the model is saved only after training, so nothing of the trial is there
    assert not (out / "trials" / "0000" / "model.keras").exists()
    assert not (out / "trials" / "0000" / "model-w8a16.egru").exists()
    p = run(*args)
    assert p.returncode == 0 and "(1 trained by this process)" in p.stdout, p.stdout + p.stderr[-2000:]
    report = json.loads((out / "search.json").read_text())
    assert report["candidates"] == 1 and report["targets"]["nrf52840"]["recommended"]["name"] == "GRU(4)x1 w8a16"
