#!/usr/bin/python3
"""Tiny ONNX files for the importer's spatial and movement ops (engine test resources onnx-spatial/).

Exports with PyTorch 1.13 in training mode (training=TrainingMode.TRAINING, do_constant_folding=False), batch
symbolic:
  convtranspose3d-op13.onnx, -op17.onnx  nn.ConvTranspose3d (stride, padding, output_padding) -> ReLU ->
                                          nn.ConvTranspose3d (groups 2, no bias, anisotropic kernel and stride)
  resize-<case>-op13.onnx                 a 1x1 conv, then F.interpolate: bilinear, bicubic, nearest (scale 1.5 or
                                          sizes; align_corners both), linear 1-D, trilinear 3-D, nearest x2
  flip-op13.onnx                          a 1x1 conv, then torch.flip over axes 1 and 3, then x.flip(-1)
and writes with onnx.helper
  pad-wrap-op19.onnx                      Pad mode wrap (opset 19), then a 1x1 Conv
  slice-negative-op13.onnx                Slice with step -1 on a sub-range and step -2 over a whole axis, then Conv
manifest.json beside them records each file's parameter count (sum(p.numel()) for the exports; the weights of the
hand-written files) and, for each resize case, an input z of F.interpolate and PyTorch's output y (flat, row-major),
which the Java tests compare the CPU kernel against.

Usage: /usr/bin/python3 tools/pytorch/export_spatial_ops.py [OUT_DIR]
(default engine/src/test/resources/onnx-spatial)
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "engine", "src", "test", "resources", "onnx-spatial")


def export(model, x, name, opset):
    path = os.path.join(OUT, name)
    torch.onnx.export(model, x, path, opset_version=opset, training=torch.onnx.TrainingMode.TRAINING,
                      do_constant_folding=False, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    m = onnx.load(path)
    for k, node in enumerate(m.graph.node):  # short names: the scoped ones are most of a small file's bytes
        node.doc_string = ""
        node.name = "n%d" % k
    onnx.save(m, path)
    return sum(p.numel() for p in model.parameters())


class Interp(torch.nn.Module):
    def __init__(self, conv, **kw):
        super().__init__()
        self.conv = conv
        self.kw = kw

    def forward(self, x):
        return F.interpolate(self.conv(x), **self.kw)


class Flips(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 3, 1)

    def forward(self, x):
        return torch.flip(self.conv(x), [1, 3]).flip(-1) * 2


RESIZE = {
    "bilinear-s1.5": dict(scale_factor=1.5, mode="bilinear", align_corners=False),
    "bilinear-s1.5-ac": dict(scale_factor=1.5, mode="bilinear", align_corners=True),
    "bilinear-s2": dict(scale_factor=2, mode="bilinear", align_corners=False),
    "bicubic-7x9": dict(size=(7, 9), mode="bicubic", align_corners=False),
    "bicubic-7x9-ac": dict(size=(7, 9), mode="bicubic", align_corners=True),
    "nearest-s1.5": dict(scale_factor=1.5, mode="nearest"),
    "nearest-7x5": dict(size=(7, 5), mode="nearest"),
    "nearest-s2": dict(scale_factor=2, mode="nearest"),
    "linear1d-s2.5": dict(scale_factor=2.5, mode="linear", align_corners=False),
    "trilinear-3x5x4": dict(size=(3, 5, 4), mode="trilinear", align_corners=False),
}


def resize_cases(manifest):
    for case, kw in RESIZE.items():
        torch.manual_seed(0)
        if case.startswith("linear1d"):
            conv, shape = torch.nn.Conv1d(2, 2, 1), (2, 2, 5)
        elif case.startswith("trilinear"):
            conv, shape = torch.nn.Conv3d(2, 2, 1), (2, 2, 2, 3, 2)
        else:
            conv, shape = torch.nn.Conv2d(2, 2, 1), (2, 2, 5, 6)
        model = Interp(conv, **kw)
        name = "resize-%s-op13.onnx" % case
        manifest["params"][name] = export(model, torch.randn(*shape), name, 13)
        z = torch.randn(1, *shape[1:])
        y = F.interpolate(z, **kw)
        manifest["values"][name] = {"z_shape": list(z.shape), "z": [round(float(v), 7) for v in z.flatten()],
                                    "y_shape": list(y.shape), "y": [round(float(v), 7) for v in y.flatten()]}


def write(graph, name, opset):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="export_spatial_ops")
    m.ir_version = 8
    onnx.save(m, os.path.join(OUT, name))


def pad_wrap():
    w = numpy_helper.from_array(np.zeros((3, 2, 1, 1), np.float32), "w")
    pads = numpy_helper.from_array(np.array([0, 0, 1, 2, 0, 0, 1, 0], np.int64), "pads")
    g = helper.make_graph(
        [helper.make_node("Pad", ["x", "pads"], ["p"], mode="wrap", name="pad"),
         helper.make_node("Conv", ["p", "w"], ["y"], name="conv")],
        "pad_wrap", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 5, 6])], [w, pads])
    write(g, "pad-wrap-op19.onnx", 19)
    return 6


def slice_negative():
    w = numpy_helper.from_array(np.zeros((3, 2, 1, 1), np.float32), "w")
    c = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in
         [("starts", [2, -1]), ("ends", [0, -2 ** 63]), ("axes", [2, 3]), ("steps", [-1, -2])]]
    g = helper.make_graph(
        [helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["s"], name="slice"),
         helper.make_node("Conv", ["s", "w"], ["y"], name="conv")],
        "slice_negative", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 4, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 2, 3])], [w] + c)
    write(g, "slice-negative-op13.onnx", 13)
    return 6


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {"params": {}, "values": {}, "torch": torch.__version__, "onnx": onnx.__version__}
    torch.manual_seed(0)
    ct = torch.nn.Sequential(
        torch.nn.ConvTranspose3d(3, 4, 3, stride=2, padding=1, output_padding=1), torch.nn.ReLU(),
        torch.nn.ConvTranspose3d(4, 2, (2, 3, 1), stride=(1, 2, 1), groups=2, bias=False))
    for opset in (13, 17):
        name = "convtranspose3d-op%d.onnx" % opset
        manifest["params"][name] = export(ct, torch.randn(2, 3, 2, 3, 4), name, opset)
    resize_cases(manifest)
    torch.manual_seed(0)
    manifest["params"]["flip-op13.onnx"] = export(Flips(), torch.randn(2, 2, 4, 5), "flip-op13.onnx", 13)
    manifest["params"]["pad-wrap-op19.onnx"] = pad_wrap()
    manifest["params"]["slice-negative-op13.onnx"] = slice_negative()
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
