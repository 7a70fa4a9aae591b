#!/usr/bin/env python3
"""Prepare the nine light models of the onnx package for end-to-end tests.

    scripts/gen_light_models.py --out .cache/light [--force]

For each `onnx/backend/test/data/light/light_<m>.onnx` this writes into OUT:

  <m>.onnx                 the shipped model, unchanged
  <m>_input_0.npy          arange(n)/n in the input's shape, float32 (what the
                           onnx backend runner feeds these models)
  <m>_output_0.npy         the shipped light_<m>_output_0.pb
  <m>_rand.onnx            the model with every float weight (ConstantOfShape
                           output or initializer) replaced by seeded random
                           values, scaled so activations stay in range
  <m>_rand_input_0.npy     a seeded random input
  <m>_rand_output_0.npy    onnxruntime's output (one thread) for that input

and a manifest.json listing the models with input/output names and shapes.

Why the `_rand` variant: the shipped weights are ConstantOfShape nodes with
one value each, so the shipped output is 0.001 for every class and would
hide almost any bug. Random weights (He-style: N(0,1) * sqrt(2 / fan_in))
make every kernel matter; BatchNormalization gets scale and var ~U(0.5, 1.5)
and small bias and mean, except that a BN ending a residual branch (its output
goes straight into Sum/Add) gets scale ~U(0.1, 0.3): random statistics do not
normalize, so each residual block would otherwise multiply the activations'
variance (resnet50 reached 1e5, shufflenet 1e6). The classifier layer
feeding Softmax is then rescaled so the logits have a standard deviation of
LOGIT_STD: large enough for a clear top-1 class, small enough that the
probabilities are not all rounded to 0/1.

Idempotent: skips when the manifest exists for the same onnx/onnxruntime
versions and this script's format, unless --force.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

FORMAT = 2
SEED = 20261124
LOGIT_STD = 3.0
SMALL = 0.05  # std of biases, BN bias/mean and weights of unknown role
MODELS = ["bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50",
          "shufflenet", "squeezenet", "vgg19", "zfnet512"]
# Ops through which a logit scale passes unchanged (positively homogeneous).
HOMOGENEOUS = {"Relu", "GlobalAveragePool", "AveragePool", "MaxPool", "Reshape",
               "Flatten", "Dropout", "Squeeze", "Unsqueeze", "Identity"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=".cache/light", help="output folder")
    p.add_argument("--force", action="store_true", help="regenerate even if up to date")
    return p.parse_args()


def versions():
    import onnx
    import onnxruntime

    return {"onnx_version": onnx.__version__, "onnxruntime_version": onnxruntime.__version__}


def up_to_date(out):
    try:
        with open(os.path.join(out, "manifest.json")) as f:
            m = json.load(f)
    except (OSError, ValueError):
        return False
    return m.get("format") == FORMAT and all(m.get(k) == v for k, v in versions().items())


def real_inputs(graph):
    """Graph inputs that are not initializers (IR v3 lists weights as inputs too)."""
    inits = {i.name for i in graph.initializer}
    return [i for i in graph.input if i.name not in inits]


def static_shape(value_info):
    # The backend runner binds symbolic dims to 1.
    return tuple(d.dim_value if d.HasField("dim_value") else 1
                 for d in value_info.type.tensor_type.shape.dim)


def consumers_map(graph):
    cons = {}
    for node in graph.node:
        for k, name in enumerate(node.input):
            cons.setdefault(name, []).append((node, k))
    return cons


def weight_role(name, cons, depth=0):
    """(role, node) of a weight from its first consumer: conv_w, gemm_w, ..."""
    for node, k in cons.get(name, []):
        op = node.op_type
        if op in ("Unsqueeze", "Reshape", "Identity") and k == 0 and depth < 4:
            return weight_role(node.output[0], cons, depth + 1)
        if op == "Conv":
            return ("conv_w" if k == 1 else "bias", node)
        if op == "Gemm":
            return ("gemm_w" if k == 1 else "bias" if k == 2 else "small", node)
        if op == "MatMul" and k == 1:
            return ("matmul_w", node)
        if op == "BatchNormalization":
            if k == 1 and any(c.op_type in ("Sum", "Add") for c, _ in cons.get(node.output[0], [])):
                return ("residual_scale", node)
            return ({1: "bn_scale", 2: "small", 3: "small", 4: "bn_var"}.get(k, "small"), node)
        if op == "Mul":
            return ("scale", node)
        if op in ("Add", "Sum", "Sub"):
            return ("small", node)
    return ("small", None)


def attr(node, name, default):
    import onnx

    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def random_weight(rng, shape, role, node):
    import numpy as np

    shape = tuple(int(d) for d in shape)
    if role in ("conv_w", "gemm_w", "matmul_w"):
        if role == "conv_w":
            fan_in = int(np.prod(shape[1:]))
        elif role == "gemm_w":
            fan_in = shape[1] if attr(node, "transB", 0) else shape[0]
        else:
            fan_in = shape[-2] if len(shape) >= 2 else shape[0]
        w = rng.standard_normal(shape) * np.sqrt(2.0 / max(fan_in, 1))
    elif role in ("bn_scale", "bn_var", "scale"):
        w = rng.uniform(0.5, 1.5, shape)
    elif role == "residual_scale":
        w = rng.uniform(0.1, 0.3, shape)
    else:
        w = rng.standard_normal(shape) * SMALL
    return w.astype(np.float32)


def randomize(model, rng):
    """Replace every float weight in place; returns {weight name: (role, node)}."""
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    cons = consumers_map(graph)
    inits = {i.name: i for i in graph.initializer}
    roles = {}
    new_nodes, new_inits = [], []
    for node in graph.node:
        shape_init = inits.get(node.input[0]) if node.op_type == "ConstantOfShape" and node.input else None
        value = attr(node, "value", None) if shape_init is not None else None
        if value is not None and value.data_type == onnx.TensorProto.FLOAT:
            name = node.output[0]
            roles[name] = weight_role(name, cons)
            w = random_weight(rng, numpy_helper.to_array(shape_init), *roles[name])
            new_inits.append(numpy_helper.from_array(w, name))
            continue  # the node becomes an initializer
        new_nodes.append(node)
    for init in graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT:
            roles[init.name] = weight_role(init.name, cons)
            w = random_weight(rng, init.dims, *roles[init.name])
            init.CopyFrom(numpy_helper.from_array(w, init.name))
    del graph.node[:]
    graph.node.extend(new_nodes)
    graph.initializer.extend(new_inits)
    drop_unused_initializers(graph)
    # IR v3 requires every initializer to be a graph input as well.
    if model.ir_version < 4:
        listed = {i.name for i in graph.input}
        for init in new_inits:
            if init.name not in listed:
                graph.input.append(onnx.helper.make_tensor_value_info(
                    init.name, init.data_type, list(init.dims)))
    return roles


def drop_unused_initializers(graph):
    used = {n for node in graph.node for n in node.input} | {o.name for o in graph.output}
    keep = [i for i in graph.initializer if i.name in used]
    dropped = {i.name for i in graph.initializer} - {i.name for i in keep}
    del graph.initializer[:]
    graph.initializer.extend(keep)
    inputs = [i for i in graph.input if i.name not in dropped]
    del graph.input[:]
    graph.input.extend(inputs)


def classifier(graph):
    """(logits name, the Conv/Gemm producing them) or None.

    The logits are the Softmax input, or the graph output when there is no
    Softmax (densenet121 ends with its classifier Conv)."""
    producers = {o: n for n in graph.node for o in n.output}
    soft = next((n for n in graph.node if n.op_type == "Softmax"), None)
    logits = soft.input[0] if soft is not None else graph.output[0].name
    node = producers.get(logits)
    while node is not None and node.op_type in HOMOGENEOUS:
        node = producers.get(node.input[0])
    if node is None or node.op_type not in ("Conv", "Gemm"):
        return None
    return logits, node


def ort_run(model, feeds, extra_outputs=()):
    import onnx
    import onnxruntime as ort

    m = onnx.ModelProto()
    m.CopyFrom(model)
    for name in extra_outputs:
        m.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def calibrate_logits(model, feeds):
    """Scale the classifier's weight and bias so the logits have std LOGIT_STD."""
    from onnx import numpy_helper

    found = classifier(model.graph)
    if found is None:
        return None
    logits_name, node = found
    extra = [] if logits_name in {o.name for o in model.graph.output} else [logits_name]
    outs = ort_run(model, feeds, extra)
    logits = outs[-1] if extra else outs[0]
    scale = LOGIT_STD / max(float(logits.std()), 1e-12)
    inits = {i.name: i for i in model.graph.initializer}
    for name in node.input[1:3]:
        if name in inits:
            arr = numpy_helper.to_array(inits[name]) * scale
            inits[name].CopyFrom(numpy_helper.from_array(arr.astype("float32"), name))
    return scale


def fmt(x):
    return "n/a" if x is None else f"{x:.3g}"


def load_pb_tensor(path):
    import onnx
    from onnx import numpy_helper

    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def io_entry(value_info, shape):
    return {"name": value_info.name, "dtype": value_info.type.tensor_type.elem_type,
            "shape": [int(d) for d in shape]}


def prepare(name, src_dir, out, rng):
    import numpy as np
    import onnx

    src = os.path.join(src_dir, f"light_{name}.onnx")
    model = onnx.load(src)
    shutil.copyfile(src, os.path.join(out, f"{name}.onnx"))
    (inp,) = real_inputs(model.graph)
    shape = static_shape(inp)
    n = int(np.prod(shape))
    x = (np.arange(n).reshape(shape) / n).astype(np.float32)
    np.save(os.path.join(out, f"{name}_input_0.npy"), x)
    expected = load_pb_tensor(os.path.join(src_dir, f"light_{name}_output_0.pb"))
    np.save(os.path.join(out, f"{name}_output_0.npy"), expected)

    roles = randomize(model, rng)
    xr = rng.standard_normal(shape).astype(np.float32)
    scale = calibrate_logits(model, {inp.name: xr})
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, f"{name}_rand.onnx"))
    np.save(os.path.join(out, f"{name}_rand_input_0.npy"), xr)
    (yr,) = ort_run(model, {inp.name: xr})
    np.save(os.path.join(out, f"{name}_rand_output_0.npy"), yr)

    top2 = np.sort(yr.reshape(-1))[-2:]
    out_vi = model.graph.output[0]
    return {
        "name": name,
        "model": f"{name}.onnx",
        "rand_model": f"{name}_rand.onnx",
        "input": io_entry(inp, shape),
        "output": io_entry(out_vi, expected.shape),
        "rand_output_shape": [int(d) for d in yr.shape],
        "num_weights": len(roles),
        "logit_scale": scale,
        # How clearly the top-1 class wins on the random model (prob gap).
        "rand_top1_margin": float(top2[1] - top2[0]),
        "rtol": 1e-3,
        "atol": 1e-5,
    }


def main():
    args = parse_args()
    if up_to_date(args.out):
        print(f"gen_light_models: {args.out} is up to date")
        return 0
    import numpy as np
    import onnx

    src_dir = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    parent = os.path.dirname(os.path.abspath(args.out)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".light-", dir=parent)
    try:
        entries = []
        for i, name in enumerate(MODELS):
            # One generator per model: regenerating one model never shifts another.
            rng = np.random.default_rng(SEED + i)
            entries.append(prepare(name, src_dir, tmp, rng))
            print(f"gen_light_models: {name}: logit scale {fmt(entries[-1]['logit_scale'])}, "
                  f"top-1 margin {fmt(entries[-1]['rand_top1_margin'])}")
        manifest = {"format": FORMAT, **versions(), "seed": SEED, "models": entries}
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        if os.path.exists(args.out):
            shutil.rmtree(args.out)
        os.rename(tmp, args.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"gen_light_models: wrote {len(entries)} models to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
