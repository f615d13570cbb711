#!/usr/bin/python3
"""Tiny ONNX files for the importer's symbolic-shape and control/logic-op tests (engine test resources).

Exports, in training mode (training=TrainingMode.TRAINING, do_constant_folding=False) with a symbolic batch:
  vit-tiny-op13.onnx, vit-tiny-op17.onnx  torchvision VisionTransformer, tiny widths (class token Expand)
  swin-tiny-op13.onnx                      torchvision SwinTransformer, one shifted-window stage pair (mask built
                                           with ConstantOfShape/ScatterND/Equal/Mod/Not/Range)
  swin2-tiny-op13.onnx                     the same with two stages: PatchMerging's x[..., 0::2, 1::2, :] slices
  logic-tiny-op13.onnx                     Greater, Less, Equal, Not, And, Or, Xor on computed tensors
and writes with onnx.helper
  paddle-slice-op9.onnx                    a paddle2onnx-style opset-9 Slice (starts/ends attributes) on Shape(x)
Each model's parameter count (sum(p.numel()) in PyTorch; for the hand-written file, its weights) goes to
params.json beside them, which the Java test reads.

Usage: /usr/bin/python3 tools/pytorch/export_shape_models.py [OUT_DIR]
(default engine/src/test/resources/onnx-shape)
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
import torchvision
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "engine", "src", "test", "resources", "onnx-shape")


def export(model, x, name, opset, input_name="x"):
    torch.manual_seed(0)
    path = os.path.join(OUT, name)
    torch.onnx.export(model, x, path, opset_version=opset, training=torch.onnx.TrainingMode.TRAINING,
                      do_constant_folding=False, input_names=[input_name], output_names=["y"],
                      dynamic_axes={input_name: {0: "batch"}, "y": {0: "batch"}})
    shorten(path)
    return sum(p.numel() for p in model.parameters())


def shorten(path):
    """Drops the exporter's source locations and renames intermediate tensors and nodes (t12, n12): most of a small
    file's bytes are its long scoped names; the graph is unchanged (weights, inputs and outputs keep their names)."""
    m = onnx.load(path)
    keep = {i.name for i in m.graph.initializer} | {i.name for i in m.graph.input} | {o.name for o in m.graph.output}
    names = {}
    for k, node in enumerate(m.graph.node):
        node.doc_string = ""
        node.name = "n%d" % k
        for o in node.output:
            if o and o not in keep:
                names[o] = "t%d" % len(names)
    for node in m.graph.node:
        for i, v in enumerate(node.input):
            if v in names:
                node.input[i] = names[v]
        for i, v in enumerate(node.output):
            if v in names:
                node.output[i] = names[v]
    del m.graph.value_info[:]
    onnx.checker.check_model(m)
    onnx.save(m, path)


def paddle_slice():
    """x [N, 6, 4] -> Reshape(x, Concat(Slice(Shape(x), starts=[0], ends=[1]), [24])) -> MatMul W [24, 3]."""
    w = numpy_helper.from_array(np.zeros((24, 3), np.float32), "fc.w")
    minus = numpy_helper.from_array(np.array([24], np.int64), "p2o.c24")
    nodes = [
        helper.make_node("Shape", ["x"], ["p2o.shape.0"], name="p2o.Shape.0"),
        helper.make_node("Slice", ["p2o.shape.0"], ["p2o.slice.0"], name="p2o.Slice.0", starts=[0], ends=[1],
                         axes=[0]),
        helper.make_node("Concat", ["p2o.slice.0", "p2o.c24"], ["p2o.concat.0"], name="p2o.Concat.0", axis=0),
        helper.make_node("Reshape", ["x", "p2o.concat.0"], ["p2o.reshape.0"], name="p2o.Reshape.0"),
        helper.make_node("MatMul", ["p2o.reshape.0", "fc.w"], ["y"], name="p2o.MatMul.0"),
    ]
    g = helper.make_graph(nodes, "paddle_slice", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                               ["-1", 6, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["-1", 3])], [w, minus])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)], producer_name="PaddlePaddle")
    m.ir_version = 4
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, "paddle-slice-op9.onnx"))
    return 24 * 3


class Logic(torch.nn.Module):
    """Masks from every comparison and logic op on computed tensors, applied with masked_fill."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(6, 6)

    def forward(self, x):
        h = self.fc(x)
        m = ((h > 0.5) & ~(h < -0.5)) | (h == x)
        m = m ^ (x > 0)
        return h.masked_fill(~m, 0.0)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    counts = {}
    vit = torchvision.models.vision_transformer.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10)
    for opset in (13, 17):
        counts["vit-tiny-op%d.onnx" % opset] = export(vit, torch.randn(2, 3, 32, 32), "vit-tiny-op%d.onnx" % opset,
                                                      opset)
    swin = torchvision.models.swin_transformer.SwinTransformer(
        patch_size=[4, 4], embed_dim=16, depths=[2], num_heads=[2], window_size=[4, 4], num_classes=10,
        stochastic_depth_prob=0.0)  # training-mode export has no Bernoulli
    counts["swin-tiny-op13.onnx"] = export(swin, torch.randn(2, 3, 32, 32), "swin-tiny-op13.onnx", 13)
    swin2 = torchvision.models.swin_transformer.SwinTransformer(
        patch_size=[4, 4], embed_dim=8, depths=[2, 2], num_heads=[2, 2], window_size=[4, 4], num_classes=10,
        stochastic_depth_prob=0.0)
    counts["swin2-tiny-op13.onnx"] = export(swin2, torch.randn(2, 3, 32, 32), "swin2-tiny-op13.onnx", 13)
    counts["logic-tiny-op13.onnx"] = export(Logic(), torch.randn(2, 6), "logic-tiny-op13.onnx", 13)
    counts["paddle-slice-op9.onnx"] = paddle_slice()
    with open(os.path.join(OUT, "params.json"), "w") as f:
        json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__, "params": counts}, f,
                  indent=1, sort_keys=True)
        f.write("\n")
    for k in sorted(counts):
        print("%-24s %8d params %7d bytes" % (k, counts[k], os.path.getsize(os.path.join(OUT, k))))


if __name__ == "__main__":
    main()
