"""CPU speed harness: PyTorch's training step time against MemPlan's CPU backend on the same model, batch, optimizer
(SGD, momentum 0.9, lr 0.01) and thread count, the two interleaved round by round so that load from other work hits
both alike. Prints a ratio table (MemPlan step / PyTorch step, median over rounds) with the load average.

Run from the repository root, after `mvn -q -B -o -DskipTests package` (it needs app/target/memplan.jar):
  /usr/bin/python3 tools/pytorch/cpu_speed.py [--models resnet18,tiny-mlp,tiny-cnn] [--batch 8] [--threads 2]
      [--rounds 3] [--warmup 2] [--warmup-seconds 2] [--iterations 5] [--json]
Each round runs `memplan bench cpu --model X --json --no-peak --gemm 0` (its steady-state median step) and then the
PyTorch twin in this process (torch.set_num_threads, the same warm-up and timed iterations, median).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.models as tvm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class TinyMlp(nn.Module):
    """MemPlan's tiny-mlp: fc1 (64->32) ReLU times Sigmoid(gate (64->32)), dropout 0.1, fc2 (32->10)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.gate, self.fc2 = nn.Linear(64, 32), nn.Linear(64, 32), nn.Linear(32, 10)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x)) * torch.sigmoid(self.gate(x))))


class TinyCnn(nn.Module):
    """MemPlan's tiny-cnn on 1x16x16: two conv3x3 (no bias) + BatchNorm + ReLU + MaxPool(2) blocks (8, 16 channels),
    AvgPool2d(2) flattened and global average pool concatenated, Linear to 10 classes."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.fc = nn.Linear(16 * 2 * 2 + 16, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(torch.cat([torch.flatten(F.avg_pool2d(x, 2), 1), torch.flatten(x.mean((2, 3)), 1)], 1))


def twin(name, batch):
    """(module, input, target) of the PyTorch twin of a MemPlan sample model."""
    if name == "resnet18":
        return tvm.resnet18(), torch.randn(batch, 3, 224, 224), torch.randint(0, 1000, (batch,))
    if name == "tiny-mlp":
        return TinyMlp(), torch.randn(batch, 64), torch.randint(0, 10, (batch,))
    if name == "tiny-cnn":
        return TinyCnn(), torch.randn(batch, 1, 16, 16), torch.randint(0, 10, (batch,))
    raise SystemExit("cpu_speed.py: no PyTorch twin for model '%s' (have resnet18, tiny-mlp, tiny-cnn)" % name)


def pytorch_steps(name, batch, warmup, iterations, warmup_seconds):
    """Seconds of each timed SGD training step of the twin (after at least `warmup` steps and `warmup_seconds`)."""
    model, x, y = twin(name, batch)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
        return time.perf_counter() - t0

    start, done = time.perf_counter(), 0
    while done < warmup or time.perf_counter() - start < warmup_seconds:
        step()
        done += 1
    return [step() for _ in range(iterations)]


def memplan_steps(jar, name, batch, threads, warmup, iterations, warmup_seconds):
    cmd = ["java", "-jar", jar, "bench", "cpu", "--model", name, "--batch", str(batch), "--threads", str(threads),
           "--warmup", str(warmup), "--warmup-seconds", str(warmup_seconds), "--iterations", str(iterations),
           "--optimizer", "sgd", "--no-peak",
           "--gemm", "0", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("memplan bench cpu failed: " + (r.stdout + r.stderr).strip().splitlines()[-1])
    out = json.loads(r.stdout)
    return out["models"][0]["seconds"], out["backend"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet18,tiny-mlp,tiny-cnn")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--warmup-seconds", type=float, default=2.0,
                    help="both sides also warm up this long (MemPlan's JIT needs it for sub-millisecond steps)")
    ap.add_argument("--jar", default=os.path.join(ROOT, "app", "target", "memplan.jar"))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rows, backend = [], None
    for name in a.models.split(","):
        ratios, mp_all, pt_all, loads = [], [], [], []
        for _ in range(a.rounds):
            loads.append(os.getloadavg()[0])
            mp, backend = memplan_steps(a.jar, name, a.batch, a.threads, a.warmup, a.iterations, a.warmup_seconds)
            pt = pytorch_steps(name, a.batch, a.warmup, a.iterations, a.warmup_seconds)
            mp_all.append(statistics.median(mp))
            pt_all.append(statistics.median(pt))
            ratios.append(mp_all[-1] / pt_all[-1])
        rows.append({"model": name, "batch": a.batch, "threads": a.threads, "memplanSeconds": statistics.median(mp_all),
                     "pytorchSeconds": statistics.median(pt_all), "ratio": statistics.median(ratios),
                     "ratios": ratios, "load": statistics.median(loads)})
    if a.json:
        print(json.dumps({"backend": backend, "torch": torch.__version__, "rows": rows}, indent=2))
        return
    print("MemPlan: %s; PyTorch %s; %d threads, SGD, median of %d rounds (interleaved)"
          % (backend, torch.__version__, a.threads, a.rounds))
    print("| model | batch | MemPlan step (s) | PyTorch step (s) | ratio | load average |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d | %.4f | %.4f | %.2fx | %.1f |" % (r["model"], r["batch"], r["memplanSeconds"],
                                                            r["pytorchSeconds"], r["ratio"], r["load"]))


if __name__ == "__main__":
    sys.exit(main())
