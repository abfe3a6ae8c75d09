"""TFLite figures for spoken-digits GRU(16) and GRU(32): file size per layout and precision, accuracy
under LiteRT and TFLite Micro, and how often the two interpreters disagree on the same file.

    python benchmarks/tflite_figures.py      (trains both models once; cached in benchmarks/.cache)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
CACHE = Path(os.environ.get("EDGE_GRU_BENCH_DIR", Path(__file__).parent / ".cache"))


def main() -> int:
    import numpy as np

    from converters.tflite_export import export_tflite
    from edge_gru.data import accuracy, load_dataset
    from edge_gru.errors import EdgeGruError
    from edge_gru.float_ref import predict
    from edge_gru.spec import load_spec, save_spec
    from edge_gru.tflite.runner import TFLiteRunner

    CACHE.mkdir(parents=True, exist_ok=True)
    train, test = load_dataset("spoken-digits")
    print(f"{'model':8s} {'variant':14s} {'bytes':>9s} {'float':>7s} {'LiteRT':>7s} {'TFLM':>7s} "
          f"{'LiteRT!=TFLM':>12s} {'max LSB':>8s}")
    for units in (16, 32):
        path = CACHE / f"sd{units}.egspec"
        if not path.exists():
            from converters.keras_import import import_keras
            from converters.keras_train import train_classifier

            model, _ = train_classifier(train, test, units=units, epochs=30, seed=0)
            save_spec(import_keras(model), path)
        spec = load_spec(path)
        acc_f = accuracy(predict(spec, test.X), test.y)
        with tempfile.TemporaryDirectory() as tmp:
            for quant, layout in (("int8", "unrolled"), ("int8", "step"), ("16x8", "unrolled"), ("16x8", "step")):
                f = Path(tmp) / f"{quant}-{layout}.tflite"
                try:
                    size = export_tflite(spec, train.X, f, quant, layout)
                except EdgeGruError as exc:
                    print(f"GRU({units}) {quant + ' ' + layout:14s} refused: {exc}")
                    continue
                r = TFLiteRunner(f, "litert")
                raw = {e: TFLiteRunner(f, e).predict_raw(r.quantize(test.X)) for e in ("litert", "tflm")}
                accs = {e: accuracy(r.dequantize(v), test.y) for e, v in raw.items()}
                diff = np.abs(raw["litert"].astype(np.int64) - raw["tflm"].astype(np.int64))
                print(f"GRU({units}) {quant + ' ' + layout:14s} {size:9,d} {acc_f * 100:6.2f}% "
                      f"{accs['litert'] * 100:6.2f}% {accs['tflm'] * 100:6.2f}% {np.mean(diff > 0) * 100:11.2f}% "
                      f"{int(diff.max()):8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
