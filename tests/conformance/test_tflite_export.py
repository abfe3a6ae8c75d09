"""Full-integer TFLite export in both layouts and both precisions, checked under LiteRT and TFLite Micro."""


import pytest

from converters.tflite_export import export_tflite
from converters.tflite_inspect import inspect_tflite
from edge_gru.data import accuracy
from edge_gru.float_ref import predict
from edge_gru.runtime.tflite import TFLiteRunner

pytest.importorskip("tensorflow")
pytest.importorskip("tflite_micro")


@pytest.mark.parametrize("quant, layout", [("int8", "unrolled"), ("int8", "step"), ("16x8", "unrolled"),
                                           ("16x8", "step")])
def test_spoken_digits_accuracy_within_one_point(spoken_digits_model, spoken_digits, tmp_path, quant, layout):
    _, spec, _, _ = spoken_digits_model
    train, test = spoken_digits
    path = tmp_path / f"m-{quant}-{layout}.tflite"
    export_tflite(spec, train.X, path, quant, layout)
    info = inspect_tflite(path)
    assert not info.float_ops and info.inputs[0]["type"] == ("INT8" if quant == "int8" else "INT16")
    acc_float = accuracy(predict(spec, test.X), test.y)
    for engine in ("litert", "tflm"):
        r = TFLiteRunner(path, engine)
        assert r.layout == layout
        acc = accuracy(r.predict(test.X), test.y)
        assert abs(acc - acc_float) <= 0.01, (engine, acc, acc_float)
    if quant == "int8":
        _check_tflm_calibration_graph(path, layout)


def _check_tflm_calibration_graph(path, layout):
    """The TFLite Micro estimate was calibrated on this very graph: the converter still makes it (operators,
    elements, MACs, tensors, size, TFLite Micro's host arena), and the estimate for the file is within 10% of the
    measured cycles and set-up on M4 for both kernel sets, and of the measured flash and RAM."""
    from firmware_sim import tflm_estimate as te
    from firmware_sim.targets import get_target

    info = inspect_tflite(path)
    counts, tensors, size, host_arena, _ = te.GRAPHS[(te.CALIBRATION_MODEL, layout)]
    assert te.graph_counts(info) == counts and info.n_tensors == tensors
    assert abs(info.size_bytes / size - 1) < 0.01
    arena = te.tflm_arena_bytes(path)
    assert arena == host_arena
    for (core, kernels, model, lay), (cycles, setup) in te.MEASURED.items():
        if lay != layout or model != te.CALIBRATION_MODEL:
            continue
        target = get_target({"cortex-m4": "nrf52840", "cortex-m0plus": "rp2040"}[core])
        e = te.estimate(path, target, layout, kernels, info=info, arena=arena, timesteps=48)
        flash, ram = te.MEASURED_MEMORY[(core, kernels, layout)]
        for got, want in ((e.cycles, cycles), (e.setup_cycles, setup), (e.flash_bytes, flash), (e.ram_bytes, ram)):
            assert abs(got / want - 1) < 0.10, (core, layout, kernels, got, want)
