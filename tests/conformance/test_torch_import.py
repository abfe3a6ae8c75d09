"""PyTorch nn.GRU networks through the whole pipeline, checked against torch itself.

Float: the imported spec = the module (and = onnxruntime on the exported file) within 1e-5 on 50 random
configurations per exporter. Integers: a PyTorch model's fixed-point model is the same integers in Numba, pure
Python, host C and emulated Cortex-M0+/M4. TFLite: the step layout built from a PyTorch model follows it under
LiteRT and TFLite Micro like a Keras model's.
"""

import numpy as np
import pytest

from edge_gru.errors import UnsupportedModelError
from edge_gru.float_ref import predict

pytestmark = pytest.mark.needs("torch")


def _net(cfg):
    """An nn.Module of the shapes people write: Embedding?, GRU stack, last step or h_n[-1], Linear head."""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(cfg["vocab"], cfg["features"], padding_idx=0) if cfg["vocab"] else None
            self.gru = nn.GRU(cfg["features"], cfg["hidden"], num_layers=cfg["layers"], bias=cfg["bias"],
                              batch_first=cfg["batch_first"], dropout=0.1 if cfg["layers"] > 1 else 0.0)
            self.drop = nn.Dropout(0.3)
            layers, width = [], cfg["hidden"]
            for units, act in cfg["head"]:
                layers.append(nn.Linear(width, units, bias=cfg["bias"] or units % 2 == 0))
                layers += {"relu": [nn.ReLU()], "sigmoid": [nn.Sigmoid()], "softmax": [nn.Softmax(dim=-1)],
                           "linear": []}[act]
                width = units
            self.head = nn.Sequential(*layers)

        def forward(self, x):
            if self.emb is not None:
                x = self.emb(x)
            y, h_n = self.gru(x)
            if cfg["take"] == "h_n":
                last = h_n[-1]
            else:
                last = y[:, -1] if cfg["batch_first"] else y[-1]
            return self.head(self.drop(last))

    torch.manual_seed(cfg["seed"])
    net = Net()
    with torch.no_grad():                       # larger weights than PyTorch's init: saturating gates are tested too
        for p in net.gru.parameters():
            p.mul_(cfg["scale"])
    return net.eval()


def _config(i):
    rng = np.random.default_rng(100 + i)
    head = [[], [(1, "sigmoid")], [(4, "relu"), (3, "softmax")], [(5, "linear")], [(6, "relu"), (2, "sigmoid")]][i % 5]
    return {"seed": i, "features": int(rng.integers(1, 65)), "hidden": int(rng.integers(1, 65)),
            "layers": 1 + i % 3, "bias": i % 4 != 3, "batch_first": i % 2 == 0,
            "vocab": int(rng.integers(2, 300)) if i % 3 == 1 else 0, "take": "h_n" if i % 5 in (1, 3) else "last",
            "head": head, "timesteps": int(rng.integers(1, 13)), "batch": int(rng.integers(1, 5)),
            "scale": float(rng.choice([1.0, 2.0, 4.0]))}


def _example(cfg, n=None, seed=0):
    import torch

    n = n or cfg["batch"]
    g = torch.Generator().manual_seed(seed)
    shape = (n, cfg["timesteps"]) if cfg["batch_first"] else (cfg["timesteps"], n)
    if cfg["vocab"]:
        return torch.randint(0, cfg["vocab"], shape, generator=g)
    return torch.randn(*shape, cfg["features"], generator=g) * 1.5


def _batch_first(cfg, x):
    x = x.numpy()
    return x if cfg["batch_first"] else np.swapaxes(x, 0, 1)


def _check_float(exporter, configs):
    from edge_gru import from_torch
    from edge_gru.importers.torch_module import torch_predict

    worst = 0.0
    for i in configs:
        cfg = _config(i)
        net = _net(cfg)
        spec = from_torch(net, _example(cfg), exporter=exporter)
        assert len(spec.grus) == cfg["layers"] and spec.grus[0].units == cfg["hidden"], i
        assert (spec.embedding is not None) == bool(cfg["vocab"]) and len(spec.dense) == len(cfg["head"]), i
        assert spec.timesteps == cfg["timesteps"] and all(g.reset_after for g in spec.grus), i
        x = _batch_first(cfg, _example(cfg, n=5, seed=i + 1))
        if cfg["vocab"]:
            x[0, : cfg["timesteps"] // 2] = 0                  # padding_idx rows: PyTorch runs those steps
        diff = float(np.abs(torch_predict(net, x) - predict(spec, x)).max())
        assert diff < 1e-5, (i, cfg, diff)
        worst = max(worst, diff)
    return worst


def test_50_random_grus_match_torch_torchscript_exporter():
    assert _check_float("torchscript", range(50)) > 0          # a float check that compares something


@pytest.mark.slow
def test_25_random_grus_match_torch_dynamo_exporter():
    """The first 25 configurations (every attribute value of _config comes round within them): the dynamo exporter
    takes about 2 s a model, so make test runs half the TorchScript exporter's 50 to stay within its budget."""
    assert _check_float("dynamo", range(25)) > 0


def test_refusals_name_the_submodule_and_attribute():
    import torch
    from torch import nn

    from edge_gru import from_torch

    class Bi(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 4, batch_first=True, bidirectional=True)

        def forward(self, x):
            return self.rnn(x)[1][-1]

    class Lstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.LSTM(3, 4, batch_first=True))

        def forward(self, x):
            return self.enc(x)[1][0][-1]

    class Scaled(nn.Module):                  # forward logic the spec cannot hold: refused from the traced graph
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(3, 4, batch_first=True)

        def forward(self, x):
            return torch.tanh(self.gru(x)[0][:, -1] * 2.0)

    x = torch.randn(2, 5, 3)
    with pytest.raises(UnsupportedModelError, match=r"submodule 'rnn': GRU bidirectional=True is not supported yet"):
        from_torch(Bi(), x)
    with pytest.raises(UnsupportedModelError, match=r"submodule 'enc.0': LSTM is not supported"):
        from_torch(Lstm(), x)
    with pytest.raises(UnsupportedModelError, match=r"\(Mul\): op Mul is not supported"):
        from_torch(Scaled(), x)


def test_pytorch_export_that_lost_linear_before_reset_is_detected():
    """The exporter's file with the attribute removed (what a broken exporter or a graph tool leaves): the import
    names it; taken with linear_before_reset=1 it equals the PyTorch module."""
    from onnx import load_from_string

    from edge_gru import from_onnx
    from edge_gru.importers.torch_module import export_onnx, torch_predict

    cfg = dict(_config(4), vocab=0, layers=2, batch_first=True)
    net = _net(cfg)
    proto = load_from_string(export_onnx(net, _example(cfg)))
    for node in proto.graph.node:
        if node.op_type == "GRU":
            keep = [a for a in node.attribute if a.name != "linear_before_reset"]
            del node.attribute[:]
            node.attribute.extend(keep)
    damaged = proto.SerializeToString()
    with pytest.raises(UnsupportedModelError, match="has no linear_before_reset=1 but the file was written by PyTorch"):
        from_onnx(damaged)
    spec = from_onnx(damaged, linear_before_reset=1)
    x = _batch_first(cfg, _example(cfg, n=3, seed=7))
    assert np.abs(torch_predict(net, x) - predict(spec, x)).max() < 1e-5


def _pytorch_models():
    from edge_gru import from_torch

    out = {}
    for name, cfg in {"features": dict(_config(0), features=7, hidden=13, layers=2, head=[(3, "softmax")],
                                       timesteps=6, scale=2.0),
                      "tokens": dict(_config(1), vocab=40, features=5, hidden=9, layers=1, head=[(1, "sigmoid")],
                                     timesteps=7)}.items():
        net = _net(cfg)
        spec = from_torch(net, _example(cfg))
        rng = np.random.default_rng(3)
        if cfg["vocab"]:
            X = rng.integers(0, cfg["vocab"], (60, cfg["timesteps"])).astype(np.int32)
        else:
            X = rng.normal(0, 1.5, (60, cfg["timesteps"], cfg["features"])).astype(np.float32)
        out[name] = (spec, X)
    return out


@pytest.mark.slow
@pytest.mark.needs("sim")
def test_integer_paths_are_bit_exact_on_pytorch_models(tmp_path, jit_and_nojit):
    """Numba = pure Python (NUMBA_DISABLE_JIT) = host C = emulated Cortex-M0+ and M4, every precision."""
    from converters.c_export import export_c
    from edge_gru.fixed.model import quantize_model
    from edge_gru.runtime.c_host import run_host
    from edge_gru.spec import save_spec
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    models = _pytorch_models()
    for name, (spec, X) in models.items():
        save_spec(spec, tmp_path / f"{name}.egspec")
        np.save(tmp_path / f"{name}.npy", X)
    a, b = jit_and_nojit(f"""
import sys, numpy as np
from edge_gru.spec import load_spec
from edge_gru.fixed.model import quantize_model
out = []
for name in {list(models)!r}:
    spec, X = load_spec({str(tmp_path)!r} + f"/{{name}}.egspec"), np.load({str(tmp_path)!r} + f"/{{name}}.npy")
    for prec in ("w8a8", "w8a16", "w16a16"):
        out.append(quantize_model(spec, X[:30], prec).predict_raw(X).ravel())
np.save(sys.argv[1], np.concatenate(out))
""")
    np.testing.assert_array_equal(a, b)
    numba = []
    for name, (spec, X) in models.items():
        for prec in ("w8a8", "w8a16", "w16a16"):
            fm = quantize_model(spec, X[:30], prec)
            want = fm.predict_raw(X)
            numba.append(want.ravel())
            export_c(fm, tmp_path / f"c-{name}-{prec}")
            xq = fm.quantize_input(X)
            np.testing.assert_array_equal(run_host(tmp_path / f"c-{name}-{prec}", xq), want, err_msg=(name, prec))
            for target in ("rp2040", "nrf52840"):
                res = simulate(fm, get_target(target), X[:6], work_dir=tmp_path / f"{name}-{prec}-{target}")
                np.testing.assert_array_equal(res.outputs, want[:6], err_msg=(name, prec, target))
    np.testing.assert_array_equal(np.concatenate(numba), a)
    assert np.abs(a).max() > 0


@pytest.mark.slow
@pytest.mark.needs("tf", "tflm")
@pytest.mark.parametrize("quant", ["int8", "16x8"])
def test_step_layout_tflite_from_a_pytorch_model(tmp_path, quant):
    """No PyTorch converter gives TFLite a GRU whose size does not grow with the sequence: the spec does. The step
    file follows the PyTorch model under LiteRT and TFLite Micro, as Keras models' files do. (16x8 with an embedding:
    TFLite Micro has no int16 GATHER, for Keras models too, so the token model is checked in int8.)"""
    from converters.tflite_export import export_tflite
    from edge_gru.tflite.inspection import inspect_tflite
    from edge_gru.tflite.runner import TFLiteRunner

    for name, (spec, X) in _pytorch_models().items():
        if quant == "16x8" and spec.embedding is not None:
            continue
        path = tmp_path / f"{name}-{quant}.tflite"
        export_tflite(spec, X[:40], path, quant, "step")
        info = inspect_tflite(path)
        assert not info.float_ops
        ref = predict(spec, X[40:])
        for engine in ("litert", "tflm"):
            r = TFLiteRunner(path, engine)
            assert r.layout == "step"
            err = np.abs(r.predict(X[40:]) - ref)
            assert err.mean() < (0.03 if quant == "int8" else 0.01) and err.max() < 0.2, (name, engine, err.max())
