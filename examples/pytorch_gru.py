"""A PyTorch nn.GRU to a Cortex-M4, next to the Keras GRU of the same size.

1. train a GRU(16) keyword spotter in PyTorch on the built-in spoken-digit MFCC sequences (48 x 13),
2. export it with torch.onnx.export and import the .onnx file (checked against onnxruntime; the same file
   works on the command line: `edge-gru quantize kws.onnx ...`),
3. quantize (w8a16), export the C runtime (bit-exact on the host), emulate it on a Cortex-M4,
4. do the same with the Keras GRU(16) trained on the same data, and print both side by side.

    python examples/pytorch_gru.py [--epochs 30] [--emulate 100] [--out pytorch-out]

Needs PyTorch (`pip install torch onnxscript`), on top of `pip install 'edge-gru[all]'`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

from converters.c_export import export_c
from converters.keras_import import import_keras
from converters.keras_train import train_classifier
from edge_gru import from_onnx
from edge_gru.data import Dataset, accuracy, load_dataset
from edge_gru.fixed.model import quantize_model
from edge_gru.float_ref import predict
from edge_gru.importers.torch_module import export_onnx
from edge_gru.runtime.c_host import run_host
from edge_gru.spec import ModelSpec
from firmware_sim.simulate import simulate
from firmware_sim.targets import get_target


class KeywordGRU(nn.Module):
    """GRU(16) over MFCC frames, the last step's state through a 10-way Linear + Softmax."""

    def __init__(self, features: int, units: int, classes: int) -> None:
        super().__init__()
        self.gru = nn.GRU(features, units, batch_first=True)
        self.head = nn.Linear(units, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.gru(x)
        return torch.softmax(self.head(y[:, -1]), dim=-1)


def train_torch(train: Dataset, units: int, epochs: int, seed: int = 0) -> KeywordGRU:
    """Plain Adam on cross-entropy of the log-probabilities, batches of 64."""
    torch.manual_seed(seed)
    classes = int(train.y.max()) + 1
    net = KeywordGRU(train.X.shape[2], units, classes)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    X, y = torch.as_tensor(train.X), torch.as_tensor(train.y, dtype=torch.long)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        net.train()
        for idx in torch.randperm(len(X), generator=g).split(64):
            opt.zero_grad()
            loss = nn.functional.nll_loss(torch.log(net(X[idx]) + 1e-7), y[idx])
            loss.backward()
            opt.step()
    return net.eval()


def deploy(name: str, spec: ModelSpec, train: Dataset, test: Dataset, out: Path, target: str, n_emulate: int) -> dict:
    """Quantize, check the host C build, emulate; one row of the comparison."""
    fm = quantize_model(spec, train.X, "w8a16")
    export_c(fm, out / f"c-{name}", force=True, name=name)
    xq = fm.quantize_input(test.X)
    host_exact = np.array_equal(run_host(out / f"c-{name}", xq), fm.predict_raw(xq, quantized=True))
    res = simulate(fm, get_target(target), test.X[:n_emulate])
    return {"name": name, "float": accuracy(predict(spec, test.X), test.y),
            "w8a16": accuracy(fm.predict(test.X), test.y), "host_exact": host_exact,
            "emu_exact": np.array_equal(res.outputs, fm.predict_raw(test.X[:n_emulate])),
            "res": res, "params": spec.n_params}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--units", type=int, default=16)
    ap.add_argument("--emulate", type=int, default=100, help="test sequences to emulate")
    ap.add_argument("--target", default="nrf52840")
    ap.add_argument("--out", type=Path, default=Path("pytorch-out"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train, test = load_dataset("spoken-digits")

    # 1-2. PyTorch: train, export to ONNX, import the file
    net = train_torch(train, args.units, args.epochs)
    onnx_path = args.out / "kws.onnx"
    onnx_path.write_bytes(export_onnx(net, torch.as_tensor(train.X[:2])))
    spec_torch = from_onnx(onnx_path)
    with torch.no_grad():
        torch_acc = accuracy(net(torch.as_tensor(test.X)).numpy(), test.y)
    print(f"1. PyTorch GRU({args.units}): test accuracy {torch_acc * 100:.2f}%; wrote {onnx_path}")
    print(f"2. imported {onnx_path.name}: {spec_torch.n_params} parameters, float reference = onnxruntime")

    # 3-4. both models through the same pipeline
    keras_model, _ = train_classifier(train, test, units=args.units, epochs=args.epochs, seed=0)
    spec_keras = import_keras(keras_model)
    rows = [deploy("pytorch", spec_torch, train, test, args.out, args.target, args.emulate),
            deploy("keras", spec_keras, train, test, args.out, args.target, args.emulate)]
    target = get_target(args.target)
    print(f"3. w8a16 on {target.part} ({target.core}, {target.clock_mhz:g} MHz), {args.emulate} test sequences "
          "emulated:")
    print(f"   {'model':8} {'params':>6} {'float':>7} {'w8a16':>7} {'cycles/seq':>11} {'latency':>9} {'flash':>8} "
          f"{'RAM':>6}  bit-exact host/emulated")
    for r in rows:
        res = r["res"]
        print(f"   {r['name']:8} {r['params']:6d} {r['float'] * 100:6.2f}% {r['w8a16'] * 100:6.2f}% "
              f"{res.cycles_per_sequence:11,.0f} {res.latency_ms:7.2f}ms {res.flash_bytes:7,d}B {res.ram_bytes:5,d}B"
              f"  {r['host_exact']}/{r['emu_exact']}")
    if not all(r["host_exact"] and r["emu_exact"] for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
