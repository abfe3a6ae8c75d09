"""Commands that make and look at models: dataset, train, quantize, convert, inspect."""

from __future__ import annotations

from pathlib import Path

import click

from edge_gru.cli._common import _check_output, _progress, artifact_kind, cli, load_float_spec, placement_option
from edge_gru.errors import DataError, ModelFileError

DATASET_NAMES = ["spoken-digits", "seed-toy", "sentiment-zh", "speech-frames"]  # lazily: edge_gru.data.DATASETS


@cli.command()
@click.argument("name", type=click.Choice(DATASET_NAMES))
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True, help="Output directory.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def dataset(name: str, out: Path, force: bool) -> None:
    """Write a built-in dataset as OUT/train.npz and OUT/test.npz (sentiment-zh: also OUT/vocab.json)."""
    from edge_gru.data import load_dataset
    from edge_gru.outputs import atomic_file

    paths = [_check_output(out / f"{split}.npz", force) for split in ("train", "test")]
    vocab_path = _check_output(out / "vocab.json", force) if name == "sentiment-zh" else None
    for path, ds in zip(paths, load_dataset(name), strict=True):
        with atomic_file(path) as tmp:
            ds.save(tmp)
        kind = "token ids" if ds.tokens else "features"
        per = f", labels per step {ds.y.shape}" if ds.per_step_labels else ""
        click.echo(f"{path}: X {ds.X.shape} ({kind}), {ds.n_classes} classes{per}")
    if vocab_path is not None:
        from edge_gru.text import load_sentiment_zh

        with atomic_file(vocab_path) as tmp:
            load_sentiment_zh()[2].save(tmp)
        click.echo(f"{vocab_path}: character vocabulary (0 padding, 1 unknown)")


@cli.command()
@click.option("--dataset", "dataset_name", type=click.Choice(DATASET_NAMES),
              help="Train on a built-in dataset.")
@click.option("--data", type=click.Path(path_type=Path), help="Train on an .npz file (X, y).")
@click.option("--test-data", type=click.Path(path_type=Path), help="Optional .npz for the reported accuracy.")
@click.option("--units", default=16, show_default=True, type=click.IntRange(1, 1024), help="GRU units per layer.")
@click.option("--layers", default=1, show_default=True, type=click.IntRange(1, 8), help="Stacked GRU layers.")
@click.option("--epochs", default=None, type=click.IntRange(1, 10000),
              help="Training epochs [default: 30; 4 for token data].")
@click.option("--embedding-dim", default=16, show_default=True, type=click.IntRange(1, 1024),
              help="Token data: width of the Embedding (mask_zero=True).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True, help="Output .keras file.")
@click.option("--force", is_flag=True, help="Overwrite the output.")
def train(dataset_name: str | None, data: Path | None, test_data: Path | None, units: int, layers: int,
          epochs: int | None, embedding_dim: int, seed: int, out: Path, force: bool) -> None:
    """Train a GRU classifier and save it as a .keras file.

    Token-id data (X of shape (N, T), e.g. --dataset sentiment-zh) trains Embedding(mask_zero=True) -> GRU -> Dense.
    """
    from edge_gru.data import load_data, load_dataset

    if (dataset_name is None) == (data is None):
        raise DataError("give exactly one of --dataset NAME or --data train.npz")
    if out.suffix != ".keras":
        raise DataError(f"{out}: the output must end in .keras")
    _check_output(out, force)
    if dataset_name:
        tr, te = load_dataset(dataset_name)
    else:
        tr = load_data(data)
        te = None
        if test_data:
            te = load_data(test_data, vocab=2**31 - 1) if tr.tokens else load_data(test_data, features=tr.X.shape[2])
    if tr.y is None:
        raise DataError(f"{data}: training needs labels 'y'")
    epochs = epochs or (4 if tr.tokens else 30)
    from converters.keras_train import save_keras, train_classifier

    with _progress() as prog:
        task = prog.add_task(f"training GRU({units})x{layers}", total=epochs, info="")

        def on_epoch(epoch: int, logs: dict) -> None:
            prog.update(task, advance=1, info=f"loss {logs.get('loss', float('nan')):.4f}")

        model, acc = train_classifier(tr, te, units=units, layers=layers, epochs=epochs, seed=seed,
                                      on_epoch=on_epoch, embedding_dim=embedding_dim)
    from edge_gru.outputs import atomic_file

    with atomic_file(out) as tmp:
        save_keras(model, tmp)
    click.echo(f"saved {out}")
    if acc is not None:
        click.echo(f"test accuracy: {acc * 100:.2f}%")


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--calibration", type=click.Path(path_type=Path), required=True,
              help="Calibration inputs: .npz with X (N, T, F), typically the training data.")
@click.option("--precision", "precision_name", type=click.Choice(["w8a16", "w8a8", "w16a16"]), default="w8a16",
              show_default=True, help="Weight/activation bit widths.")
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True, help="Output .egru file.")
@click.option("--force", is_flag=True, help="Overwrite the output.")
def quantize(model: Path, calibration: Path, precision_name: str, out: Path, force: bool) -> None:
    """Quantize a float model (.keras, .onnx or .egspec) into a fixed-point .egru model."""
    from edge_gru.data import load_model_data
    from edge_gru.fixed.io import save_fixed
    from edge_gru.fixed.model import quantize_model
    from edge_gru.fixed.summary import summarize

    if out.suffix != ".egru":
        raise ModelFileError(f"{out}: the output must end in .egru")
    _check_output(out, force)
    spec = load_float_spec(model)
    cal = load_model_data(calibration, spec)
    fm = quantize_model(spec, cal.X, precision_name)
    summary = summarize(spec, fm, cal.X[:2000])
    fm.info.update(calibration_summary=summary)
    from edge_gru.outputs import atomic_file

    with atomic_file(out) as tmp:
        save_fixed(fm, tmp)
    for line in fm.describe():
        click.echo(line)
    click.echo(f"calibration check on {summary['n']} sequences: class agreement with float "
               f"{summary['agreement'] * 100:.2f}%, output RMSE {summary['rmse']:.3g}, "
               f"max abs error {summary['max_abs_error']:.3g}")
    click.echo(f"saved {out}")


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--calibration", type=click.Path(path_type=Path),
              help="Calibration inputs: .npz with X (N, T, F) (TFLite uses the first 200 sequences).")
@click.option("--format", "fmt", type=click.Choice(["tflite-int8", "tflite-16x8", "c"]), default="tflite-int8",
              show_default=True, help="int8 or 16x8 (int16 activations, int8 weights) TFLite, or the C runtime.")
@click.option("--layout", type=click.Choice(["unrolled", "step"]), default="unrolled", show_default=True,
              help="TFLite: whole sequence per invoke, or one timestep per invoke with explicit states.")
@click.option("--precision", "precision_name", type=click.Choice(["w8a16", "w8a8", "w16a16"]), default="w8a16",
              show_default=True, help="For --format c from a float model.")
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True, help="Output directory.")
@click.option("--name", help="For --format c: model name for C identifiers (sanitised).")
@click.option("--embedding", "embedding", type=click.Choice(["auto", "table", "folded"]), default="auto",
              show_default=True, help="For --format c with an Embedding: the quantized table, or the first layer's "
              "input projection per token (faster, usually far larger); auto = folded only if not larger.")
@click.option("--matrix-layout", "matrix", type=click.Choice(["blocks", "pairs", "rows"]),
              help="For --format c: how the GRU weights are stored: blocks (default: the ARMv6-M, DSP and portable "
              "kernels), pairs (the faster DSP kernels of the Cortex-M4/M7/M33, int8 weights) or rows (the "
              "Helium/MVE kernel of the Cortex-M55); other cores run plain loops over pairs and rows.")
@click.option("--target", "target_name", help="For --format c: the part the firmware runs on (see `edge-gru targets`): "
              "the weights are stored in the layout its kernel reads (pairs on a Cortex-M4/M7/M33, rows on an M55, "
              "blocks elsewhere) unless --matrix-layout names one.")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@placement_option
def convert(model: Path, calibration: Path | None, fmt: str, layout: str, precision_name: str, out: Path,
            name: str | None, embedding: str, matrix: str | None, target_name: str | None, force: bool,
            placement: str | None) -> None:
    """Convert a model: full-integer .tflite (int8 or 16x8, unrolled or step layout) or a C99 runtime folder.

    The TensorFlow converter runs in a child process, so a converter crash is reported, not fatal.
    `--format c` takes a .egru, or a float model plus --calibration.
    """
    from edge_gru.data import load_model_data
    from edge_gru.outputs import atomic_file, check_output, staged_folder

    if placement is not None and fmt != "c":
        raise DataError("--placement applies to --format c (a .tflite is placed by TFLite Micro's build)")
    if matrix is not None and fmt != "c":
        raise DataError("--matrix-layout applies to --format c")
    if target_name is not None and fmt != "c":
        raise DataError("--target applies to --format c (a .tflite runs on any part)")
    straight: dict = {}
    if target_name is not None:
        from converters.c_paths import PAIRS_EXACT_MAX_K
        from firmware_sim.simulate import matrix_layout_for, straight_max_k_for
        from firmware_sim.targets import get_target

        target = get_target(target_name)
        chosen_matrix = matrix or matrix_layout_for(target)
        straight = {"straight_max_k": straight_max_k_for(target, placement or "flash")}
        click.echo(f"target {target.name} ({target.core}): matrix layout {chosen_matrix}"
                   + (" (--matrix-layout)" if matrix else "")
                   + (f", straight-line kernel copies up to {straight['straight_max_k']} inputs (its instruction "
                      "cache)" if chosen_matrix == "pairs" and straight["straight_max_k"] < PAIRS_EXACT_MAX_K else ""))
        matrix = chosen_matrix
    if fmt == "c":
        from converters.c_export import embedding_layout, export_c, export_matrix_layout, export_names
        from edge_gru.fixed.io import save_fixed

        placement = placement or "flash"
        names = [*export_names("weights-ram"), "model.egru"]
        with staged_folder(out, names, force) as stage:     # checked before the work; files move in at the end
            fm = _c_model(model, calibration, precision_name)
            files = export_c(fm, stage, True, name=name, embedding=embedding, placement=placement,
                             matrix=matrix or "blocks", **straight)
            save_fixed(fm, stage / "model.egru")
            chosen = embedding_layout(stage)
            written = export_matrix_layout(stage)
            _append_sizes(stage)
        from converters.c_layout import memory_figures

        mem = memory_figures(fm, chosen, written)
        click.echo(f"wrote {len(files) + 1} files to {out}/ ({fm.precision.name}): {mem['constant_bytes']:,} bytes "
                   f"of constant model data, {mem['ram_bytes']:,} bytes of RAM (state + scratch)")
        if matrix == "pairs" and written != "pairs":
            click.echo("matrix layout pairs runs only int8 products with a bias and one-instruction requantization "
                       "(this model has others: int16 weights, w8a8's, 64-bit accumulators or reset_after=False): "
                       "wrote blocks, whose DSP kernels run them all")
        elif matrix == "pairs":
            click.echo("matrix layout pairs: built with the DSP extension (Cortex-M4/M7/M33) the matrix products run "
                       "its kernel; other cores run plain loops over this layout (use blocks for them)")
        if matrix == "rows":
            click.echo("matrix layout rows: built with Helium (Cortex-M55, __ARM_FEATURE_MVE) the matrix products "
                       "run the MVE kernel; other cores run plain loops over this layout (use blocks for them)")
        if placement != "flash":
            click.echo(f"placement {placement}: the weights run from RAM (+{mem['constant_bytes']:,} B of RAM); add "
                       "edge_gru_placement.ld to your linker script and call eg_model_place() at start-up (README.md)")
        if fm.tokens:
            other = "table" if chosen == "folded" else "folded"
            click.echo(f"embedding: {chosen} ({mem['constant_bytes']:,} B of constants; {other} would take "
                       f"{memory_figures(fm, other)['constant_bytes']:,} B)")
        return
    from converters.tflite_export import export_tflite
    from edge_gru.tflite.inspection import inspect_tflite

    if calibration is None:
        raise ModelFileError(f"--format {fmt} needs --calibration train.npz")
    quant = fmt.split("-")[1]
    suffix = f"-{quant}" + ("-step" if layout == "step" else "")
    target = check_output(out / f"{_safe_stem(model)}{suffix}.tflite", force)
    spec = load_float_spec(model)
    cal = load_model_data(calibration, spec)
    with atomic_file(target) as tmp:      # a failed conversion leaves the previous file as it was
        size = export_tflite(spec, cal.X, tmp, quant, layout)
        info = inspect_tflite(tmp)
    how = f"unrolled over {spec.timesteps} steps" if layout == "unrolled" else "one timestep per invoke"
    click.echo(f"wrote {target} ({size:,} bytes, {quant}, {how}; {len(info.ops)} operators, no float operators)")


def _c_model(model: Path, calibration: Path | None, precision_name: str):
    """The fixed-point model of ``convert --format c``: a .egru as it is, a float model quantized."""
    from edge_gru.data import load_model_data
    from edge_gru.fixed.io import load_fixed
    from edge_gru.fixed.model import quantize_model

    if artifact_kind(model) == "fixed":
        return load_fixed(model)
    if calibration is None:
        raise ModelFileError("--format c from a float model needs --calibration train.npz")
    spec = load_float_spec(model)
    return quantize_model(spec, load_model_data(calibration, spec).X, precision_name)


def _append_sizes(folder: Path) -> None:
    """Cross-compile the export for a few cores and add the section sizes to its README (when a compiler exists)."""
    from edge_gru.errors import ToolMissingError

    try:
        from firmware_sim.sizes import SIZE_CORES, object_sizes, sizes_markdown
        from firmware_sim.toolchain import find_compiler

        cc = find_compiler()
        rows = {core: object_sizes(folder, core, cc) for core in SIZE_CORES}
    except (ToolMissingError, ImportError):
        click.echo("(no Arm cross-compiler: section sizes per core not measured; pip install ziglang)")
        return
    table = sizes_markdown(rows, cc.version)
    with open(folder / "README.md", "a") as fh:
        fh.write("\n" + table)
    click.echo(table)


def _safe_stem(path: Path) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem) or "model"


@cli.command()
@click.argument("artifact", type=click.Path(path_type=Path))
def inspect(artifact: Path) -> None:
    """Print a model's architecture, parameter count and MACs per sequence (.tflite: ops, tensors, quantization)."""
    kind = artifact_kind(artifact)
    if kind == "tflite":
        from edge_gru.tflite.inspection import inspect_tflite

        for line in inspect_tflite(artifact).describe():
            click.echo(line)
        return
    if kind == "fixed":
        from edge_gru.fixed.io import load_fixed

        fm = load_fixed(artifact)
        for line in fm.describe():
            click.echo(line)
        return
    if kind == "onnx":
        from edge_gru.importers.onnx_import import import_onnx

        found = import_onnx(artifact)
        for line in found.spec.describe():
            click.echo(line)
        click.echo(f"ONNX file from {found.producer or 'an unnamed producer'}, opset {found.opset}: float reference = "
                   f"onnxruntime within {found.max_difference:.2g} on random inputs")
        return
    spec = load_float_spec(artifact)
    for line in spec.describe():
        click.echo(line)

