"""Full-integer TFLite export in both layouts and both precisions, checked under LiteRT and TFLite Micro."""

import dataclasses

import numpy as np
import pytest

from converters.tflite_export import export_tflite
from edge_gru.data import accuracy
from edge_gru.errors import EdgeGruError
from edge_gru.float_ref import predict
from edge_gru.spec import random_spec
from edge_gru.tflite.inspection import inspect_tflite
from edge_gru.tflite.runner import TFLiteRunner

pytestmark = [pytest.mark.needs("tf", "tflm"), pytest.mark.slow]


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
    measured cycles and set-up on M4 (both kernel sets) and M0+, and of the measured flash and RAM."""
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
        # the measurements were taken with zero-wait memory (the parts' memory factors are unit-tested apart)
        target = get_target({"cortex-m4": "nrf52840", "cortex-m0plus": "rp2040", "cortex-m7": "stm32h7"}[core]).ideal()
        e = te.estimate(path, target, layout, kernels, info=info, arena=arena, timesteps=48)
        pairs = [(e.cycles, cycles), (e.setup_cycles, setup)]
        if (core, kernels, layout) in te.MEASURED_MEMORY:          # memory measured for 7 of the 8 configurations
            flash, ram = te.MEASURED_MEMORY[(core, kernels, layout)]
            pairs += [(e.flash_bytes, flash), (e.ram_bytes, ram)]
        for got, want in pairs:
            assert abs(got / want - 1) < 0.10, (core, layout, kernels, got, want)


def _odd_models(rng):
    stacked = random_spec(rng, 7, [13, 9], [(3, "softmax")], timesteps=6, reset_after=False, scale=0.5)
    nobias = random_spec(rng, 5, [11], [(1, "sigmoid")], timesteps=8, use_bias=False, scale=0.5)
    return {"stacked-reset_before": stacked, "no-bias-odd": nobias}


@pytest.mark.parametrize("quant, layout", [("int8", "unrolled"), ("int8", "step"), ("16x8", "unrolled"),
                                           ("16x8", "step")])
def test_odd_models_follow_float(tmp_path, quant, layout):
    rng = np.random.default_rng(21)
    for name, spec in _odd_models(rng).items():
        X = rng.normal(size=(60, spec.timesteps, spec.features)).astype(np.float32)
        path = tmp_path / f"{name}.tflite"
        export_tflite(spec, X[:40], path, quant, layout)
        ref = predict(spec, X[40:])
        outs = {}
        for engine in ("litert", "tflm"):
            outs[engine] = TFLiteRunner(path, engine).predict(X[40:])
            err = np.abs(outs[engine] - ref)
            assert err.mean() < (0.03 if quant == "int8" else 0.01) and err.max() < 0.2, (name, engine, err.max())


def test_step_layout_streams_and_size_is_independent_of_length(tmp_path):
    rng = np.random.default_rng(3)
    spec = random_spec(rng, 4, [12], [(2, "softmax")], timesteps=10)
    X = rng.normal(size=(30, 10, 4)).astype(np.float32)
    export_tflite(spec, X, tmp_path / "s10.tflite", "int8", "step")
    long = dataclasses.replace(spec, timesteps=40)
    export_tflite(long, rng.normal(size=(30, 40, 4)).astype(np.float32), tmp_path / "s40.tflite", "int8", "step")
    export_tflite(spec, X, tmp_path / "u10.tflite", "int8", "unrolled")
    sizes = [(tmp_path / f).stat().st_size for f in ("s10.tflite", "s40.tflite", "u10.tflite")]
    assert abs(sizes[0] - sizes[1]) < 0.05 * sizes[0] and sizes[2] > 3 * sizes[0]
    for engine in ("litert", "tflm"):
        r = TFLiteRunner(tmp_path / "s10.tflite", engine)
        xq = r.quantize(X[:5])
        whole = r.predict_raw(xq)
        for i, seq in enumerate(xq):
            s = r.stream()
            for x_t in seq:
                s.step(x_t)
            np.testing.assert_array_equal(s.output_raw(), whole[i])
    with pytest.raises(EdgeGruError, match="step-layout"):
        TFLiteRunner(tmp_path / "u10.tflite", "litert").stream()


def test_calibration_gives_padded_steps_a_range():
    """Front padding is zero in every sequence; 16x8 needs a non-empty range at every unrolled step."""
    from converters.tflite_export import unrolled_calibration

    X = np.random.default_rng(0).normal(size=(20, 12, 3)).astype(np.float32)
    X[:, :5] = 0
    cal = unrolled_calibration(X)
    assert all(np.any(cal[:, t]) for t in range(12)) and np.array_equal(cal[:20], X)
    Y = X.copy()
    Y[:, :5] = 1
    assert unrolled_calibration(Y) is Y


def test_a_model_that_does_not_follow_float_is_refused(tmp_path):
    from converters.tflite_export import verify_tflite

    rng = np.random.default_rng(5)
    spec = random_spec(rng, 4, [10], [(8, "softmax")], timesteps=5, scale=1.5)
    other = random_spec(rng, 4, [10], [(8, "softmax")], timesteps=5, scale=1.5)
    X = rng.normal(size=(60, 5, 4)).astype(np.float32)
    path = tmp_path / "m.tflite"
    export_tflite(spec, X, path, "int8", "unrolled")
    with pytest.raises(EdgeGruError, match="broken model"):
        verify_tflite(path, other, X)
    assert not path.exists()


@pytest.mark.parametrize("quant, layout", [("int8", "unrolled"), ("int8", "step"), ("16x8", "unrolled"),
                                           ("16x8", "step")])
def test_seed_gru50_both_layouts_and_precisions(seed_model, tmp_path, quant, layout):
    _, spec, train, test, _ = seed_model
    path = tmp_path / f"seed-{quant}-{layout}.tflite"
    export_tflite(spec, train.X, path, quant, layout)
    acc_float = accuracy(predict(spec, test.X), test.y)
    for engine in ("litert", "tflm"):
        acc = accuracy(TFLiteRunner(path, engine).predict(test.X), test.y)
        assert abs(acc - acc_float) <= 0.01, (engine, layout, acc, acc_float)


@pytest.mark.parametrize("quant, layout", [("int8", "unrolled"), ("16x8", "step")])
def test_per_step_model_outputs_every_step(tmp_path, quant, layout):
    """A per-step model (last GRU returns sequences, stacked, softmax head per step): the unrolled file outputs
    (1, T, K), the step file's y_steps is read after every step; under LiteRT and TFLite Micro the outputs follow
    the float reference at every step, and steps beyond a length repeat the step before (step layout)."""
    rng = np.random.default_rng(3)
    spec = random_spec(rng, 3, [8, 6], [(2, "softmax")], timesteps=7, per_step=True, scale=0.5)
    X = rng.normal(0, 1, (60, 7, 3)).astype(np.float32)
    path = tmp_path / "m.tflite"
    export_tflite(spec, X, path, quant, layout)
    ref = predict(spec, X[:20])
    for engine in ("litert", "tflm"):
        r = TFLiteRunner(path, engine)
        assert r.per_step and r.layout == layout
        got = r.dequantize(r.predict_raw(r.quantize(X[:20])))
        assert got.shape == (20, 7, 2)
        assert np.abs(got - ref).mean() < (0.01 if quant == "int8" else 0.005), engine
        assert np.mean(got.argmax(-1) == ref.argmax(-1)) > 0.95
    if layout == "step":
        lens = np.arange(20) % 8
        raw = r.predict_raw(r.quantize(X[:20]), lens)
        for n, k in enumerate(lens):
            if k:
                np.testing.assert_array_equal(raw[n, k:], np.repeat(raw[n, k - 1:k], 7 - k, axis=0))


def test_bidirectional_model_unrolled_only(tmp_path):
    """Bidirectional (sum, then concat per step) under LiteRT and TFLite Micro: the unrolled file follows the float
    reference at every step; the step layout, which cannot hold a window, is refused in one message."""
    rng = np.random.default_rng(4)
    spec = random_spec(rng, 3, [6, 5], [(2, "softmax")], timesteps=7, per_step=True, bidirectional=["sum", "concat"],
                       scale=0.5)
    X = rng.normal(0, 1, (60, 7, 3)).astype(np.float32)
    export_tflite(spec, X, tmp_path / "m.tflite", "int8", "unrolled")
    ref = predict(spec, X[:20])
    for engine in ("litert", "tflm"):
        r = TFLiteRunner(tmp_path / "m.tflite", engine)
        got = r.dequantize(r.predict_raw(r.quantize(X[:20])))
        assert got.shape == (20, 7, 2) and np.abs(got - ref).mean() < 0.03, engine   # int8, as other models
    with pytest.raises(EdgeGruError, match="needs the whole window: the step layout"):
        export_tflite(spec, X, tmp_path / "s.tflite", "int8", "step")
    assert not (tmp_path / "s.tflite").exists()
