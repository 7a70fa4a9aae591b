#!/usr/bin/env python3
"""Microbenchmark of the transcendental kernels: onnxc vs onnxruntime.

    python3 scripts/bench.d/vmath.py --onnxc target/debug/onnxc [--ops softmax,sigmoid] [--budget 1]

One-node models (Softmax and LogSoftmax over a 1000x1000 input along the last
axis; Exp, Sigmoid, Tanh, Erf and Gelu over 4M elements, as [1024, 4096]; Cast
to int32 and QuantizeLinear to int8 over the same, for float -> int casts),
compiled and timed like scripts/bench does it (LLVM backend, `--cpu native`,
the C harness; onnxruntime with 1 intra-op thread), outputs checked with the
same tolerances. Prints median ms per op and the ratio onnxc/onnxruntime.
"""

import argparse
import importlib.machinery
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load_bench():
    loader = importlib.machinery.SourceFileLoader("bench", os.path.join(ROOT, "scripts", "bench"))
    spec = importlib.util.spec_from_loader("bench", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


OPS = {
    # name: (op_type, shape, attrs, opset, input scale)
    "softmax": ("Softmax", [1000, 1000], {"axis": -1}, 17, 4.0),
    "logsoftmax": ("LogSoftmax", [1000, 1000], {"axis": -1}, 17, 4.0),
    "exp": ("Exp", [1024, 4096], {}, 17, 4.0),
    "sigmoid": ("Sigmoid", [1024, 4096], {}, 17, 4.0),
    "tanh": ("Tanh", [1024, 4096], {}, 17, 2.0),
    "erf": ("Erf", [1024, 4096], {}, 17, 2.0),
    "gelu": ("Gelu", [1024, 4096], {}, 20, 2.0),
    # Saturating float -> int conversions (not math, but the same vectorization issue).
    "cast_i32": ("Cast", [1024, 4096], {"to": 6}, 17, 1000.0),
    "quantize": ("QuantizeLinear", [1024, 4096], {}, 17, 100.0),
}


def make(work, name):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
    op, shape, attrs, opset, scale = OPS[name]
    path = os.path.join(work, f"vmath_{name}.onnx")
    inp = os.path.join(work, f"vmath_{name}_input_0.npy")
    out_ty = {"cast_i32": TensorProto.INT32, "quantize": TensorProto.INT8}.get(name, TensorProto.FLOAT)
    inputs, inits = ["x"], []
    if name == "quantize":
        inputs += ["s", "z"]
        inits = [helper.make_tensor("s", TensorProto.FLOAT, [], [0.5]),
                 helper.make_tensor("z", TensorProto.INT8, [], [3])]
    g = helper.make_graph([helper.make_node(op, inputs, ["y"], **attrs)], f"vmath_{name}",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", out_ty, shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9
    onnx.save(m, path)
    rng = np.random.default_rng(7)
    np.save(inp, (rng.standard_normal(shape) * scale).astype(np.float32))
    return path, inp


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--onnxc", required=True)
    p.add_argument("--ops", default=",".join(OPS))
    p.add_argument("--budget", type=float, default=1.0)
    a = p.parse_args()
    bench = load_bench()
    work = os.path.join(bench.target_dir(), "bench_vmath")
    os.makedirs(work, exist_ok=True)
    onnxc = os.path.abspath(a.onnxc)
    print("| op | shape | ort 1t ms | onnxc 1t ms | onnxc/ort | output |")
    print("|---|---|---:|---:|---:|---|")
    for name in a.ops.split(","):
        model, inp = make(work, name)
        d = os.path.join(work, name)
        exe, _ = bench.compile_onnxc(onnxc, model, name, None, None, work)
        ort = bench.measure_ort(model, [inp], os.path.join(d, "ort1.npy"), 1, a.budget)["median_ms"]
        onx = bench.measure_onnxc(exe, [inp], os.path.join(d, "onnxc.bin"), a.budget, False)["median_ms"]
        ok, err = bench.agree(os.path.join(d, "onnxc.bin"), os.path.join(d, "ort1.npy"))
        shape = "x".join(map(str, OPS[name][1]))
        print(f"| {name} | {shape} | {ort:.3f} | {onx:.3f} | {onx / ort:.2f} | {'ok' if ok else 'MISMATCH'} ({err}) |",
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
