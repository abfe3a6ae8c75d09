"""The memory system and placements through the CLI: simulate, convert --format c, targets, bad targets files."""

import json

import numpy as np
import pytest
from cli_run import run


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from edge_gru.fixed.io import save_fixed
    from edge_gru.fixed.model import quantize_model
    from edge_gru.spec import random_spec

    d = tmp_path_factory.mktemp("mem")
    rng = np.random.default_rng(21)
    spec = random_spec(rng, 6, [32], [(3, "softmax")], timesteps=8)
    X = rng.normal(size=(6, 8, 6)).astype(np.float32)
    np.savez(d / "d.npz", X=X, y=rng.integers(0, 3, 6))
    save_fixed(quantize_model(spec, X, "w8a16"), d / "m.egru")
    return d


def test_placement_choices_match_the_simulator():
    from edge_gru.cli._common import PLACEMENT_CHOICES
    from firmware_sim.memory import PLACEMENTS

    assert PLACEMENT_CHOICES == PLACEMENTS


@pytest.mark.slow
@pytest.mark.needs("sim")
def test_simulate_placements_and_ideal_memory(model, tmp_path):
    figures = {}
    for args in (["--placement", "flash"], ["--placement", "weights-ram"], ["--memory", "ideal"]):
        out = tmp_path / f"{'-'.join(args)}.json"
        p = run("simulate", model / "m.egru", "--target", "rp2040", "--data", model / "d.npz", "--json", out, *args,
                check_rc=0)
        assert "6/6 sequences" in p.stdout and "cold" in p.stdout and "memory stalls" in p.stdout
        figures[args[1]] = json.loads(out.read_text())
    flash, ram, ideal = figures["flash"], figures["weights-ram"], figures["ideal"]
    assert flash["memory"] == "rp2040-xip" and ideal["memory"] == "ideal" and ram["placement"] == "weights-ram"
    assert flash["cycles_cold"] > flash["cycles_per_sequence"] >= ram["cycles_per_sequence"]
    assert ram["ram_bytes"] > flash["ram_bytes"] and ideal["stall_cycles_per_sequence"] == 0
    assert "within 6.5% of silicon" in flash["memory_validated"]


@pytest.mark.slow
@pytest.mark.needs("sim")
def test_convert_c_with_weights_in_ram_then_simulate_the_folder(model, tmp_path):
    out = tmp_path / "c"
    p = run("convert", model / "m.egru", "--format", "c", "--placement", "weights-ram", "-o", out, check_rc=0)
    assert "eg_model_place()" in p.stdout and (out / "edge_gru_placement.ld").is_file()
    p = run("simulate", out, "--target", "stm32h7", "--data", model / "d.npz", "--json", tmp_path / "s.json",
            check_rc=0)
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["placement"] == "weights-ram" and s["bitexact_sequences"] == 6 and s["ram_resident_bytes"] > 0
    flash_folder = tmp_path / "cf"
    run("convert", model / "m.egru", "--format", "c", "-o", flash_folder, check_rc=0)
    p = run("simulate", flash_folder, "--target", "stm32h7", "--placement", "weights-ram", check_rc=2)
    assert "--placement weights-ram" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_placement_is_refused_for_tflite(model, tmp_path):
    p = run("convert", model / "m.egru", "--format", "tflite-int8", "--placement", "ram", "-o", tmp_path, check_rc=2)
    assert "--placement applies to --format c" in p.stderr


def test_targets_lists_memory_with_sources():
    p = run("targets", "--memory", check_rc=0)
    assert "rp2040-xip" in p.stdout and "RP2040 datasheet 2.6.3" in p.stdout and "RM0008 3.3.3" in p.stdout
    assert "not validated" in p.stdout


def test_bad_memory_key_in_a_targets_file_is_one_line(tmp_path):
    f = tmp_path / "t.toml"
    f.write_text('[p]\ncore = "cortex-m4"\nclock_mhz = 100\nflash_kb = 64\nram_kb = 16\n[p.memory]\ncode = "f"\n'
                 'data = "s"\n[[p.memory.region]]\nname = "f"\nkind = "flash"\nbase = 0\nsize_kb = 64\n'
                 'read_cycles = 3\n[[p.memory.region]]\nname = "s"\nkind = "sram"\nbase = 0x8000\nsize_kb = 16\n')
    p = run("targets", "--targets-file", f, check_rc=2)
    assert "'f' and 's' overlap" in p.stderr and len(p.stderr.strip().splitlines()) == 1
