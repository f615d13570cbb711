#!/usr/bin/python3
"""Peak of one training iteration of the tiny ViT and Swin of export_shape_models.py in PyTorch (memmeasure.py, CPU,
batch 16, SGD with momentum, cross-entropy) against `memplan profile --framework pytorch-cpu` on the committed ONNX
files. Prints one line per model: both peaks in bytes and their ratio.

Usage: /usr/bin/python3 tools/pytorch/shape_fidelity.py [JAR] (default app/target/memplan.jar; build it first with
mvn -q -B -o -pl app -am package -DskipTests)
"""
import json
import os
import subprocess
import sys

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import memmeasure  # noqa: E402

ROOT = os.path.join(HERE, "..", "..")
FILES = os.path.join(ROOT, "engine", "src", "test", "resources", "onnx-shape")
BATCH = 16


def models():
    torch.manual_seed(0)
    yield "vit-tiny-op17.onnx", torchvision.models.vision_transformer.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10)
    yield "swin-tiny-op13.onnx", torchvision.models.swin_transformer.SwinTransformer(
        patch_size=[4, 4], embed_dim=16, depths=[2], num_heads=[2], window_size=[4, 4], num_classes=10,
        stochastic_depth_prob=0.0)


def main():
    jar = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "app", "target", "memplan.jar")
    for name, model in models():
        x, y = torch.randn(BATCH, 3, 32, 32), torch.randint(0, 10, (BATCH,))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        pt = memmeasure.measure(model, opt, torch.nn.CrossEntropyLoss(), x, y)["peakBytes"]
        r = subprocess.run(["java", "-jar", jar, "profile", os.path.join(FILES, name), "--batch", str(BATCH),
                            "--optimizer", "sgd", "--optimizer-form", "single-tensor", "--framework", "pytorch-cpu",
                            "--loss", "ce", "--json"], capture_output=True, text=True)
        if r.returncode != 0:
            print(name, "memplan failed:", (r.stdout + r.stderr).strip().splitlines()[-1])
            continue
        mp = json.loads(r.stdout)["peakBytes"]
        print("%-22s pytorch %9d  memplan %9d  ratio %.3f" % (name, pt, mp, mp / pt))


if __name__ == "__main__":
    main()
