#!/usr/bin/env python3
"""A tiny detection head with torchvision.ops.nms, exported by PyTorch 1.13 at opset 11 (eval mode: NMS has no
training export), for MemPlan's data-dependent-size tests:

    /usr/bin/python3 tools/pytorch/export_detection.py [OUT]   # default engine/src/test/resources/onnx-exporters

writes nms-head-op11.onnx (a Conv feature map, per-pixel boxes and scores of every image flattened together, NMS,
the kept boxes gathered) and nms-head-params.json with sum(p.numel()).
"""
import json
import os
import sys

import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "engine", "src", "test", "resources", "onnx-exporters")


class NmsHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.box = torch.nn.Conv2d(8, 4, 1)
        self.score = torch.nn.Conv2d(8, 1, 1)

    def forward(self, x):
        f = torch.relu(self.conv(x))
        boxes = self.box(f).permute(0, 2, 3, 1).reshape(-1, 4)     # [N*H*W, 4]
        scores = self.score(f).reshape(-1)                         # [N*H*W]
        keep = torchvision.ops.nms(boxes, scores, 0.5)
        return boxes[keep]


def main():
    torch.manual_seed(0)
    m = NmsHead().eval()
    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(m, torch.randn(2, 3, 8, 8), os.path.join(OUT, "nms-head-op11.onnx"), opset_version=11,
                      input_names=["images"], output_names=["kept"], dynamic_axes={"images": {0: "N"}})
    with open(os.path.join(OUT, "nms-head-params.json"), "w") as f:
        json.dump({"nms-head-op11.onnx": sum(p.numel() for p in m.parameters())}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
