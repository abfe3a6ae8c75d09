"""Mutators: from a valid seed artifact, a hostile but realistic one.

Every mutator takes a random generator, the seed's path and a case folder, writes the mutated artifact
there and returns its path and a short description of what was done (printed with any non-clean outcome,
so a case can be reproduced by hand).
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fuzz.mutate_data import Mutation, Rng, data_mutation
from fuzz.mutate_onnx import onnx_mutation

# ------------------------------------------------------------------------------------------------ bytes


def mutate_bytes(rng: Rng, data: bytes) -> tuple[bytes, str]:
    """Bit flips, truncation, insertion, overwrite, duplication or emptying of a byte string."""
    b = bytearray(data)
    op = rng.choice(["flip", "flip", "truncate", "insert", "overwrite", "duplicate", "empty", "interesting"])
    if op == "empty" or not b:
        return b"", "emptied"
    if op == "flip":
        k = int(rng.integers(1, 9))
        for _ in range(k):
            i = int(rng.integers(len(b)))
            b[i] ^= 1 << int(rng.integers(8))
        return bytes(b), f"{k} bit flips"
    if op == "truncate":
        n = int(rng.integers(len(b)))
        return bytes(b[:n]), f"truncated to {n} bytes"
    if op == "insert":
        i, n = int(rng.integers(len(b))), int(rng.integers(1, 64))
        return bytes(b[:i]) + rng.bytes(n) + bytes(b[i:]), f"{n} random bytes inserted at {i}"
    if op == "duplicate":
        i = int(rng.integers(len(b)))
        j = min(len(b), i + int(rng.integers(1, 256)))
        return bytes(b[:j]) + bytes(b[i:j]) + bytes(b[j:]), f"bytes {i}..{j} duplicated"
    if op == "interesting":
        i = int(rng.integers(max(1, len(b) - 4)))
        val = [0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 1, 0xFFFF][int(rng.integers(6))]
        b[i:i + 4] = val.to_bytes(4, "little")
        return bytes(b), f"32-bit {val:#x} written at {i}"
    i = int(rng.integers(len(b)))
    n = int(rng.integers(1, 32))
    b[i:i + n] = rng.bytes(n)
    return bytes(b), f"{n} bytes overwritten at {i}"


def byte_mutation(rng: Rng, seed: Path, case: Path) -> Mutation:
    """The seed file with its bytes mutated."""
    data, what = mutate_bytes(rng, seed.read_bytes())
    out = case / seed.name
    out.write_bytes(data)
    return out, f"bytes: {what}"


# -------------------------------------------------------------------------------------------------- zip


def read_zip(path: Path) -> list[tuple[str, bytes]]:
    """Members of a zip file, in order."""
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def write_zip(path: Path, members: list[tuple[str, bytes]], method: int = zipfile.ZIP_STORED) -> None:
    """Write members (duplicates allowed) into a new zip."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # "Duplicate name" is what some cases want
        with zipfile.ZipFile(path, "w", method) as z:
            for name, data in members:
                z.writestr(name, data)


NPY_DTYPES = ["<f4", "<f8", "<i2", "|i1", "<u4", "|b1", ">f4", "|O", "<U4", "<c8", "|V8", "<f2", "<M8[s]", "blah"]


def mutate_npy(rng: Rng, data: bytes) -> tuple[bytes, str]:
    """Edit an NPY member: its header (shape, dtype, order, magic, version) or its payload; never a no-op
    (an edit that leaves the bytes as they were, such as truncating the header's padding, is drawn again)."""
    for _ in range(16):
        new, what = _mutate_npy_once(rng, data)
        if new != data:
            return new, what
    return b"\x00NUMPX" + data[6:], "NPY magic broken"


def _mutate_npy_once(rng: Rng, data: bytes) -> tuple[bytes, str]:
    if not data.startswith(b"\x93NUMPY") or len(data) < 12:
        return mutate_bytes(rng, data)
    major = data[6]
    hlen_at, start = (8, 10) if major == 1 else (8, 12)
    hlen = int.from_bytes(data[hlen_at:start], "little")
    header, payload = data[start:start + hlen].decode("latin1"), data[start + hlen:]
    op = rng.choice(["shape", "shape", "dtype", "order", "magic", "version", "payload", "header-text"])
    if op == "magic":
        return b"\x00NUMPX" + data[6:], "NPY magic broken"
    if op == "version":
        return data[:6] + bytes([int(rng.choice([0, 2, 3, 9])), 0]) + data[8:], "NPY version changed"
    if op == "payload":
        new, what = mutate_bytes(rng, payload)
        return data[:start + hlen] + new, f"payload: {what}"
    if op == "header-text":
        new, what = mutate_bytes(rng, header.encode("latin1"))
        return _npy(new.decode("latin1"), payload), f"header text: {what}"
    if op == "order":
        return _npy(header.replace("False", "True") if "False" in header else header.replace("True", "False"),
                    payload), "fortran_order toggled"
    if op == "dtype":
        current = re.search(r"'descr': '([^']*)'", header)
        dt = str(rng.choice([d for d in NPY_DTYPES if not current or d != current.group(1)]))   # a real change
        return _npy(re.sub(r"'descr': '[^']*'", f"'descr': '{dt}'", header), payload), f"dtype -> {dt}"
    current = re.search(r"'shape': (\([^)]*\))", header)
    shape = rng.choice([s for s in ("(0,)", "()", "(-1, 3)", "(10**9,)", "(4294967296, 6, 3)",
                                    "(1, 1, 1, 1, 1, 1, 1, 1, 1)", "(5, 6, 3, 2)", "(3,)", "(1000000, 6, 3)", "(2, 2)",
                                    "(True,)", "(1.5,)", "'a'") if not current or s != current.group(1)])
    return _npy(re.sub(r"'shape': \([^)]*\)", f"'shape': {shape}", header), payload), f"shape -> {shape}"


def _npy(header: str, payload: bytes) -> bytes:
    h = header.rstrip("\n").rstrip(" ") + "\n"
    pad = (64 - (10 + len(h)) % 64) % 64
    h = h[:-1] + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h.encode("latin1") + payload


def mutate_json(rng: Rng, data: bytes) -> tuple[bytes, str]:
    """Edit a JSON document: one value replaced, a key removed, deep nesting, or text damage."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return mutate_bytes(rng, data)
    op = rng.choice(["leaf", "leaf", "leaf", "drop", "nest", "text", "utf8"])
    if op == "nest":
        depth = int(rng.choice([40, 1000, 100000]))
        return ("[" * depth + "]" * depth).encode(), f"JSON nested {depth} deep"
    if op == "text":
        return mutate_bytes(rng, data)
    if op == "utf8":
        return data[: len(data) // 2] + b"\xff\xfe" + data[len(data) // 2:], "invalid UTF-8 in JSON"
    paths = list(_leaves(doc, ()))
    if not paths:
        return mutate_bytes(rng, data)
    path = paths[int(rng.integers(len(paths)))]
    if op == "drop" and path:
        parent = _get(doc, path[:-1])
        del parent[path[-1]]
        return json.dumps(doc).encode(), f"JSON {'/'.join(map(str, path))} removed"
    old = _get(doc, path)
    values = [v for v in (math.nan, math.inf, -math.inf, -1, 0, 1e308, 10**30, -(10**30), "x", None, True, [], {},
                          [1, 2], 2**31, 0.5, "softmax2", "gru", "Embedding")
              if not (v == old and type(v) is type(old))]                  # a real change (NaN never equals)
    value = values[int(rng.integers(len(values)))]
    if path:
        _get(doc, path[:-1])[path[-1]] = value
    else:
        doc = value
    return json.dumps(doc).encode(), f"JSON {'/'.join(map(str, path))} -> {value!r}"


def _leaves(doc, path):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _leaves(v, (*path, i))
    yield path


def _get(doc, path):
    for k in path:
        doc = doc[k]
    return doc


def zip_mutation(rng: Rng, seed: Path, case: Path) -> Mutation:
    """A valid zip whose members were edited, duplicated, dropped, added, renamed or recompressed."""
    members = read_zip(seed)
    op = rng.choice(["member", "member", "member", "json", "json", "duplicate", "drop", "add", "rename",
                     "deflate"])
    i = int(rng.integers(len(members)))
    name, data = members[i]
    what = ""
    method = zipfile.ZIP_STORED
    if op == "member":
        new, what = mutate_npy(rng, data) if name.endswith(".npy") else mutate_bytes(rng, data)
        members[i] = (name, new)
    elif op == "json":
        j = [k for k, (n, _) in enumerate(members) if n.endswith(".json") or n == "__header__.npy"]
        if j:
            i = int(rng.choice(j))
            name, data = members[i]
        if name == "__header__.npy":
            arr = np.load(io.BytesIO(data))
            new, what = mutate_json(rng, arr.tobytes())
            buf = io.BytesIO()
            np.save(buf, np.frombuffer(new, np.uint8))
            members[i] = (name, buf.getvalue())
        else:
            new, what = mutate_json(rng, data)
            members[i] = (name, new)
    elif op == "duplicate":
        members.append((name, mutate_bytes(rng, data)[0] if rng.random() < 0.5 else data))
        what = "duplicated"
    elif op == "drop":
        del members[i]
        what = "removed"
    elif op == "add":
        members.append((str(rng.choice(["extra.npy", "X.npy", "y.npy", "../evil.npy", "a/b.npy"])), rng.bytes(40)))
        what = f"member {members[-1][0]} added"
    elif op == "rename":
        members[i] = (str(rng.choice(["X.npy", "y.npy", "__header__.npy", "zz.npy", "X"])), data)
        what = f"renamed to {members[i][0]}"
    else:
        method = zipfile.ZIP_DEFLATED
        what = "recompressed with deflate"
        if rng.random() < 0.5:
            out = case / seed.name
            write_zip(out, members, method)
            blob = bytearray(out.read_bytes())
            k = blob.find(b"PK\x03\x04")
            blob[k + 8:k + 10] = int(rng.choice([1, 6, 12, 14, 93, 99])).to_bytes(2, "little")
            out.write_bytes(bytes(blob))
            return out, "zip: compression method of the first member changed"
    out = case / seed.name
    write_zip(out, members, method)
    return out, f"zip member {name}: {what}"


# ------------------------------------------------------------------------------------------------ arrays


def bomb_mutation(rng: Rng, seed: Path, case: Path) -> Mutation:
    """A member whose NPY header claims far more data than the zip holds, or a real decompression bomb."""
    members = read_zip(seed)
    is_data = "data" in seed.name
    name = "X.npy" if is_data else "pad.npy"
    out = case / seed.name
    if rng.random() < 0.5:
        shape = (10**8, 6, 3) if is_data else (10**9,)
        lie = _npy(f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}", b"\x00" * 64)
        write_zip(out, [m for m in members if m[0] != name] + [(name, lie)])
        return out, f"NPY header claims shape {shape}, the member holds 64 bytes"
    # a real bomb: zeros deflate about 1000:1
    size = 64 << 20 if is_data else (1100 << 20)     # data: 4 chunks; models: over the 1 GiB limit
    rows = size // (6 * 3 * 4)
    keep = [m for m in members if m[0] not in ("X.npy", "y.npy")] if is_data else members
    header = _npy(f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, 6, 3), }}", b"")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True) as z:
        for n, d in keep:
            z.writestr(n, d)
        with z.open(name, "w", force_zip64=True) as fh:
            fh.write(header)
            zeros = bytes(16 << 20)
            left = rows * 6 * 3 * 4
            while left:
                k = min(left, len(zeros))
                fh.write(zeros[:k])
                left -= k
    return out, f"decompression bomb: {name} inflates to {rows * 72 >> 20} MiB"


# ------------------------------------------------------------------------------------------------ tflite


def tflite_mutation(rng: Rng, seed: Path, case: Path) -> Mutation:
    """An in-place edit of one field of a ``.tflite`` (indices, scales, shapes, types, codes, buffers)."""
    if rng.random() < 0.2:
        return byte_mutation(rng, seed, case)
    import flatbuffers

    from edge_gru.tflite.schema import schema

    fb = schema()
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(seed.read_bytes(), 0))
    sg = model.subgraphs[0]
    ops, tensors = sg.operators, sg.tensors
    for o in ops:          # the object API gives read-only numpy arrays: make them editable
        o.inputs = None if o.inputs is None else [int(v) for v in o.inputs]
        o.outputs = None if o.outputs is None else [int(v) for v in o.outputs]
    for x in tensors:
        x.shape = None if x.shape is None else [int(v) for v in x.shape]
        if x.quantization is not None:
            q = x.quantization
            q.scale = None if q.scale is None else [float(v) for v in q.scale]
            q.zeroPoint = None if q.zeroPoint is None else [int(v) for v in q.zeroPoint]
    sg.inputs = [int(v) for v in sg.inputs]
    for b in model.buffers:
        b.data = None if b.data is None else bytes(bytearray(b.data))
    op = ops[int(rng.integers(len(ops)))]
    t = tensors[int(rng.integers(len(tensors)))]
    bad_index = int(rng.choice([-1, -2, len(tensors), len(tensors) + 1000, 2**31 - 1]))
    kind = rng.choice(["op-input", "op-output", "opcode-index", "builtin", "buffer-index", "shape", "type",
                       "scale", "scale", "zero-point", "buffer-data", "graph-io", "signature", "drop-op"])
    what = str(kind)
    if kind == "op-input" and op.inputs is not None and len(op.inputs):
        k = int(rng.integers(len(op.inputs)))
        op.inputs[k] = bad_index
        what = f"operator input {k} -> {bad_index}"
    elif kind == "op-output" and op.outputs is not None and len(op.outputs):
        op.outputs[0] = bad_index
        what = f"operator output -> {bad_index}"
    elif kind == "opcode-index":
        op.opcodeIndex = int(rng.choice([len(model.operatorCodes), 255, 2**31 - 1]))
        what = f"opcode index -> {op.opcodeIndex}"
    elif kind == "builtin":
        code = model.operatorCodes[int(rng.integers(len(model.operatorCodes)))]
        code.builtinCode = code.deprecatedBuiltinCode = int(rng.integers(0, 127))
        what = f"builtin code -> {code.builtinCode}"
    elif kind == "buffer-index":
        t.buffer = int(rng.choice([len(model.buffers), 10**6]))
        what = f"tensor buffer -> {t.buffer}"
    elif kind == "shape":
        shapes = [[-1, 3], [0], [1, 10**6, 10**6], [], [1, 2, 3, 4, 5, 6, 7], [7]]
        t.shape = shapes[int(rng.integers(len(shapes)))]
        what = f"tensor shape -> {t.shape}"
    elif kind == "type":
        t.type = int(rng.integers(0, 25))
        what = f"tensor type -> {t.type}"
    elif kind == "scale" and t.quantization is not None and t.quantization.scale is not None:
        v = float(rng.choice([math.nan, -1.0, 0.0, 3.4e38, math.inf, 1e-45, 1e10]))
        t.quantization.scale[0] = v
        what = f"quantization scale -> {v}"
    elif kind == "zero-point" and t.quantization is not None and t.quantization.zeroPoint is not None:
        t.quantization.zeroPoint[0] = int(rng.choice([1000, -1000, 2**40]))
        what = f"zero point -> {t.quantization.zeroPoint[0]}"
    elif kind == "buffer-data":
        b = model.buffers[int(rng.integers(len(model.buffers)))]
        if b.data is not None and len(b.data):
            b.data = b.data[: len(b.data) // 2]
            what = "a buffer truncated to half"
    elif kind == "graph-io":
        sg.inputs[0] = bad_index if rng.random() < 0.5 else int(rng.integers(len(tensors)))
        what = f"graph input -> {sg.inputs[0]}"
    elif kind == "signature" and model.signatureDefs:
        sd = model.signatureDefs[0]
        if sd.inputs:
            sd.inputs[0].tensorIndex = int(rng.integers(len(tensors)))
            if rng.random() < 0.5:
                sd.inputs[0].name = b"hx"
            what = "signature input changed"
    elif kind == "drop-op" and len(ops) > 1:
        del ops[int(rng.integers(len(ops)))]
        what = "an operator removed"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    out = case / seed.name
    out.write_bytes(bytes(builder.Output()))
    return out, f"tflite: {what}"


# ------------------------------------------------------------------------------------------------ C, TOML


def cfolder_mutation(rng: Rng, seed: Path, case: Path) -> Mutation:
    """A copy of a C folder with ``model.h``/``model.c`` edited, a file removed or ``model.egru`` damaged."""
    out = case / "cdir"
    shutil.copytree(seed, out)
    op = rng.choice(["define", "define", "model.c", "non-utf8", "remove", "egru", "runtime"])
    if op == "define":
        text = (out / "model.h").read_text()
        names = re.findall(r"#define (EG_MODEL_[A-Z_]+) ", text)
        name = str(rng.choice(names))
        value = str(rng.choice(["0", "1", "100000", "-1", "nan", "3"]))
        text = re.sub(rf"#define {name} \S+", f"#define {name} {value}", text)
        (out / "model.h").write_text(text)
        return out, f"C folder: {name} -> {value}"
    if op == "model.c":
        data, what = mutate_bytes(rng, (out / "model.c").read_bytes())
        (out / "model.c").write_bytes(data)
        return out, f"C folder: model.c {what}"
    if op == "non-utf8":
        (out / "model.c").write_bytes(b"\xff\xfe" + (out / "model.c").read_bytes())
        return out, "C folder: model.c not UTF-8"
    if op == "remove":
        name = str(rng.choice(["model.h", "model.c", "model.egru", "edge_gru.c", "edge_gru.h", "harness_host.c"]))
        (out / name).unlink()
        return out, f"C folder: {name} removed"
    if op == "egru":
        (out / "model.egru").write_bytes(mutate_bytes(rng, (out / "model.egru").read_bytes())[0])
        return out, "C folder: model.egru bytes mutated"
    (out / "edge_gru.c").write_bytes(mutate_bytes(rng, (out / "edge_gru.c").read_bytes())[0])
    return out, "C folder: edge_gru.c bytes mutated"


def toml_mutation(rng: Rng, seed: Path, case: Path) -> Mutation:
    """A targets file with a value replaced (NaN, inf, huge, negative, a string, a table) or its text damaged."""
    out = case / "targets.toml"
    if rng.random() < 0.25:
        data, what = mutate_bytes(rng, seed.read_bytes())
        out.write_bytes(data)
        return out, f"targets: {what}"
    lines = seed.read_text().splitlines()
    keys = [i for i, ln in enumerate(lines) if "=" in ln]
    i = int(rng.choice(keys))
    key = lines[i].split("=")[0].strip()
    value = str(rng.choice(["nan", "inf", "-inf", "-1", "0", "1e300", "99999999999", '"fast"', "true", "[1, 2]",
                            "{a = 1}", '"cortex-m99"', '"cortex-m0plus"', "1e-300", '""']))
    lines[i] = f"{key} = {value}" if rng.random() < 0.85 else ""
    out.write_text("\n".join(lines) + "\n")
    return out, f"targets: {key} -> {value if lines[i] else '(removed)'}"


MUTATORS: dict[str, list[tuple[float, Callable[[Rng, Path, Path], Mutation]]]] = {
    "keras": [(0.3, byte_mutation), (0.7, zip_mutation)],
    "egspec": [(0.25, byte_mutation), (0.7, zip_mutation), (0.05, bomb_mutation)],
    "egru": [(0.25, byte_mutation), (0.7, zip_mutation), (0.05, bomb_mutation)],
    "npz": [(0.15, byte_mutation), (0.35, zip_mutation), (0.47, data_mutation), (0.03, bomb_mutation)],
    "tflite": [(1.0, tflite_mutation)],
    "tflite-step": [(1.0, tflite_mutation)],
    "cfolder": [(1.0, cfolder_mutation)],
    "targets": [(1.0, toml_mutation)],
}
MUTATORS["egru-text"] = MUTATORS["egru"]
MUTATORS["npz-tokens"] = MUTATORS["npz"]
MUTATORS["tflite-text"] = MUTATORS["tflite"]
MUTATORS["onnx"] = [(1.0, onnx_mutation)]


def mutate(rng: Rng, kind: str, seed: Path, case: Path) -> Mutation:
    """One mutation of the seed artifact of ``kind``, written into ``case``."""
    weights, fns = zip(*MUTATORS[kind], strict=True)
    fn = fns[int(rng.choice(len(fns), p=np.array(weights) / sum(weights)))]
    return fn(rng, seed, case)


__all__ = ["MUTATORS", "mutate", "mutate_bytes", "mutate_json", "mutate_npy", "read_zip", "write_zip"]
