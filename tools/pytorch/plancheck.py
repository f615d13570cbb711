"""Applies MemPlan plans inside real PyTorch training and checks them against MemPlan's prediction.

For every model (zoo.py) it exports the model to ONNX in training mode (as fidelity.py does), makes plans with
`memplan plan --framework pytorch-cpu --device cpu`, turns each into a Python module with `memplan export pytorch`,
and then measures in PyTorch (memmeasure.py's method: one iteration after a warm-up, one thread):
  - the peak without a plan and with the generated module, against MemPlan's predicted peak of the plan and of the
    plan as exported (`--expressed-plan`: the decisions PyTorch cannot carry out kept);
  - losses and all weights and buffers after 3 iterations from the same start, bitwise, with and without the plan.
Run from the repository root after `mvn -q -B -o -DskipTests package` (it needs app/target/memplan.jar):
  nice /usr/bin/python3 tools/pytorch/plancheck.py [--models resnet18,resnet50] [--batch 16] [--json out.json]
      [--work DIR]   (keeps the ONNX files, plans, generated modules and plans as exported)
It prints a Markdown table (docs/pytorch-export.md quotes it).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import warnings

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fidelity  # noqa: E402
import memmeasure  # noqa: E402
import zoo  # noqa: E402
from plan_module import Planned, load_module  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
JAR = os.environ.get("MEMPLAN_JAR", os.path.join(ROOT, "app", "target", "memplan.jar"))
# (label, planner, budget): recompute at 70% and 50% of the predicted unplanned peak, and a swap plan
PLANS = [("recompute 70%", "recompute-greedy", "70%"), ("recompute 50%", "recompute-greedy", "50%"),
         ("swap 70%", "swap", "70%")]
ITERATIONS = 3


def memplan(*args):
    r = subprocess.run(["java", "-jar", JAR] + list(args), capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def train(name, batch, make_optimizer, plan_module=None):
    """ITERATIONS training iterations from the zoo's seed; returns (losses, final state) and the plan handle."""
    model, x, y = zoo.MODELS[name](batch)
    model.train()
    opt = make_optimizer(model.parameters())
    loss_fn = fidelity.loss_fn(name)
    handle = plan_module.apply(model) if plan_module else None
    losses = []
    torch.manual_seed(0)
    for _ in range(ITERATIONS):
        if handle:
            with handle.step():
                loss = loss_fn(model(x), y)
        else:
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.detach().clone())
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return losses, state, handle


def bitwise(a, b):
    (la, sa), (lb, sb) = a, b
    same_loss = all(torch.equal(x, y) for x, y in zip(la, lb))
    diff = [k for k in sa if not torch.equal(sa[k], sb[k])]
    return same_loss and not diff, diff


def peak_measured(name, batch, make_optimizer, plan_module=None):
    model, x, y = zoo.MODELS[name](batch)
    handle = plan_module.apply(model) if plan_module else None
    m = Planned(model, handle) if handle else model
    r = memmeasure.measure(m, make_optimizer(model.parameters()), fidelity.loss_fn(name), x, y)
    return r["peakBytes"], handle


def run_model(name, batch, work):
    _, _, make = fidelity.OPTIMIZERS["sgd"]
    model, x, _ = zoo.MODELS[name](batch)
    onnx_path = os.path.join(work, "%s.onnx" % name)
    size = fidelity.export_skeleton(model, x, onnx_path)
    with open(onnx_path + ".data", "wb") as g:
        g.truncate(size)
    common = [onnx_path, "--batch", str(batch), "--optimizer", "sgd", "--framework", "pytorch-cpu", "--loss", "ce"]
    rc, out, err = memplan("profile", *common, "--json")
    if rc != 0:
        return [{"model": name, "error": err.strip()}]
    predicted_base = json.loads(out)["peakBytes"]
    base_peak, _ = peak_measured(name, batch, make)
    base_run = train(name, batch, make)[:2]
    rows = [{"model": name, "batch": batch, "plan": "none", "predicted": predicted_base, "measured": base_peak,
             "baseline": base_peak, "bitwise": None}]
    print(name, "baseline", predicted_base, base_peak, "%.3f" % (base_peak / predicted_base), flush=True)
    for label, planner, budget in PLANS:
        plan = os.path.join(work, "%s-%s-%s.json" % (name, planner, budget.rstrip("%")))
        note = ""
        rc, out, err = memplan("plan", *common, "--device", "cpu", "--planner", planner, "--budget", budget,
                               "--out", plan, "--json")
        if rc != 0:
            least = re.search(r"least peak reachable is .*?\((\d+) B\)", err)
            if not least:
                rows.append({"model": name, "batch": batch, "plan": label, "error": err.strip()})
                continue
            note = "%s infeasible; at the least reachable peak" % budget
            rc, out, err = memplan("plan", *common, "--device", "cpu", "--planner", planner, "--budget",
                                   least.group(1) + "B", "--out", plan, "--json")
            if rc != 0:
                rows.append({"model": name, "batch": batch, "plan": label, "error": err.strip()})
                continue
        predicted = json.loads(out)["peakBytes"]
        with open(plan) as f:
            decisions = json.load(f)["decisions"]
        same = next((r for r in rows if r.get("planDecisions") == decisions), None)
        if same is not None:   # the least reachable plan again: measured once
            row = dict(same, plan=label, note=note + "; the same plan as '%s'" % same["plan"])
            rows.append(row)
            print(name, label, "same plan as", same["plan"], flush=True)
            continue
        module = os.path.join(work, "%s-%s-%s.py" % (name, planner, budget.rstrip("%")))
        expressed = module[:-3] + ".expressed.json"
        rc, out, err = memplan("export", "pytorch", *common, "--plan", plan, "--out", module, "--expressed-plan",
                               expressed)
        if rc != 0:
            rows.append({"model": name, "batch": batch, "plan": label, "error": err.strip()})
            continue
        exported = out
        rc, out, err = memplan("simulate", *common, "--device", "cpu", "--plan", expressed, "--json")
        predicted_expressed = json.loads(out)["peakBytes"] if rc == 0 else None
        mod = load_module(module)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peak, handle = peak_measured(name, batch, make, mod)
            run = train(name, batch, make, mod)
        same, diff = bitwise(base_run, run[:2])
        lossy = any(d[1] == "compress" and d[5] in ("fp16", "bf16") for d in mod.DECISIONS)
        row = {"model": name, "batch": batch, "plan": label, "planner": planner, "budget": budget, "note": note,
               "predicted": predicted, "predictedExpressed": predicted_expressed, "measured": peak,
               "baseline": base_peak, "bitwise": same, "lossy": lossy, "differing": diff[:3],
               "decisions": len(mod.DECISIONS), "regions": len(mod.REGIONS), "notExpressed": len(mod.NOT_EXPRESSED),
               "runtimeNotExpressed": [n for n, _ in handle.runtime_not_expressed] if handle else [],
               "export": exported.strip().splitlines()[0], "planDecisions": decisions}
        rows.append(row)
        print(name, label, predicted, predicted_expressed, peak, "%.3f" % (peak / predicted),
              "bitwise" if same else "DIFFERS " + ",".join(diff[:3]), row["export"],
              "runtime kept: %d" % len(row["runtimeNotExpressed"]), note, flush=True)
    return rows


def mib(b):
    return "%.1f" % (b / 2 ** 20)


def table(rows):
    out = ["| model | batch | plan | PyTorch peak MiB, no plan | MemPlan predicted MiB | predicted as exported MiB | "
           "PyTorch peak MiB, with the module | measured / predicted | measured / as exported | "
           "losses and weights after 3 iterations | decisions (calls / regions / not expressed / kept at run time) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            out.append("| %s | %s | %s | error: %s |||||||| " % (r["model"], r.get("batch", ""), r.get("plan", ""),
                                                                 r["error"].splitlines()[-1]))
            continue
        if r["plan"] == "none":
            out.append("| %s | %d | none | %s | %s | - | - | %.3f | - | - | - |" % (
                r["model"], r["batch"], mib(r["baseline"]), mib(r["predicted"]), r["measured"] / r["predicted"]))
            continue
        pe = r["predictedExpressed"]
        bit = "lossy plan" if r["lossy"] else ("bit-identical" if r["bitwise"] else
                                               "differ: " + ", ".join(r["differing"]))
        out.append("| %s | %d | %s%s | %s | %s | %s | %s | %.3f | %s | %s | %d / %d / %d / %d |" % (
            r["model"], r["batch"], r["plan"], " (%s)" % r["note"] if r["note"] else "", mib(r["baseline"]),
            mib(r["predicted"]), mib(pe) if pe else "-", mib(r["measured"]), r["measured"] / r["predicted"],
            "%.3f" % (r["measured"] / pe) if pe else "-", bit, r["decisions"], r["regions"], r["notExpressed"],
            len(r["runtimeNotExpressed"])))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet18,resnet50,mobilenet_v2,transformer_encoder")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--json", help="also write the rows to this JSON file")
    ap.add_argument("--work", help="keep the ONNX files, plans and generated modules in this folder")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if not os.path.isfile(JAR):
        sys.exit("plancheck: %s is missing; run `mvn -q -B -o -DskipTests package` first" % JAR)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = a.work or tmp
        os.makedirs(work, exist_ok=True)
        for name in a.models.split(","):
            rows += run_model(name, a.batch, work)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"torch": torch.__version__, "command": " ".join(sys.argv),
                       "rows": [{k: v for k, v in r.items() if k != "planDecisions"} for r in rows]}, f, indent=1)
    print(table(rows))


if __name__ == "__main__":
    main()
