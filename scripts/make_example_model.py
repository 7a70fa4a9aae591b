#!/usr/bin/env python3
"""Regenerates examples/tiny_cnn: a small image classifier with seeded random
weights (Conv-BN-Relu-MaxPool x2, Gemm, Softmax), its input and onnxruntime's
output. The files are committed so the demo needs nothing but Rust and cc."""
import os
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "tiny_cnn")
rng = np.random.default_rng(7)


def w(name, *shape, fan_in=None):
    fan_in = fan_in or int(np.prod(shape[1:]))
    return numpy_helper.from_array((rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32), name)


inits = [
    w("c1_w", 8, 1, 3, 3), w("c1_b", 8, fan_in=9),
    numpy_helper.from_array(rng.uniform(0.5, 1.5, 8).astype(np.float32), "bn1_s"),
    numpy_helper.from_array((rng.standard_normal(8) * 0.1).astype(np.float32), "bn1_b"),
    numpy_helper.from_array((rng.standard_normal(8) * 0.1).astype(np.float32), "bn1_m"),
    numpy_helper.from_array(rng.uniform(0.5, 1.5, 8).astype(np.float32), "bn1_v"),
    w("c2_w", 16, 8, 3, 3), w("c2_b", 16, fan_in=72),
    w("fc_w", 10, 16 * 7 * 7), w("fc_b", 10, fan_in=784),
    numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "flat_shape"),
]
nodes = [
    helper.make_node("Conv", ["image", "c1_w", "c1_b"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
    helper.make_node("BatchNormalization", ["c1", "bn1_s", "bn1_b", "bn1_m", "bn1_v"], ["bn1"], name="bn1"),
    helper.make_node("Relu", ["bn1"], ["r1"], name="relu1"),
    helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], name="pool1"),
    helper.make_node("Conv", ["p1", "c2_w", "c2_b"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
    helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
    helper.make_node("MaxPool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2], name="pool2"),
    helper.make_node("Reshape", ["p2", "flat_shape"], ["flat"], name="flatten"),
    helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1, name="fc"),
    helper.make_node("Softmax", ["logits"], ["probs"], axis=1, name="softmax"),
]
graph = helper.make_graph(
    nodes, "tiny_cnn",
    [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 28, 28])],
    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])],
    inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnxc-example")
model.ir_version = 8
onnx.checker.check_model(model)
os.makedirs(here, exist_ok=True)
onnx.save(model, os.path.join(here, "tiny_cnn.onnx"))

x = np.zeros((1, 1, 28, 28), np.float32)
x[0, 0, 6:22, 12:16] = 1.0  # a crude "1"
x += rng.uniform(0, 0.1, x.shape).astype(np.float32)
np.save(os.path.join(here, "input.npy"), x)
x.astype("<f4").tofile(os.path.join(here, "input.bin"))
try:
    import onnxruntime as ort
    y = ort.InferenceSession(os.path.join(here, "tiny_cnn.onnx")).run(None, {"image": x})[0]
    np.save(os.path.join(here, "expected_probs.npy"), y)
    print("onnxruntime probs:", np.round(y, 4))
except ImportError:
    print("onnxruntime not installed: expected output not written")
