#!/usr/bin/env python3
"""Write the official ONNX node test suite into a cache folder.

    scripts/gen_conformance.py --out .cache/conformance [--force]

For every case of `onnx.backend.test.case.node.collect_testcases()` (about
1,900) this writes `<case>/model.onnx`, `<case>/input_K.npy` and
`<case>/output_K.npy` (the first data set), plus one `manifest.json` that the
Rust harness (tests/tests/conformance.rs) reads:

    {"format": 4, "onnx_version": "1.23.2", "num_cases": N,
     "cases": [{"name": "test_abs", "op": "Abs", "ops": ["Abs"], "opset": 13,
                "rtol": 0.001, "atol": 1e-07,
                "inputs":  [{"name": "x", "kind": "tensor", "dtype": 1, "dtype_name": "float",
                             "shape": [3, 4, 5], "file": "input_0.npy"}],
                "outputs": [{... same, "rtol": 0.001, "atol": 1e-07}],
                "unsupported": null}]}

A sequence value (`"kind": "sequence"`) has `"length": N` and `"elements"`:
N tensor entries named `x.0`, `x.1`, ... (the names the compiled ABI gives
the flattened elements) stored as `input_K_0.npy`, `input_K_1.npy`, ...; its
own `shape` and `file` are null and `dtype` is the element type. An optional
value (`"kind": "optional"`) has `"present"`: absent, it has no data; present,
it is described like the tensor or sequence it holds.

`dtype` is the ONNX TensorProto.DataType code. npy files hold the plain
little-endian element bytes: bfloat16 is stored as uint16 and the 8/4-bit
float and int types as (u)int8, one element per byte, because numpy has no
native descr for them; the manifest's dtype says what the bits mean.

Nothing is skipped silently: a case whose data cannot be written as a dense
tensor or a sequence/optional of them (strings, maps, nested sequences) is still listed, with
`"unsupported": "<reason>"`, so the harness counts it as a failure.

Idempotent: does nothing when the manifest already exists for the installed
onnx version (and this script's format), unless --force.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import warnings

# 4: sequence and optional values (`kind`, `length`, `elements`, `present`).
FORMAT = 4

# The suite's runner compares with rtol=1e-3, atol=1e-7 unless a case sets its
# own; for bfloat16 outputs it widens rtol to two bfloat16 ULPs
# (onnx/backend/test/runner/__init__.py, assert_similar_outputs).
DEFAULT_RTOL = 1e-3
DEFAULT_ATOL = 1e-7
BF16_MIN_RTOL = 2.0**-6


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=".cache/conformance", help="cache folder")
    p.add_argument("--force", action="store_true", help="regenerate even if up to date")
    p.add_argument("--only", default=None,
                   help="comma-separated substrings: write only the cases whose name contains one "
                        "(for a quick look, into a scratch --out; such a manifest is never up to date)")
    return p.parse_args()


def up_to_date(out, onnx_version):
    try:
        with open(os.path.join(out, "manifest.json")) as f:
            m = json.load(f)
        return (m.get("format") == FORMAT and m.get("onnx_version") == onnx_version
                and not m.get("only"))
    except (OSError, ValueError):
        return False


def collect_op_types(graph):
    """All op types of a graph, subgraphs included (If/Loop/Scan bodies)."""
    import onnx

    ops = set()
    for node in graph.node:
        name = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        ops.add(name)
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                ops |= collect_op_types(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    ops |= collect_op_types(g)
    return ops


def base_case_name(name):
    """`test_x_expanded` / `test_x_expanded_ver18` -> `test_x`."""
    i = name.find("_expanded")
    return name[:i] if i >= 0 else name


def value_kind(type_proto):
    """'tensor', 'sequence' (of tensors), 'optional' (of a tensor or a
    sequence of tensors), or a reason why the value cannot be written."""
    which = type_proto.WhichOneof("value")
    if which == "tensor_type":
        return "tensor"
    if which == "sequence_type":
        inner = type_proto.sequence_type.elem_type
        return "sequence" if inner.WhichOneof("value") == "tensor_type" else "sequence of non-tensors"
    if which == "optional_type":
        inner = value_kind(type_proto.optional_type.elem_type)
        return "optional" if inner in ("tensor", "sequence") else f"optional {inner}"
    return {"map_type": "map value", "sparse_tensor_type": "sparse tensor value"}.get(
        which, f"value of type {which}")


def to_dense(arr, elem_type):
    """numpy array with a dtype np.save writes portably, or a reason string."""
    import numpy as np
    import onnx

    if arr is None:
        return "absent (None) value"
    if isinstance(arr, (list, tuple, dict)):
        return "sequence/map value"
    if isinstance(arr, onnx.TensorProto):
        # Cases for types numpy lacks (float8, int4, ...) carry TensorProtos.
        arr = onnx.numpy_helper.to_array(arr)
    elif not isinstance(arr, np.ndarray) and hasattr(arr, "SerializeToString"):
        return f"{type(arr).__name__} value"
    arr = np.asarray(arr)
    if arr.dtype == object or arr.dtype.kind in ("U", "S"):
        return "string tensor" if elem_type == onnx.TensorProto.STRING else f"{arr.dtype} array"
    if elem_type == onnx.TensorProto.STRING:
        return "string tensor"
    name = arr.dtype.name
    # np.ascontiguousarray makes a 0-d array 1-d: keep the shape (a scalar
    # sequence element has no declared shape to restore it from).
    shape = arr.shape
    if name == "bfloat16":
        return np.ascontiguousarray(arr).view(np.uint16).reshape(shape)
    if arr.dtype.kind == "V" or name.startswith(("float8", "float4", "int4", "uint4", "int2", "uint2")):
        # ml_dtypes 1-byte types: keep the raw byte of each element.
        if arr.dtype.itemsize != 1:
            return f"unsupported numpy dtype {name}"
        signed = name.startswith(("int4", "int2"))
        return np.ascontiguousarray(arr).view(np.int8 if signed else np.uint8).reshape(shape)
    if arr.dtype.kind == "c":
        return "complex tensor"
    return np.ascontiguousarray(arr).reshape(shape)


def match_declared_shape(tensor_type, arr):
    """The data of a few cases disagrees with the model on the spelling of a
    shape (a [1] array fed to a scalar `min` in test_clip, a [1] expected
    output of Size whose model declares a scalar). The model's declared
    static shape is what a compiled model is built for, so the data is
    reshaped to it when the element counts agree."""
    tt = tensor_type
    if not tt.HasField("shape") or not all(d.HasField("dim_value") for d in tt.shape.dim):
        return arr
    declared = tuple(d.dim_value for d in tt.shape.dim)
    size = 1
    for d in declared:
        size *= d
    if declared != arr.shape and size == arr.size:
        return arr.reshape(declared)
    return arr


def dtype_name(elem):
    import onnx

    return onnx.TensorProto.DataType.Name(elem).lower() if elem else "none"


def entry_of(name, elem, arr, file_name, kind):
    return {
        "name": name,
        "kind": kind,
        "dtype": elem,
        "dtype_name": dtype_name(elem),
        "shape": [int(d) for d in arr.shape] if arr is not None else None,
        "file": file_name,
    }


def write_tensor(case_dir, name, tensor_type, arr, file_name, kind, reasons, what):
    """One dense tensor as `file_name`; its manifest entry (file None and a
    reason appended when the data cannot be written densely)."""
    import numpy as np

    dense = to_dense(arr, tensor_type.elem_type)
    if isinstance(dense, str):
        reasons.append(f"{what} {name!r}: {dense}")
        return entry_of(name, tensor_type.elem_type, None, None, kind)
    dense = match_declared_shape(tensor_type, dense)
    np.save(os.path.join(case_dir, file_name), dense, allow_pickle=False)
    return entry_of(name, tensor_type.elem_type, dense, file_name, kind)


def write_value(case_dir, prefix, k, name, type_proto, arr, reasons):
    """The manifest entry of graph input/output `name` (FORMAT 4).

    A tensor is `<prefix>_K.npy`. A sequence of length N is N tensors
    `<prefix>_K_J.npy`, listed in order under `elements` (named `name.J`,
    as the compiled ABI names them), with `length` N. An optional has
    `present`; an absent one has no data, a present one is described like
    the tensor or sequence it holds, with kind "optional"."""
    kind = value_kind(type_proto)
    if kind not in ("tensor", "sequence", "optional"):
        reasons.append(f"{prefix} {name!r}: {kind}")
        return entry_of(name, 0, None, None, "unsupported")
    if kind == "optional":
        inner = type_proto.optional_type.elem_type
        if arr is None:
            inner_tt = inner.sequence_type.elem_type.tensor_type if value_kind(inner) == "sequence" else inner.tensor_type
            e = entry_of(name, inner_tt.elem_type, None, None, "optional")
            e["present"] = False
            return e
        e = write_value(case_dir, prefix, k, name, inner, arr, reasons)
        e["kind"] = "optional"
        e["present"] = True
        return e
    if kind == "tensor":
        return write_tensor(case_dir, name, type_proto.tensor_type, arr, f"{prefix}_{k}.npy", "tensor", reasons, prefix)
    elem_tt = type_proto.sequence_type.elem_type.tensor_type
    if not isinstance(arr, (list, tuple)):
        reasons.append(f"{prefix} {name!r}: sequence data is a {type(arr).__name__}")
        return entry_of(name, elem_tt.elem_type, None, None, "sequence")
    elements = [
        write_tensor(case_dir, f"{name}.{j}", elem_tt, a, f"{prefix}_{k}_{j}.npy", "tensor", reasons, prefix)
        for j, a in enumerate(arr)
    ]
    e = entry_of(name, elem_tt.elem_type, None, None, "sequence")
    e["length"] = len(elements)
    e["elements"] = elements
    return e


def set_tolerances(entry, rtol, atol):
    import onnx

    bf16 = entry["dtype"] == onnx.TensorProto.BFLOAT16
    entry["rtol"] = max(rtol, BF16_MIN_RTOL) if bf16 else rtol
    entry["atol"] = atol
    for e in entry.get("elements", []):
        set_tolerances(e, rtol, atol)


def write_side(case_dir, prefix, value_infos, arrays, rtol, atol, reasons):
    """Write input_K.npy / output_K.npy (input_K_J.npy for sequence
    elements); returns the manifest entries."""
    entries = []
    if len(arrays) != len(value_infos):
        reasons.append(f"{len(arrays)} {prefix} values for {len(value_infos)} graph {prefix}s")
    for k, (vi, arr) in enumerate(zip(value_infos, arrays)):
        entry = write_value(case_dir, prefix, k, vi.name, vi.type, arr, reasons)
        if prefix == "output":
            set_tolerances(entry, rtol, atol)
        entries.append(entry)
    return entries


def write_case(out, case, base_ops):
    graph = case.model.graph
    case_dir = os.path.join(out, case.name)
    os.makedirs(case_dir, exist_ok=True)
    with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
        f.write(case.model.SerializeToString())

    inputs, outputs = case.data_sets[0]
    rtol = float(case.rtol if case.rtol is not None else DEFAULT_RTOL)
    atol = float(case.atol if case.atol is not None else DEFAULT_ATOL)
    reasons = []
    ins = write_side(case_dir, "input", list(graph.input), list(inputs), rtol, atol, reasons)
    outs = write_side(case_dir, "output", list(graph.output), list(outputs), rtol, atol, reasons)

    ops = sorted(collect_op_types(graph))
    base = base_case_name(case.name)
    op = base_ops.get(base) or (ops[0] if len(ops) == 1 else "+".join(ops))
    opset = next((o.version for o in case.model.opset_import if o.domain in ("", "ai.onnx")), None)
    return {
        "name": case.name,
        "op": op,
        "ops": ops,
        "opset": opset,
        "rtol": rtol,
        "atol": atol,
        "inputs": ins,
        "outputs": outs,
        "unsupported": "; ".join(reasons) if reasons else None,
    }


def main():
    args = parse_args()
    import onnx

    if not args.only and up_to_date(args.out, onnx.__version__):
        print(f"gen_conformance: {args.out} is up to date (onnx {onnx.__version__})")
        return 0

    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        # The case generators compute expected outputs with numpy and warn on
        # intended overflows/NaNs; the warnings are noise here.
        warnings.simplefilter("ignore")
        import numpy as np

        with np.errstate(all="ignore"):
            cases = collect_testcases()
    if args.only:
        keys = [k for k in args.only.split(",") if k]
        cases = [c for c in cases if any(k in c.name for k in keys)]

    # The op a case is "about" is its single node's op; expanded (function
    # body) variants are credited to the op of their non-expanded case.
    base_ops = {}
    for c in cases:
        if "_expanded" not in c.name and len(c.model.graph.node) == 1:
            node = c.model.graph.node[0]
            base_ops[c.name] = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"

    # Build into a temp folder beside the target, then swap, so an interrupted
    # run never leaves a manifest that describes missing files.
    parent = os.path.dirname(os.path.abspath(args.out)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".conformance-", dir=parent)
    try:
        entries = [write_case(tmp, c, base_ops) for c in sorted(cases, key=lambda c: c.name)]
        manifest = {
            "format": FORMAT,
            "onnx_version": onnx.__version__,
            "num_cases": len(entries),
            "default_rtol": DEFAULT_RTOL,
            "default_atol": DEFAULT_ATOL,
            "only": args.only,
            "cases": entries,
        }
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        if os.path.exists(args.out):
            shutil.rmtree(args.out)
        os.rename(tmp, args.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    unsupported = sum(1 for e in entries if e["unsupported"])
    print(f"gen_conformance: wrote {len(entries)} cases to {args.out} "
          f"({unsupported} with non-tensor data, listed as unsupported)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
