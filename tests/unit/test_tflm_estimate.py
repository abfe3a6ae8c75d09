"""The TFLite Micro estimate against the measurements it was calibrated on, and how it extrapolates."""

import pytest

from firmware_sim import tflm_estimate as te
from firmware_sim.targets import get_target


def test_within_ten_percent_of_every_measurement():
    """Cycles per sequence, set-up cycles, flash (code + file) and RAM (arena + the rest), for each core x layout x
    kernel set that was measured (DESIGN.md 2b)."""
    errors = te.calibration_errors()
    assert set(errors) == set(te.MEASURED) and len(errors) == 7
    for key, err in errors.items():
        for what, e in err.items():
            assert abs(e) < 0.10, (key, what, e)


def _est(core_target, layout, kernels, counts=None, tensors=None, file_bytes=None, arena=None):
    counts = counts or te.CALIBRATION_GRAPHS[layout]
    return te.estimate_counts(counts, tensors or te.CALIBRATION_TENSORS[layout],
                              file_bytes or te.CALIBRATION_FILE_BYTES[layout],
                              arena or te.CALIBRATION_HOST_ARENA[layout], get_target(core_target), layout, kernels, 48)


def test_cores_kernels_and_layouts_order_as_measured():
    m4 = _est("nrf52840", "unrolled", "reference")
    assert _est("rp2040", "unrolled", "reference").cycles > m4.cycles > _est("nrf52840", "unrolled", "cmsis-nn").cycles
    assert _est("nrf52840", "step", "reference").cycles > m4.cycles             # per-invoke overhead x 48
    assert _est("nrf52840", "step", "reference").ram_bytes < m4.ram_bytes / 20  # one step's tensors only
    assert m4.method == "estimated" and "2b" in m4.calibration


def test_unmeasured_cores_say_so():
    m7 = _est("stm32h7", "unrolled", "reference")
    assert m7.calibration_error is None and "never measured" in m7.core_basis
    assert m7.cycles < _est("nrf52840", "unrolled", "reference").cycles
    assert _est("nrf52840", "unrolled", "reference").calibration_error["cycles"] == pytest.approx(0, abs=0.01)


def test_bigger_graph_costs_more():
    """A wider GRU: the same operators with 3x the elements and 10x the MACs."""
    wide = {t: (n, 3 * e, 10 * m) for t, (n, e, m) in te.CALIBRATION_GRAPHS["unrolled"].items()}
    base, big = _est("nrf52840", "unrolled", "reference"), _est("nrf52840", "unrolled", "reference", wide)
    assert big.cycles > 2 * base.cycles


def test_bad_layout_is_refused():
    with pytest.raises(ValueError, match="layout"):
        te.estimate_counts(te.CALIBRATION_GRAPHS["step"], 35, 1000, 5000, get_target("nrf52840"), "sideways",
                           "reference", 48)
    with pytest.raises(ValueError, match="timesteps"):
        te.estimate_counts(te.CALIBRATION_GRAPHS["step"], 35, 1000, 5000, get_target("nrf52840"), "step", "reference")
