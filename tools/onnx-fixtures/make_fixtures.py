#!/usr/bin/env python3
"""Small ONNX files written the way other exporters write them, for MemPlan's import tests.

    /usr/bin/python3 tools/onnx-fixtures/make_fixtures.py [OUT]   # default engine/src/test/resources/onnx-exporters

No TensorFlow, Paddle or onnxruntime is needed (none is installed where this was written): each file is built node
by node with the onnx helper API, imitating what that exporter writes for a small network:

  tf2onnx-keras-op13.onnx  tf2onnx's export of a Keras CNN: NHWC input with an `unk__` batch symbol, Transpose to
                           NCHW around each Conv (explicit pads), tensor names like `model/conv2d/BiasAdd:0`, a
                           Keras BatchNormalization as BatchNormalization (inference form) and a second one folded
                           into Mul + Add, ReduceMean over H, W, Squeeze with axes (an input at opset 13), Reshape
                           with a constant -1, Dense as MatMul + Add, Softmax axis -1.
  paddle-op9.onnx          paddle2onnx at opset 9: `p2o.*` node names, a `p2o.DynamicDimension.0` batch, Slice and Pad
                           with attributes, Upsample with a scales input, a Shape -> Gather -> Unsqueeze -> Concat
                           reshape, Flatten, MatMul + Add.
  paddle-op10.onnx         the same network at opset 10: Slice with inputs, Resize-10 with a scales input.
  paddle-op11.onnx         at opset 11: Resize with roi and scales, Pad with a pads input, Clip with min/max inputs.
  ort-fused-op13.onnx      an onnxruntime-optimised file: com.microsoft FusedConv, FusedMatMul, BiasGelu and
                           SkipLayerNormalization nodes (what ORT's graph optimiser writes at level "extended").
  ort-attention-op13.onnx  com.microsoft Attention and QuickGelu, which MemPlan does not spell out.

params.json records, per file, the parameter count MemPlan should find: the sum of the sizes
(numpy_helper.to_array(t).size) of the initializers that are trainable in the exporting framework (weights, biases,
BatchNorm scale and offset, the folded BatchNorm's multiplier and addend; not running statistics, shapes or scalars).
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "engine", "src", "test", "resources", "onnx-exporters")
rng = np.random.default_rng(0)


class Graph:
    """Nodes, initializers and the names of the trainable ones."""

    def __init__(self):
        self.nodes, self.inits, self.trainable = [], [], []

    def weight(self, name, *shape):
        self.inits.append(numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.1, name))
        self.trainable.append(name)
        return name

    def buffer(self, name, values, dtype=np.float32):
        self.inits.append(numpy_helper.from_array(np.array(values, dtype), name))
        return name

    def node(self, op, ins, outs, name, domain=None, **attrs):
        n = helper.make_node(op, ins, outs if isinstance(outs, list) else [outs], name=name, **attrs)
        if domain:
            n.domain = domain
        self.nodes.append(n)
        return outs

    def params(self):
        by_name = {t.name: t for t in self.inits}
        return int(sum(numpy_helper.to_array(by_name[n]).size for n in self.trainable))

    def save(self, file, name, inputs, outputs, opset, extra_domains=(), producer=("", "")):
        g = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in extra_domains]
        m = helper.make_model(g, opset_imports=ops, producer_name=producer[0], producer_version=producer[1])
        m.ir_version = 7 if opset <= 13 else 8
        if not extra_domains:
            onnx.checker.check_model(m)
        onnx.save(m, os.path.join(OUT, file))
        return self.params()


def tf2onnx_keras():
    """Conv2D(8, 3, padding=same) + BN + ReLU, Conv2D(16, 3, strides 2) + folded BN + ReLU, GAP, Dense(10) softmax."""
    g = Graph()
    x = "input_1"
    t = g.node("Transpose", [x], "model/conv2d/Conv2D__6:0", "model/conv2d/Conv2D__6", perm=[0, 3, 1, 2])
    w1 = g.weight("model/conv2d/Conv2D/ReadVariableOp:0", 8, 3, 3, 3)
    b1 = g.weight("model/conv2d/BiasAdd/ReadVariableOp:0", 8)
    c1 = g.node("Conv", [t, w1, b1], "model/conv2d/BiasAdd:0", "model/conv2d/BiasAdd", dilations=[1, 1],
                group=1, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    sc = g.weight("model/batch_normalization/ReadVariableOp:0", 8)
    of = g.weight("model/batch_normalization/ReadVariableOp_1:0", 8)
    mu = g.buffer("model/batch_normalization/FusedBatchNormV3/ReadVariableOp:0", np.zeros(8))
    var = g.buffer("model/batch_normalization/FusedBatchNormV3/ReadVariableOp_1:0", np.ones(8))
    bn = g.node("BatchNormalization", [c1, sc, of, mu, var], "model/batch_normalization/FusedBatchNormV3:0",
                "model/batch_normalization/FusedBatchNormV3", epsilon=0.001, momentum=0.99)
    r1 = g.node("Relu", [bn], "model/re_lu/Relu:0", "model/re_lu/Relu")
    # tf2onnx's optimiser removes the back-and-forth transposes between two NCHW ops; a second Conv reads r1
    w2 = g.weight("model/conv2d_1/Conv2D/ReadVariableOp:0", 16, 8, 3, 3)
    b2 = g.weight("model/conv2d_1/BiasAdd/ReadVariableOp:0", 16)
    c2 = g.node("Conv", [r1, w2, b2], "model/conv2d_1/BiasAdd:0", "model/conv2d_1/BiasAdd", dilations=[1, 1],
                group=1, kernel_shape=[3, 3], pads=[0, 0, 1, 1], strides=[2, 2])
    back = g.node("Transpose", [c2], "model/conv2d_1/BiasAdd__20:0", "model/conv2d_1/BiasAdd__20",
                  perm=[0, 2, 3, 1])
    # a BatchNormalization folded by the exporter into x * scale + offset (NHWC: per channel on the last axis)
    mul = g.weight("model/batch_normalization_1/FusedBatchNormV3/mul:0", 16)
    add = g.weight("model/batch_normalization_1/FusedBatchNormV3/add:0", 16)
    m = g.node("Mul", [back, mul], "model/batch_normalization_1/FusedBatchNormV3/Mul:0",
               "model/batch_normalization_1/FusedBatchNormV3/Mul")
    a = g.node("Add", [m, add], "model/batch_normalization_1/FusedBatchNormV3:0",
               "model/batch_normalization_1/FusedBatchNormV3")
    r2 = g.node("Relu", [a], "model/re_lu_1/Relu:0", "model/re_lu_1/Relu")
    gap = g.node("ReduceMean", [r2], "model/global_average_pooling2d/Mean:0", "model/global_average_pooling2d/Mean",
                 axes=[1, 2], keepdims=1)
    axes = g.buffer("const_axes__30", [1, 2], np.int64)
    sq = g.node("Squeeze", [gap, axes], "model/global_average_pooling2d/Mean_Squeeze__31:0",
                "model/global_average_pooling2d/Mean_Squeeze__31")
    shp = g.buffer("new_shape__32", [-1, 16], np.int64)
    rs = g.node("Reshape", [sq, shp], "model/flatten/Reshape:0", "model/flatten/Reshape")
    wd = g.weight("model/dense/MatMul/ReadVariableOp:0", 16, 10)
    bd = g.weight("model/dense/BiasAdd/ReadVariableOp:0", 10)
    mm = g.node("MatMul", [rs, wd], "model/dense/MatMul:0", "model/dense/MatMul")
    ba = g.node("Add", [mm, bd], "model/dense/BiasAdd:0", "model/dense/BiasAdd")
    sm = g.node("Softmax", [ba], "dense", "model/dense/Softmax", axis=-1)
    return g.save("tf2onnx-keras-op13.onnx", "tf2onnx", [
        helper.make_tensor_value_info(x, TensorProto.FLOAT, ["unk__618", 32, 32, 3])],
        [helper.make_tensor_value_info(sm, TensorProto.FLOAT, ["unk__619", 10])], 13, producer=("tf2onnx", "1.9.3"))


def paddle(opset):
    """Conv + BN + ReLU, a crop (Slice), a Pad, a 2x upsample, a Shape-based reshape, a Linear."""
    g = Graph()
    x = "x"
    w = g.weight("conv2d_0.w_0", 8, 3, 3, 3)
    c = g.node("Conv", [x, w], "conv2d_1.tmp_0", "p2o.Conv.0", dilations=[1, 1], group=1, kernel_shape=[3, 3],
               pads=[1, 1, 1, 1], strides=[1, 1])
    sc, of = g.weight("batch_norm_0.w_0", 8), g.weight("batch_norm_0.b_0", 8)
    mu, var = g.buffer("batch_norm_0.w_1", np.zeros(8)), g.buffer("batch_norm_0.w_2", np.ones(8))
    bn = g.node("BatchNormalization", [c, sc, of, mu, var], "batch_norm_0.tmp_2", "p2o.BatchNormalization.0",
                epsilon=1e-5, momentum=0.9)
    r = g.node("Relu", [bn], "relu_0.tmp_0", "p2o.Relu.0")
    # crop H and W to 15 x 15 (x[:, :, 0:15, 0:15])
    if opset < 10:
        sl = g.node("Slice", [r], "slice_0.tmp_0", "p2o.Slice.0", axes=[2, 3], starts=[0, 0], ends=[15, 15])
    else:
        sl = g.node("Slice", [r, g.buffer("p2o.Slice.starts", [0, 0], np.int64),
                              g.buffer("p2o.Slice.ends", [15, 15], np.int64),
                              g.buffer("p2o.Slice.axes", [2, 3], np.int64)], "slice_0.tmp_0", "p2o.Slice.0")
    # pad back to 16 x 16 at the end of H and W
    pads = [0, 0, 0, 0, 0, 0, 1, 1]
    if opset < 11:
        pd = g.node("Pad", [sl], "pad2d_0.tmp_0", "p2o.Pad.0", mode="constant", pads=pads, value=0.0)
    else:
        pd = g.node("Pad", [sl, g.buffer("p2o.Pad.pads", pads, np.int64), g.buffer("p2o.Pad.value", 0.0)],
                    "pad2d_0.tmp_0", "p2o.Pad.0", mode="constant")
    mp = g.node("MaxPool", [pd], "pool2d_0.tmp_0", "p2o.MaxPool.0", kernel_shape=[2, 2], strides=[2, 2],
                pads=[0, 0, 0, 0])                                                                  # [N, 8, 8, 8]
    scales = g.buffer("p2o.Upsample.scales", [1.0, 1.0, 2.0, 2.0])
    if opset < 10:
        up = g.node("Upsample", [mp, scales], "nearest_interp_0.tmp_0", "p2o.Upsample.0", mode="nearest")
    elif opset < 11:
        up = g.node("Resize", [mp, scales], "nearest_interp_0.tmp_0", "p2o.Resize.0", mode="nearest")
    else:
        roi = g.buffer("p2o.Resize.roi", [], np.float32)
        up = g.node("Resize", [mp, roi, scales], "nearest_interp_0.tmp_0", "p2o.Resize.0", mode="nearest",
                    coordinate_transformation_mode="asymmetric", nearest_mode="floor")             # [N, 8, 16, 16]
    if opset >= 11:
        up = g.node("Clip", [up, g.buffer("p2o.Clip.min", 0.0), g.buffer("p2o.Clip.max", 6.0)], "relu6_0.tmp_0",
                    "p2o.Clip.0")
    # reshape to [N, 8, 256] from the input's batch: Shape -> Gather -> Unsqueeze -> Concat
    s = g.node("Shape", [up], "p2o.Shape.0.out", "p2o.Shape.0")
    n = g.node("Gather", [s, g.buffer("p2o.Gather.idx", 0, np.int64)], "p2o.Gather.0.out", "p2o.Gather.0", axis=0)
    if opset < 13:
        u = g.node("Unsqueeze", [n], "p2o.Unsqueeze.0.out", "p2o.Unsqueeze.0", axes=[0])
    cat = g.node("Concat", [u, g.buffer("p2o.Concat.rest", [8, 256], np.int64)], "p2o.Concat.0.out",
                 "p2o.Concat.0", axis=0)
    rs = g.node("Reshape", [up, cat], "reshape2_0.tmp_0", "p2o.Reshape.0")
    fl = g.node("Flatten", [rs], "flatten_0.tmp_0", "p2o.Flatten.0", axis=1)
    fw, fb = g.weight("linear_0.w_0", 2048, 2), g.weight("linear_0.b_0", 2)
    mm = g.node("MatMul", [fl, fw], "linear_0.tmp_0", "p2o.MatMul.0")
    y = g.node("Add", [mm, fb], "linear_0.tmp_1", "p2o.Add.0")
    return g.save("paddle-op%d.onnx" % opset, "paddle", [
        helper.make_tensor_value_info(x, TensorProto.FLOAT, ["p2o.DynamicDimension.0", 3, 16, 16])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["p2o.DynamicDimension.1", 2])], opset,
        producer=("PaddlePaddle", ""))


def ort_fused():
    """What onnxruntime's optimiser writes for Conv+ReLU, MatMul+Add+Gelu and Add+LayerNorm: com.microsoft ops."""
    g = Graph()
    x = "x"
    w = g.weight("conv.weight", 4, 3, 3, 3)
    b = g.weight("conv.bias", 4)
    c = g.node("FusedConv", [x, w, b], "conv_out", "Conv_0_FusedConv", domain="com.microsoft", activation="Relu",
               kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])                            # [N, 4, 8, 8]
    rs = g.node("Reshape", [c, g.buffer("shape", [0, 4, 64], np.int64)], "seq", "Reshape_1")      # [N, 4, 64]
    w1 = g.weight("fc1.weight", 64, 64)
    mm = g.node("FusedMatMul", [rs, w1], "fc1_out", "MatMul_2_FusedMatMul", domain="com.microsoft", alpha=1.0,
                transA=0, transB=0)
    bias = g.weight("fc1.bias", 64)
    ge = g.node("BiasGelu", [mm, bias], "gelu_out", "BiasGelu_3", domain="com.microsoft")
    gamma, beta = g.weight("ln.weight", 64), g.weight("ln.bias", 64)
    ln = g.node("SkipLayerNormalization", [ge, rs, gamma, beta], "ln_out", "SkipLayerNorm_4",
                domain="com.microsoft", epsilon=1e-5)
    return g.save("ort-fused-op13.onnx", "ort", [
        helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info(ln, TensorProto.FLOAT, ["batch", 4, 64])], 13,
        extra_domains=("com.microsoft",), producer=("onnxruntime", "1.16"))


def ort_attention():
    """ORT's fused self-attention and QuickGelu: com.microsoft nodes MemPlan does not spell out."""
    g = Graph()
    x = "x"
    w, b = g.weight("attn.qkv.weight", 16, 48), g.weight("attn.qkv.bias", 48)
    a = g.node("Attention", [x, w, b], "attn_out", "Attention_0", domain="com.microsoft", num_heads=2)
    q = g.node("QuickGelu", [a], "act_out", "QuickGelu_1", domain="com.microsoft", alpha=1.702)
    w2 = g.weight("proj.weight", 16, 16)
    y = g.node("MatMul", [q, w2], "y", "MatMul_2")
    return g.save("ort-attention-op13.onnx", "ort_attention", [
        helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", 4, 16])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["batch", 4, 16])], 13,
        extra_domains=("com.microsoft",), producer=("onnxruntime", "1.16"))


def main():
    os.makedirs(OUT, exist_ok=True)
    params = {
        "tf2onnx-keras-op13.onnx": tf2onnx_keras(),
        "paddle-op9.onnx": paddle(9),
        "paddle-op10.onnx": paddle(10),
        "paddle-op11.onnx": paddle(11),
        "ort-fused-op13.onnx": ort_fused(),
        "ort-attention-op13.onnx": ort_attention(),
    }
    with open(os.path.join(OUT, "params.json"), "w") as f:
        json.dump(params, f, indent=1, sort_keys=True)
        f.write("\n")
    for k, v in sorted(params.items()):
        print("%-26s %8d trainable parameters" % (k, v))


if __name__ == "__main__":
    main()
