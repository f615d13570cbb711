"""The generated module's wrap() in real data-parallel training: per-rank peaks against MemPlan's per-rank plans.

For every case (model, world size, mode, planner) MemPlan plans every rank (`memplan plan --world-size W --shard
MODE --planner P --budget B --out plan.json`: one file, or one per rank where the ranks' plans differ), exports each
rank's plan with the layout (`memplan export pytorch ... --world-size W --shard MODE`, which adds wrap(model, ...))
and predicts each rank from the plan as exported (`memplan simulate --plan expressed.json --world-size W`). Then it
starts W processes (gloo on loopback, one thread each, as distributed.py), and in each the rank installs its plan
with apply(model), wraps the model with the module's wrap(model, torch.optim.Adam, lr=1e-3) (DDP with its
bucket_cap_mb, or DDP with ZeroRedundancyOptimizer) and is measured with distributed.py's method.

It writes
  engine/src/test/resources/fidelity/distributed-export-cpu.json   the measured and predicted per-rank figures
  docs/distributed.md                                              the table between its "distributed_export.py"
                                                                   markers
Run from the repository root after `mvn -q -B -o -DskipTests package`:
  nice /usr/bin/python3 tools/pytorch/distributed_export.py [--models resnet18] [--world-sizes 2,4]
      [--modes ddp,zero1] [--plans baseline,recompute-greedy@97%]
  nice /usr/bin/python3 tools/pytorch/distributed_export.py --repredict     # after an engine change: MemPlan only
"""
import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import tempfile

import torch
import torch.multiprocessing as mp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import distributed  # noqa: E402

ROOT = distributed.ROOT
RES = distributed.RES
DATA = os.path.join(RES, "distributed-export-cpu.json")


def java(jar, *args):
    r = subprocess.run(["java", "-jar", jar] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("memplan %s: %s" % (" ".join(args[:2]), (r.stdout + r.stderr).strip()))
    return r.stdout


def predict(jar, name, batch, world, mode, planner, d):
    """MemPlan's side in directory d: every rank planned, exported with the layout and predicted from the plan as
    exported. Returns (per-rank predictions, the generated modules' paths, one per rank)."""
    onnx = "models/%s-b%d.onnx" % (name, batch)
    single = {r["onnx"]: r for r in json.load(open(os.path.join(RES, "pytorch-cpu.json")))["rows"]}[onnx]
    m = os.path.join(d, os.path.basename(onnx))
    with open(os.path.join(RES, onnx), "rb") as f, open(m, "wb") as g:
        g.write(f.read())
    with open(m + ".data", "wb") as g:
        g.truncate(single["externalDataBytes"])
    common = [m, "--batch", str(batch * world), "--optimizer", "adam", "--framework", "pytorch-cpu", "--loss",
              "ce", "--world-size", str(world), "--shard", "none" if mode == "ddp" else mode]
    name_, _, budget = planner.partition("@")
    plan = os.path.join(d, "plan.json")
    args = ["plan"] + common + ["--planner", name_, "--out", plan, "--json"]
    if budget:
        args += ["--budget", budget]
    planned = json.loads(java(jar, *args))["layout"]
    generated, predicted = [], []
    for r in range(world):
        own = os.path.join(d, "plan.rank%d.json" % r)
        pf = own if os.path.exists(own) else plan
        gen, expr = os.path.join(d, "gen%d.py" % r), os.path.join(d, "expressed%d.json" % r)
        java(jar, "export", "pytorch", *common, "--plan", pf, "--out", gen, "--expressed-plan", expr)
        sim = json.loads(java(jar, "simulate", *common, "--plan", expr, "--json"))["layout"]["ranks"]
        x = sim[r] if len(sim) > 1 else sim[0]
        predicted.append({"rank": r, "peakBytes": x["plannedPeakBytes"],
                          "phasePeakBytes": {k: x["plannedPhasePeakBytes"][k]
                                             for k in ("forward", "backward", "optimizer")},
                          "planPeakBytes": (planned["ranks"][r] if len(planned["ranks"]) > 1
                                            else planned["ranks"][0])["plannedPeakBytes"],
                          "decisions": x["decisions"]})
        generated.append(gen)
    return predicted, generated


def run_case(jar, name, batch, world, mode, planner):
    with tempfile.TemporaryDirectory() as d:
        predicted, generated = predict(jar, name, batch, world, mode, planner, d)
        with tempfile.TemporaryDirectory() as out:
            mp.spawn(distributed.worker, args=(world, distributed.free_port(), name, batch, mode, out, generated),
                     nprocs=world, join=True)
            ranks = [json.load(open(os.path.join(out, "rank%d.json" % r))) for r in range(world)]
    return {"model": name, "batch": batch, "worldSize": world, "mode": mode, "planner": planner,
            "optimizer": "adam", "onnx": "models/%s-b%d.onnx" % (name, batch), "ranks": ranks,
            "memplanAtGeneration": {"ranks": predicted}}


def write_docs(data, path):
    start, end = "<!-- distributed_export.py: table -->", "<!-- distributed_export.py: end -->"
    out = [start, "", "Generated by `tools/pytorch/distributed_export.py` (PyTorch %s, gloo on loopback, one thread "
           "per rank, %s); rows made by:" % (data["torch"], data["date"]), "", "```"] + data["commands"] + ["```", "",
           "| model | world size | mode | plan | rank | decisions | PyTorch peak MiB | MemPlan peak MiB | peak | "
           "forward | backward | optimizer |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    worst = 0.0
    for row in data["rows"]:
        for r, m in zip(row["ranks"], row["memplanAtGeneration"]["ranks"]):
            ratios = [m["peakBytes"] / r["peakBytes"]] + [m["phasePeakBytes"][k] / r["phasePeakBytes"][k]
                                                          for k in ("forward", "backward", "optimizer")]
            worst = max(worst, *(abs(x - 1) for x in ratios))
            dec = ", ".join("%s %d" % kv for kv in sorted(m["decisions"].items())) or "all kept"
            out.append("| %s | %d | %s | %s | %d | %s | %.1f | %.1f | %.4f | %.4f | %.4f | %.4f |" % (
                row["model"], row["worldSize"], row["mode"], row["planner"], r["rank"], dec,
                r["peakBytes"] / 2 ** 20, m["peakBytes"] / 2 ** 20, *ratios))
    out += ["", "Worst ratio of all rows: %.4f off 1 (the target: within 0.03)." % worst, "", end]
    text = open(path).read()
    if start not in text:
        text = text.rstrip("\n") + "\n\n" + start + "\n" + end + "\n"
    a, b = text.index(start), text.index(end) + len(end)
    with open(path + ".tmp", "w") as f:
        f.write(text[:a] + "\n".join(out) + text[b:])
    os.replace(path + ".tmp", path)


def save(rows, date=None):
    rows.sort(key=lambda r: (r["model"], r["worldSize"], ["ddp", "zero1"].index(r["mode"]), r["planner"]))
    data = {"torch": torch.__version__, "device": "cpu", "backend": "gloo", "threadsPerRank": 1,
            "date": date or datetime.date.today().isoformat(), "commands": sorted({r["command"] for r in rows}),
            "tolerance": 0.03, "rows": rows}
    with open(DATA + ".tmp", "w") as f:
        json.dump(data, f, indent=1)
    os.replace(DATA + ".tmp", DATA)
    write_docs(data, os.path.join(ROOT, "docs", "distributed.md"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet18")
    ap.add_argument("--world-sizes", default="2,4")
    ap.add_argument("--modes", default="ddp,zero1")
    ap.add_argument("--plans", default="baseline,recompute-greedy@97%",
                    help="planners, each with @BUDGET where it takes one")
    ap.add_argument("--batch", type=int, default=2, help="per rank")
    ap.add_argument("--jar", default=os.path.join(ROOT, "app", "target", "memplan.jar"))
    ap.add_argument("--repredict", action="store_true",
                    help="keep the measured PyTorch figures, run MemPlan's side again for every row")
    a = ap.parse_args()
    if a.repredict:
        old = json.load(open(DATA))
        for row in old["rows"]:
            with tempfile.TemporaryDirectory() as d:
                predicted, _ = predict(a.jar, row["model"], row["batch"], row["worldSize"], row["mode"],
                                       row["planner"], d)
            row["memplanAtGeneration"] = {"ranks": predicted}
        save(old["rows"], old["date"])
        return
    command = "nice /usr/bin/python3 tools/pytorch/distributed_export.py " + " ".join(
        shlex.quote(x) for x in sys.argv[1:])
    rows = json.load(open(DATA))["rows"] if os.path.exists(DATA) else []
    for name in a.models.split(","):
        for world in (int(w) for w in a.world_sizes.split(",")):
            for mode in a.modes.split(","):
                for planner in a.plans.split(","):
                    row = run_case(a.jar, name, a.batch, world, mode, planner)
                    row["command"] = command
                    key = (name, world, mode, planner)
                    rows = [r for r in rows if (r["model"], r["worldSize"], r["mode"], r["planner"]) != key] + [row]
                    print(name, world, mode, planner, " ".join("rank%d measured %d predicted %d" % (
                        r["rank"], r["peakBytes"], m["peakBytes"]) for r, m in zip(
                        row["ranks"], row["memplanAtGeneration"]["ranks"])), flush=True)
                    save(rows)


if __name__ == "__main__":
    main()
