#!/usr/bin/env python3
"""PyTorch reference for MemPlan's GPU results: the same networks as MemPlan's zoo (resnet50, vgg16, bert-base,
gpt2-small, built as MemPlan's sample-models builders describe them), trained with Adam in fp32, under three
memory regimes PyTorch users reach for:

  eager       plain autograd (what MemPlan's "baseline" plan models)
  checkpoint  torch.utils.checkpoint (non-reentrant) on every block
  save_on_cpu torch.autograd.graph.save_on_cpu(pin_memory=True): every saved tensor goes to pinned host memory

For each it prints torch.cuda.max_memory_allocated over the iterations after the first (optimizer state exists)
and the mean iteration time, as JSON. TF32 is off (MemPlan's kernels are plain fp32).

  python3 cuda-backend/pytorch_baseline.py [--models resnet50,vgg16,bert-base,gpt2-small]
                                           [--modes eager,checkpoint,save_on_cpu] [--iterations 3]
                                           [--time-budget 150] [--json out.json]
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

ZOO = {  # model: (batch, extra dims), as in gpu-check.sh
    "resnet50": (64, {}),
    "vgg16": (64, {}),
    "bert-base": (32, {"T": 128}),
    "gpt2-small": (8, {"T": 1024}),
}


# ---------------------------------------------------------------- models

class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        idt = x if self.down is None else self.down(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + idt)


class ResNet50(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], 64
        for width, n, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            for i in range(n):
                blocks.append(Bottleneck(cin, width, stride if i == 0 else 1))
                cin = width * 4
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(2048, 1000)

    def forward(self, x, ckpt):
        x = self.stem(x)
        for b in self.blocks:
            x = checkpoint(b, x, use_reentrant=False) if ckpt else b(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class VGG16(nn.Module):
    CFG = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0]

    def __init__(self):
        super().__init__()
        blocks, cin = [], 3
        for c in self.CFG:
            if c == 0:
                blocks.append(nn.MaxPool2d(2, 2))
            else:
                blocks.append(nn.Sequential(nn.Conv2d(cin, c, 3, 1, 1), nn.ReLU(inplace=True)))
                cin = c
        self.features = nn.ModuleList(blocks)
        self.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(0.5),
                                        nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(0.5), nn.Linear(4096, 1000))

    def forward(self, x, ckpt):
        for b in self.features:
            x = checkpoint(b, x, use_reentrant=False) if ckpt and isinstance(b, nn.Sequential) else b(x)
        return self.classifier(torch.flatten(x, 1))


class Attn(nn.Module):
    def __init__(self, width, heads, causal):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(width, width), nn.Linear(width, width), nn.Linear(width, width)
        self.heads, self.causal = heads, causal

    def forward(self, x):
        n, t, d = x.shape
        split = lambda y: y.view(n, t, self.heads, d // self.heads).transpose(1, 2)
        y = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)), is_causal=self.causal)
        return y.transpose(1, 2).reshape(n, t, d)


class BertLayer(nn.Module):
    def __init__(self, width=768, heads=12, ffn=3072, p=0.1):
        super().__init__()
        self.attn = Attn(width, heads, False)
        self.out = nn.Linear(width, width)
        self.ln1 = nn.LayerNorm(width, eps=1e-12)
        self.fc1, self.fc2 = nn.Linear(width, ffn), nn.Linear(ffn, width)
        self.ln2 = nn.LayerNorm(width, eps=1e-12)
        self.drop = nn.Dropout(p)

    def forward(self, x):
        a = self.ln1(x + self.drop(self.out(self.attn(x))))
        return self.ln2(a + self.drop(self.fc2(F.gelu(self.fc1(a), approximate="tanh"))))


class Bert(nn.Module):
    def __init__(self):
        super().__init__()
        self.word, self.pos, self.type = nn.Embedding(30522, 768), nn.Embedding(512, 768), nn.Embedding(2, 768)
        self.ln = nn.LayerNorm(768, eps=1e-12)
        self.drop = nn.Dropout(0.1)
        self.layers = nn.ModuleList(BertLayer() for _ in range(12))
        self.pool = nn.Linear(768, 768)

    def forward(self, ids, pos, types, ckpt):
        x = self.drop(self.ln(self.word(ids) + self.pos(pos) + self.type(types)))
        for l in self.layers:
            x = checkpoint(l, x, use_reentrant=False) if ckpt else l(x)
        return torch.tanh(self.pool(x[:, 0]))


class Gpt2Block(nn.Module):
    def __init__(self, width=768, heads=12):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = Attn(width, heads, True)
        self.proj = nn.Linear(width, width)
        self.fc, self.fc_proj = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, x):
        x = x + self.proj(self.attn(self.ln1(x)))
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(50257, 768), nn.Embedding(1024, 768)
        self.blocks = nn.ModuleList(Gpt2Block() for _ in range(12))
        self.ln_f = nn.LayerNorm(768)

    def forward(self, tokens, positions, ckpt):
        x = self.wte(tokens) + self.wpe(positions)
        for b in self.blocks:
            x = checkpoint(b, x, use_reentrant=False) if ckpt else b(x)
        return F.linear(self.ln_f(x), self.wte.weight)   # lm_head tied to wte


def build(name, batch, dims, dev):
    """Returns (model, step) where step(ckpt) computes the loss of one fixed synthetic batch."""
    g = torch.Generator(device="cpu").manual_seed(0)
    if name == "resnet50" or name == "vgg16":
        model = (ResNet50() if name == "resnet50" else VGG16()).to(dev)
        x = torch.randn(batch, 3, 224, 224, generator=g).to(dev)
        y = torch.randint(0, 1000, (batch,), generator=g).to(dev)
        return model, lambda ckpt: F.cross_entropy(model(x, ckpt), y)
    if name == "bert-base":
        t = dims.get("T", 128)
        model = Bert().to(dev)
        ids = torch.randint(0, 30522, (batch, t), generator=g).to(dev)
        pos = torch.arange(t).expand(batch, t).contiguous().to(dev)
        types = torch.zeros(batch, t, dtype=torch.long).to(dev)
        target = torch.randn(batch, 768, generator=g).to(dev)
        return model, lambda ckpt: F.mse_loss(model(ids, pos, types, ckpt), target)
    if name == "gpt2-small":
        t = dims.get("T", 1024)
        model = Gpt2().to(dev)
        tokens = torch.randint(0, 50257, (batch, t), generator=g).to(dev)
        pos = torch.arange(t).expand(batch, t).contiguous().to(dev)
        target = torch.randint(0, 50257, (batch, t), generator=g).to(dev)
        return model, lambda ckpt: F.cross_entropy(model(tokens, pos, ckpt).reshape(-1, 50257), target.reshape(-1))
    raise ValueError("unknown model " + name)


def measure(name, mode, batch, dims, iterations):
    dev = torch.device("cuda")
    torch.manual_seed(0)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    model, step = build(name, batch, dims, dev)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    times = []
    for i in range(iterations):
        if i == 1:
            torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        if mode == "save_on_cpu":
            with torch.autograd.graph.save_on_cpu(pin_memory=True):
                loss = step(False)
        else:
            loss = step(mode == "checkpoint")
        loss.backward()
        opt.step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    later = times[1:] if len(times) > 1 else times
    return {"model": name, "batch": batch, "dims": dims, "mode": mode,
            "max_memory_allocated": torch.cuda.max_memory_allocated(),
            "iteration_seconds": sum(later) / len(later), "first_iteration_seconds": times[0],
            "loss": float(loss.detach()), "iterations": iterations}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(ZOO))
    ap.add_argument("--modes", default="eager,checkpoint,save_on_cpu")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--time-budget", type=float, default=150.0, help="seconds; later configurations are skipped")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({"error": "no CUDA device visible to PyTorch"}))
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    start = time.time()
    device = torch.cuda.get_device_name(0)
    results = []
    for name in a.models.split(","):
        batch, dims = ZOO[name]
        for mode in a.modes.split(","):
            if time.time() - start > a.time_budget:
                results.append({"model": name, "batch": batch, "mode": mode, "skipped": "time budget"})
                continue
            try:
                r = measure(name, mode, batch, dims, a.iterations)
            except torch.cuda.OutOfMemoryError as e:
                r = {"model": name, "batch": batch, "mode": mode, "error": "out of memory: " + str(e).split("\n")[0]}
            except Exception as e:  # keep going: one failure must not hide the rest
                r = {"model": name, "batch": batch, "mode": mode, "error": f"{type(e).__name__}: {e}"}
            r["device"] = device
            r["torch"] = torch.__version__
            results.append(r)
            print(json.dumps(r), flush=True)
            torch.cuda.empty_cache()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
