"""Per-rank memory of data-parallel training: DDP and ZeroRedundancyOptimizer (ZeRO-1) measured in each process.

For every case (model, world size, mode) it starts `world size` processes with torch.multiprocessing on loopback
(gloo, one thread each), and in each process measures one training iteration after two warm-up iterations (DDP
rebuilds its gradient buckets at the second) with memmeasure.py's method: bytes live at the start of the measured
iteration + the highest running sum of the profiler's allocation events during it, per phase. Because DDP's buckets
are not reachable from Python, the start is the tensors Python sees (parameters, buffers, this rank's optimizer
state, data, labels; by storage) plus the bucket sizes DDP reports (_get_ddp_logging_data). The profiler runs from
before the model is built, so the running sum of every allocation event up to the measured iteration is recorded
too, as a cross-check of that start.

It writes
  engine/src/test/resources/fidelity/distributed-cpu.json   the measured per-rank figures (DistributedFidelityTest
                                                            checks MemPlan's per-rank prediction against them)
  docs/distributed.md                                       the table between its "distributed.py" markers
Run from the repository root after `mvn -q -B -o -DskipTests package` (MemPlan's side runs app/target/memplan.jar;
the ONNX graphs of the models come from fidelity.py's run, batch 2):
  nice /usr/bin/python3 tools/pytorch/distributed.py [--models resnet18] [--world-sizes 2,4] [--modes ddp,zero1]
  nice /usr/bin/python3 tools/pytorch/distributed.py --repredict     # after an engine change: MemPlan only
"""
import argparse
import datetime
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import unittest

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from torch.distributed.optim import ZeroRedundancyOptimizer
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.profiler import ProfilerActivity, profile, record_function

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import memmeasure  # noqa: E402
import zoo  # noqa: E402
from plan_module import Planned, load_module  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
RES = os.path.join(ROOT, "engine", "src", "test", "resources", "fidelity")
PHASES = memmeasure.PHASES
MEASURED = "measured-iteration"


def hand_mlp(batch):
    """The hand-count model of test_memmeasure.py: Linear(256, 512) -> ReLU -> Linear(512, 128), batch 16."""
    torch.manual_seed(0)
    return (nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 128)), torch.randn(batch, 256),
            torch.randint(0, 128, (batch,)))


MODELS = dict(zoo.MODELS, **{"hand-mlp": hand_mlp})


def adam(params):
    return torch.optim.Adam(params, lr=1e-3)


def make_optimizer(mode, params):
    if mode == "ddp":
        return adam(params)
    if mode == "zero1":
        return ZeroRedundancyOptimizer(params, optimizer_class=torch.optim.Adam, lr=1e-3)
    raise ValueError(mode)


def loss_of(name):
    return nn.CrossEntropyLoss()


def iteration(model, opt, loss_fn, x, y, phases):
    with record_function(MEASURED) if phases else memmeasure._Null():
        memmeasure._iteration(model, opt, loss_fn, x, y, True, phases)


def worker(rank, world, port, name, batch, mode, out_dir, generated=None):
    """One rank. With `generated` (a list of the generated modules' paths, one per rank): the rank's plan is
    installed with apply(model) and the model wrapped by the module's wrap(), instead of DDP and the optimizer here."""
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            model, x, y = MODELS[name](batch)   # seed 0: the same weights and batch on every rank
            model.train()
            if generated:
                gen = load_module(generated[rank])
                handle = gen.apply(model)
                ddp, opt = gen.wrap(model, torch.optim.Adam, lr=1e-3)
                run = Planned(ddp, handle)
            else:
                ddp = DDP(model)
                opt = make_optimizer(mode, ddp.parameters())
                run = ddp
            loss_fn = loss_of(name)
            for _ in range(2):
                iteration(run, opt, loss_fn, x, y, False)
            visible = memmeasure.live_bytes(memmeasure._state_tensors(model, _local(opt), (x, y)))
            torch.manual_seed(0)
            iteration(run, opt, loss_fn, x, y, True)
        logging = ddp._get_ddp_logging_data()
        buckets = [int(s) for s in str(logging.get("rebuilt_bucket_sizes", "")).split(",") if s]
        result = peaks(prof, visible + sum(buckets))
        result["visibleStartBytes"] = visible
        result["ddpBucketSizes"] = buckets
        result["parameterBytes"] = sum(p.numel() * p.element_size() for p in model.parameters())
        if mode == "zero1":
            result["ownedParameterBytes"] = sum(p.numel() * p.element_size()
                                                for g in opt.optim.param_groups for p in g["params"])
        result["rank"] = rank
        with open(os.path.join(out_dir, "rank%d.json" % rank), "w") as f:
            json.dump(result, f)
    finally:
        dist.destroy_process_group()


def _local(opt):
    return opt.optim if isinstance(opt, ZeroRedundancyOptimizer) else opt


def peaks(prof, start_bytes):
    """Peak = bytes live at the start of the measured iteration + the highest running sum of the allocation events
    during it; per phase the highest point while the phase's record_function range runs. The running sum of all
    events before the iteration is kept as profilerStartBytes, a cross-check of the start: it can exceed the start
    when a buffer made on the main thread (DDP's broadcast of the module states at construction) is freed on gloo's
    thread, which the profiler does not record."""
    events = prof.profiler.kineto_results.events()
    ranges = {}
    for e in events:
        if e.name() in PHASES + (MEASURED,) and e.name() not in ranges:
            ranges[e.name()] = (e.start_us(), e.start_us() + e.duration_us())
    missing = [p for p in PHASES + (MEASURED,) if p not in ranges]
    if missing:
        raise RuntimeError("profiler lost the record_function ranges " + ", ".join(missing))
    a0, b0 = ranges[MEASURED]
    mem = sorted((e.start_us(), i, e.nbytes()) for i, e in enumerate(events)
                 if e.name() == "[memory]" and e.nbytes() != 0)
    run = 0
    start = None
    best = None
    phase = {p: None for p in PHASES}
    for ts, _, delta in mem:
        if ts < a0:
            run += delta
            continue
        if start is None:
            start = run
            best = run
            phase = {p: run for p in PHASES}
        if ts > b0:
            break
        run += delta
        best = max(best, run)
        for p in PHASES:
            a, b = ranges[p]
            if a <= ts <= b:
                phase[p] = max(phase[p], run)
    if start is None:
        start = best = run
        phase = {p: run for p in PHASES}
    shift = start_bytes - start
    return {"startBytes": start_bytes, "peakBytes": best + shift, "endBytes": run + shift,
            "profilerStartBytes": start,
            "phasePeakBytes": {p: phase[p] + shift for p in ("forward", "backward", "optimizer")}}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_case(name, batch, world, mode):
    with tempfile.TemporaryDirectory() as d:
        mp.spawn(worker, args=(world, free_port(), name, batch, mode, d), nprocs=world, join=True)
        ranks = []
        for r in range(world):
            with open(os.path.join(d, "rank%d.json" % r)) as f:
                ranks.append(json.load(f))
    return {"model": name, "batch": batch, "worldSize": world, "mode": mode, "optimizer": "adam",
            "onnx": "models/%s-b%d.onnx" % (name, batch), "ranks": ranks}


def memplan(jar, row):
    """`memplan simulate --world-size W --shard MODE --json` on the model's ONNX graph (a zero file stands in for the
    weights, as in fidelity.py); --batch is the global batch. Returns per-rank peaks, or an error."""
    single = {r["onnx"]: r for r in json.load(open(os.path.join(RES, "pytorch-cpu.json")))["rows"]}[row["onnx"]]
    with tempfile.TemporaryDirectory() as d:
        m = os.path.join(d, os.path.basename(row["onnx"]))
        with open(os.path.join(RES, row["onnx"]), "rb") as f, open(m, "wb") as g:
            g.write(f.read())
        with open(m + ".data", "wb") as g:
            g.truncate(single["externalDataBytes"])
        cmd = ["java", "-jar", jar, "simulate", m, "--batch", str(row["batch"] * row["worldSize"]), "--optimizer",
               row["optimizer"], "--framework", "pytorch-cpu", "--loss", "ce", "--world-size", str(row["worldSize"]),
               "--shard", "none" if row["mode"] == "ddp" else row["mode"], "--json"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            return {"error": (r.stdout + r.stderr).strip().splitlines()[-1].replace(d + os.sep, "")}
        ranks = json.loads(r.stdout)["layout"]["ranks"]
        return {"ranks": [{"rank": x["rank"], "peakBytes": x["peakBytes"], "phasePeakBytes": x["phasePeakBytes"]}
                          for x in ranks]}


def predicted(row, rank):
    ranks = row["memplanAtGeneration"]["ranks"]
    return ranks[0] if len(ranks) == 1 else ranks[rank]


def write_docs(data, path):
    start, end = "<!-- distributed.py: table -->", "<!-- distributed.py: end -->"
    out = [start, "", "Generated by `tools/pytorch/distributed.py` (PyTorch %s, gloo on loopback, one thread per rank, "
           "%s); rows made by:" % (data["torch"], data["date"]), "", "```"] + data["commands"] + ["```", "",
           "| model | world size | mode | rank | PyTorch peak MiB | MemPlan peak MiB | peak | forward | backward | "
           "optimizer |", "|---|---|---|---|---|---|---|---|---|---|"]
    worst = 0.0
    for row in data["rows"]:
        for r in row["ranks"]:
            if "memplanAtGeneration" not in row or "error" in row["memplanAtGeneration"]:
                out.append("| %s | %d | %s | %d | %.1f | - | - | - | - | - |" % (
                    row["model"], row["worldSize"], row["mode"], r["rank"], r["peakBytes"] / 2 ** 20))
                continue
            m = predicted(row, r["rank"])
            ratios = [m["peakBytes"] / r["peakBytes"]] + [m["phasePeakBytes"][k] / r["phasePeakBytes"][k]
                                                          for k in ("forward", "backward", "optimizer")]
            worst = max(worst, *(abs(x - 1) for x in ratios))
            out.append("| %s | %d | %s | %d | %.1f | %.1f | %.4f | %.4f | %.4f | %.4f |" % (
                row["model"], row["worldSize"], row["mode"], r["rank"], r["peakBytes"] / 2 ** 20,
                m["peakBytes"] / 2 ** 20, *ratios))
    out += ["", "Worst ratio of all rows: %.4f off 1 (the target: within 0.03)." % worst, "", end]
    text = open(path).read() if os.path.exists(path) else start + "\n" + end + "\n"
    a, b = text.index(start), text.index(end) + len(end)
    with open(path + ".tmp", "w") as f:
        f.write(text[:a] + "\n".join(out) + text[b:])
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet18,resnet50,transformer_encoder")
    ap.add_argument("--world-sizes", default="2,4")
    ap.add_argument("--modes", default="ddp,zero1")
    ap.add_argument("--batch", type=int, default=2, help="per rank")
    ap.add_argument("--jar", default=os.path.join(ROOT, "app", "target", "memplan.jar"))
    ap.add_argument("--skip-method-test", action="store_true")
    ap.add_argument("--repredict", action="store_true",
                    help="keep the measured PyTorch figures, run MemPlan again for every row and rewrite the table")
    a = ap.parse_args()
    data_file = os.path.join(RES, "distributed-cpu.json")
    old = json.load(open(data_file)) if os.path.exists(data_file) else {"rows": []}
    if a.repredict:
        for row in old["rows"]:
            row["memplanAtGeneration"] = memplan(a.jar, row)
        save(old["rows"], data_file, old)
        return
    if not a.skip_method_test:
        suite = unittest.defaultTestLoader.loadTestsFromName("test_distributed")
        if not unittest.TextTestRunner(verbosity=1).run(suite).wasSuccessful():
            sys.exit("the per-rank method failed its hand-count test")
    command = "nice /usr/bin/python3 tools/pytorch/distributed.py " + " ".join(shlex.quote(x) for x in sys.argv[1:])
    rows = old["rows"]
    for name in a.models.split(","):
        for world in (int(w) for w in a.world_sizes.split(",")):
            for mode in a.modes.split(","):
                row = run_case(name, a.batch, world, mode)
                row["command"] = command
                row["memplanAtGeneration"] = memplan(a.jar, row)
                rows = [r for r in rows if (r["model"], r["batch"], r["worldSize"], r["mode"]) !=
                        (name, a.batch, world, mode)] + [row]
                print(name, world, mode, " ".join("rank%d peak %d start %d visible %d" % (
                    r["rank"], r["peakBytes"], r["startBytes"], r["visibleStartBytes"]) for r in row["ranks"]),
                    flush=True)
                save(rows, data_file)   # after every case: a later failure loses nothing measured


def save(rows, data_file, old=None):
    order = ["ddp", "zero1"]
    rows.sort(key=lambda r: (r["model"], r["batch"], r["worldSize"], order.index(r["mode"])))
    data = {"torch": torch.__version__, "device": "cpu", "backend": "gloo", "threadsPerRank": 1,
            "date": old["date"] if old else datetime.date.today().isoformat(),
            "commands": sorted({r["command"] for r in rows}), "tolerance": 0.03, "rows": rows}
    with open(data_file + ".tmp", "w") as f:
        json.dump(data, f, indent=1)
    os.replace(data_file + ".tmp", data_file)   # never a half-written data file
    write_docs(data, os.path.join(ROOT, "docs", "distributed.md"))


if __name__ == "__main__":
    main()
