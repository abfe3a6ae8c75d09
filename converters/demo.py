"""The main job behind ``edge-gru demo`` / ``make demo``.

Trains the spoken-digits GRU(16) on the built-in data, imports it, checks the float
reference against Keras, quantizes it at every precision and writes an accuracy table
(Markdown and JSON) to the output folder.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from converters.keras_import import import_keras
from converters.keras_train import save_keras, train_classifier
from edge_gru.data import accuracy, load_dataset
from edge_gru.fixed.model import quantize_model, save_fixed
from edge_gru.fixed.quantize import PRECISIONS
from edge_gru.fixed.summary import compare_outputs
from edge_gru.float_ref import predict
from edge_gru.spec import save_spec

log = logging.getLogger(__name__)


def run_demo(out: Path, dataset: str = "spoken-digits", units: int = 16, epochs: int = 30, seed: int = 0,
             say: Callable[[str], None] = log.info,
             on_epoch: Callable[[int, dict], None] | None = None) -> dict:
    """Run the demo pipeline into ``out``; returns the summary written to ``out/summary.json``."""
    out.mkdir(parents=True, exist_ok=True)
    train, test = load_dataset(dataset)
    say(f"dataset {dataset}: train {train.X.shape}, test {test.X.shape}")
    t0 = time.perf_counter()
    model, keras_acc = train_classifier(train, test, units=units, epochs=epochs, seed=seed, on_epoch=on_epoch)
    say(f"trained GRU({units}) in {time.perf_counter() - t0:.1f} s: Keras test accuracy {keras_acc * 100:.2f}%")
    save_keras(model, out / "model.keras")
    spec = import_keras(model)
    save_spec(spec, out / "model.egspec")
    y_keras = np.asarray(model.predict(test.X, verbose=0, batch_size=256))
    y_float = predict(spec, test.X)
    float_err = float(np.abs(y_keras - y_float).max())
    say(f"float reference vs Keras: max abs difference {float_err:.2e}")
    rows = [{"implementation": "float", "precision": "float32", "accuracy": accuracy(y_float, test.y),
             **compare_outputs(y_float, y_float)}]
    for name in PRECISIONS:
        fm = quantize_model(spec, train.X, name)
        save_fixed(fm, out / f"model-{name}.egru")
        y = fm.predict(test.X)
        rows.append({"implementation": "fixed", "precision": name, "accuracy": accuracy(y, test.y),
                     **compare_outputs(y_float, y)})
        say(f"fixed {name}: accuracy {rows[-1]['accuracy'] * 100:.2f}%, agreement with float "
            f"{rows[-1]['agreement'] * 100:.2f}%")
    summary = {"dataset": dataset, "units": units, "epochs": epochs, "keras_accuracy": keras_acc,
               "float_vs_keras_max_abs": float_err, "macs_per_sequence": spec.macs_per_sequence(),
               "parameters": spec.n_params, "rows": rows}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text(markdown_table(summary))
    return summary


def markdown_table(summary: dict) -> str:
    """The demo's accuracy table as Markdown."""
    f = summary["rows"][0]["accuracy"]
    lines = [f"# edge-gru demo: {summary['dataset']} GRU({summary['units']})", "",
             f"{summary['parameters']} parameters, {summary['macs_per_sequence']} MACs per sequence.", "",
             "| implementation | precision | accuracy | vs float (points) | agreement | RMSE | max abs err |",
             "|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        lines.append(f"| {r['implementation']} | {r['precision']} | {r['accuracy'] * 100:.2f}% | "
                     f"{(r['accuracy'] - f) * 100:+.2f} | {r['agreement'] * 100:.2f}% | {r['rmse']:.2e} | "
                     f"{r['max_abs_error']:.2e} |")
    return "\n".join(lines) + "\n"


__all__ = ["markdown_table", "run_demo"]
