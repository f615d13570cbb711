"""Fidelity harness: PyTorch's measured memory of one training iteration against MemPlan's prediction.

For every case (model, batch, optimizer) it builds the PyTorch model, exports it to ONNX in training mode, measures
one iteration in PyTorch (memmeasure.py) and runs `memplan profile` on the ONNX file. It writes
  engine/src/test/resources/fidelity/models/<model>-b<batch>.onnx   the graph, weights moved to external data that
                                                                   is not kept (only its length: MemPlan reads shapes)
  engine/src/test/resources/fidelity/pytorch-cpu.json              the measured figures (PyTorchFidelityTest checks
                                                                   MemPlan against every row marked checked)
  docs/fidelity.md                                                 the table
Run from the repository root, after `mvn -q -B -o -DskipTests package` (it needs app/target/memplan.jar):
  nice /usr/bin/python3 tools/pytorch/fidelity.py [--models resnet18,vgg16] [--batch 2]
Needs Debian's python3-torch, python3-torchvision and python3-onnx (apt-get install python3-torch
python3-torchvision python3-onnx). It runs the hand-count test of the method first.
"""
import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import tempfile
import unittest
import warnings

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import external_data_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llama  # noqa: E402
import memmeasure  # noqa: E402
import zoo  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
RES = os.path.join(ROOT, "engine", "src", "test", "resources", "fidelity")
SAMPLES = os.path.join(ROOT, "sample-models", "src", "main", "resources", "memplan", "models")
# Rows of MemPlan sample models (no ONNX file): PyTorch runs the matching plain-PyTorch model of llama.py, MemPlan
# profiles the sample by name; the sample's JSON is copied next to the ONNX graphs for PyTorchFidelityTest.
MODEL_ORDER = list(zoo.MODELS) + list(llama.CONFIGS)
OPSET = 14   # HardSwish is one op from 14 on

# (label, MemPlan --optimizer, --optimizer-form, PyTorch constructor)
OPTIMIZERS = {
    "sgd": ("sgd", "single-tensor", lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)),
    "adam": ("adam", "single-tensor", lambda p: torch.optim.Adam(p, lr=1e-3)),
    "adam-foreach": ("adam", "foreach", lambda p: torch.optim.Adam(p, lr=1e-3, foreach=True)),
    # AdamW decays the weights in place (param.mul_) and otherwise allocates as Adam does: MemPlan's adam
    "adamw": ("adam", "single-tensor", lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01)),
}

# Models whose rows MemPlan cannot match yet with its op set and importer: shown in docs/fidelity.md, not checked.
GAPS = {}


def loss_fn(name):
    if name == "gpt":
        return lambda out, y: F.cross_entropy(out.flatten(0, 1), y.flatten())
    return nn.CrossEntropyLoss()


def export_skeleton(model, x, path):
    """Exports in training mode; moves every initializer over 1 KiB to external data and keeps only the graph.
    Returns the external data's length (a zero file of that length stands in for the weights)."""
    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the exporter warns once per BatchNorm about num_batches_tracked
        full = os.path.join(d, "m.onnx")
        torch.onnx.export(model, (x,), full, opset_version=OPSET, training=torch.onnx.TrainingMode.TRAINING,
                          do_constant_folding=False, input_names=["x"], output_names=["out"],
                          dynamic_axes={"x": {0: "N"}, "out": {0: "N"}})   # shapes follow the batch, not baked in
        m = onnx.load(full)
    data = os.path.basename(path) + ".data"
    external_data_helper.convert_model_to_external_data(m, all_tensors_to_one_file=True, location=data,
                                                         size_threshold=1024)
    external_data_helper.write_external_data_tensors(m, os.path.dirname(path))   # strips raw data into the file
    onnx.save(m, path)
    size = os.path.getsize(os.path.join(os.path.dirname(path), data))
    os.remove(os.path.join(os.path.dirname(path), data))
    return size


def memplan(jar, onnx_path, data_bytes, batch, opt, form, flags=()):
    """`memplan profile --json [flags]` on a copy of the skeleton with a zero (sparse) external data file."""
    with tempfile.TemporaryDirectory() as d:
        m = os.path.join(d, os.path.basename(onnx_path))
        with open(onnx_path, "rb") as f, open(m, "wb") as g:
            g.write(f.read())
        with open(m + ".data", "wb") as g:
            g.truncate(data_bytes)
        cmd = ["java", "-jar", jar, "profile", m, "--batch", str(batch), "--optimizer", opt, "--optimizer-form",
               form, "--framework", "pytorch-cpu", "--loss", "ce", "--json"] + list(flags)
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            return {"error": (r.stdout + r.stderr).strip().splitlines()[-1].replace(d + os.sep, "")}
        return json.loads(r.stdout)


def memplan_sample(jar, name, batch, opt, form, flags=()):
    """`memplan profile SAMPLE --json [flags]` at the sample's default dimensions."""
    cmd = ["java", "-jar", jar, "profile", name, "--batch", str(batch), "--optimizer", opt, "--optimizer-form", form,
           "--framework", "pytorch-cpu", "--json"] + list(flags)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": (r.stdout + r.stderr).strip().splitlines()[-1]}
    return json.loads(r.stdout)


def record_memplan(row, mp):
    """MemPlan's side of a row: its figures at generation, or the error that leaves the row a gap."""
    if "error" in mp:
        row["gap"] = (row["gap"] + "; " if row["gap"] else "") + mp["error"]
    else:
        row["memplanAtGeneration"] = {"peakBytes": mp["peakBytes"], "phasePeakBytes": mp["phasePeakBytes"],
                                      "savedBytes": mp["savedBytes"]}


def copy_sample(name):
    """The sample's JSON beside the ONNX graphs, for the JUnit checks."""
    copy = os.path.join(RES, "models", name + ".json")
    with open(os.path.join(SAMPLES, name + ".json")) as f, open(copy + ".tmp", "w") as g:
        g.write(f.read())
    os.replace(copy + ".tmp", copy)


def run_sample_case(name, batch, optimizers, jar):
    """A row per optimizer for a MemPlan sample model and its plain-PyTorch twin (llama.py)."""
    copy_sample(name)
    rows = []
    for label in optimizers:
        opt, form, make = OPTIMIZERS[label]
        model, x, y = llama.build(name, batch)
        measured = memmeasure.measure(model, make(model.parameters()), llama.loss_fn, x, y)
        mp = memplan_sample(jar, name, batch, opt, form)
        row = {"model": name, "batch": batch, "optimizer": label, "memplanOptimizer": opt, "optimizerForm": form,
               "onnx": None, "sample": name, "modelJson": "models/" + name + ".json", "externalDataBytes": 0,
               "checked": name not in GAPS and "error" not in mp, "gap": GAPS.get(name), "pytorch": measured}
        record_memplan(row, mp)
        rows.append(row)
        print(name, batch, label, ratio_line(row), flush=True)
    return rows


def run_case(name, batch, optimizers, jar):
    if name in llama.CONFIGS:
        return run_sample_case(name, batch, optimizers, jar)
    model, x, y = zoo.MODELS[name](batch)
    path = os.path.join(RES, "models", "%s-b%d.onnx" % (name, batch))
    err = None
    try:
        data_bytes = export_skeleton(model, x, path)
    except Exception as e:   # an export failure is a row too
        err, data_bytes = "ONNX export failed: " + str(e).splitlines()[0], 0
    rows = []
    for label in optimizers:
        opt, form, make = OPTIMIZERS[label]
        model, x, y = zoo.MODELS[name](batch)
        measured = memmeasure.measure(model, make(model.parameters()), loss_fn(name), x, y)
        mp = {"error": err} if err else memplan(jar, path, data_bytes, batch, opt, form)
        row = {"model": name, "batch": batch, "optimizer": label, "memplanOptimizer": opt, "optimizerForm": form,
               "onnx": "models/" + os.path.basename(path) if not err else None, "externalDataBytes": data_bytes,
               "checked": name not in GAPS and "error" not in mp, "gap": GAPS.get(name),
               "pytorch": measured}
        record_memplan(row, mp)
        rows.append(row)
        print(name, batch, label, ratio_line(row), flush=True)
    return rows


def repredict(data, jar):
    """Runs MemPlan again for every row (after an engine change), keeping PyTorch's measured figures."""
    for row in data["rows"]:
        row["checked"] = False
        if row.get("sample"):
            mp = memplan_sample(jar, row["sample"], row["batch"], row["memplanOptimizer"], row["optimizerForm"])
        elif not row["onnx"]:
            continue
        else:
            mp = memplan(jar, os.path.join(RES, row["onnx"]), row["externalDataBytes"], row["batch"],
                         row["memplanOptimizer"], row["optimizerForm"])
        row["gap"] = GAPS.get(row["model"])
        row.pop("memplanAtGeneration", None)
        record_memplan(row, mp)
        if "error" in mp:
            continue
        row["checked"] = row["model"] not in GAPS
        print(row["model"], row["batch"], row["optimizer"], ratio_line(row), flush=True)


def ratio_line(row):
    m = row.get("memplanAtGeneration")
    if not m:
        return "no MemPlan prediction: " + str(row.get("gap"))
    p = row["pytorch"]
    return "peak %.3f fwd %.3f bwd %.3f opt %.3f saved %.3f" % (
        m["peakBytes"] / p["peakBytes"], *(m["phasePeakBytes"][k] / p["phasePeakBytes"][k]
                                            for k in ("forward", "backward", "optimizer")),
        m["savedBytes"] / max(1, p["saved"]["activationBytes"]))


def mib(b):
    return "%.1f" % (b / 2 ** 20)


def debian_packages():
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}, ", "python3-torch", "python3-torchvision",
                        "python3-onnx"], capture_output=True, text=True)
    return r.stdout.strip(", ") if r.returncode == 0 else "unknown"


def write_docs(data, path):
    rows = data["rows"]
    out = ["# Fidelity: MemPlan's prediction against PyTorch's measured memory", "",
           "Generated by `tools/pytorch/fidelity.py` (do not edit by hand); PyTorch %s (%s), torchvision %s, "
           "%s, one thread (Debian packages installed here: %s; Debian's 1.13.1 build reports its version as "
           "1.13.0a0). The rows were made by these commands (run from the repository root after "
           "`mvn -q -B -o -DskipTests package`; `--repredict` reruns only MemPlan's side):" % (
               data["torch"], data["device"], data["torchvision"], data["date"], debian_packages()),
           "", "```"] + data["commands"] + ["```", "",
           "PyTorch: one training iteration after a warm-up, `zero_grad(set_to_none=True)`; peak = bytes live at the "
           "start (parameters, buffers, optimizer state, data, labels) + the highest running sum of the profiler's "
           "allocation events; per phase the highest point while it runs (forward includes the loss). Saved = "
           "activation bytes autograd keeps (saved_tensors_hooks, by storage, parameters and inputs apart). "
           "MemPlan: `memplan profile MODEL.onnx --framework pytorch-cpu --json` on the training-mode ONNX export; for "
           "the Llama-style rows (%s) PyTorch runs the plain-PyTorch model of `tools/pytorch/llama.py` (eager "
           "attention, RMSNorm, SwiGLU, RoPE, grouped-query attention, as Hugging Face's eager Llama) and MemPlan "
           "profiles the sample model of that name (`memplan profile tiny-llama --framework pytorch-cpu --json`), "
           "built to match it parameter for parameter. " % ", ".join("`%s`" % n for n in llama.CONFIGS) +
           "Ratios are MemPlan / PyTorch. Tolerances checked by `PyTorchFidelityTest` (in `mvn verify`): peak 2%, "
           "each phase 3%, saved bytes 1%.", "",
           "| model | batch | optimizer | PyTorch peak MiB | MemPlan peak MiB | peak | forward | backward | "
           "optimizer | saved MiB (PyTorch / MemPlan) | checked |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    worst = []
    for r in rows:
        p, m = r["pytorch"], r.get("memplanAtGeneration")
        if not m:
            out.append("| %s | %d | %s | %s | - | - | - | - | - | %s / - | gap |" % (
                r["model"], r["batch"], r["optimizer"], mib(p["peakBytes"]), mib(p["saved"]["activationBytes"])))
            continue
        ph = [m["phasePeakBytes"][k] / p["phasePeakBytes"][k] for k in ("forward", "backward", "optimizer")]
        pk = m["peakBytes"] / p["peakBytes"]
        sv = m["savedBytes"] / max(1, p["saved"]["activationBytes"])
        ok = abs(pk - 1) <= 0.02 and all(abs(q - 1) <= 0.03 for q in ph) and abs(sv - 1) <= 0.01
        if r["checked"]:
            worst.append((max(abs(pk - 1), abs(sv - 1), *(abs(q - 1) for q in ph)), r, pk, ph, sv))
        out.append("| %s | %d | %s | %s | %s | %.3f | %.3f | %.3f | %.3f | %s / %s (%.3f) | %s |" % (
            r["model"], r["batch"], r["optimizer"], mib(p["peakBytes"]), mib(m["peakBytes"]), pk, *ph,
            mib(p["saved"]["activationBytes"]), mib(m["savedBytes"]), sv,
            ("yes" if ok else "FAILS") if r["checked"] else "gap"))
    worst.sort(key=lambda w: -w[0])
    out += ["", "## Worst checked rows", "", "| model | batch | optimizer | peak | forward | backward | optimizer | saved |",
            "|---|---|---|---|---|---|---|---|"]
    for _, r, pk, ph, sv in worst[:5]:
        out.append("| %s | %d | %s | %.3f | %.3f | %.3f | %.3f | %.3f |" % (r["model"], r["batch"], r["optimizer"],
                                                                          pk, *ph, sv))
    out += ["", "## What the pytorch-cpu profile adds to MemPlan's baseline", "",
            "Each rule was found by measuring PyTorch 1.13.1 with this harness (see docs/architecture.md, "
            "\"Framework profiles\"):", "",
            "- oneDNN convolution transients instead of MemPlan's im2col workspace: forward, the reordered weight and "
            "the larger of input and output (none for an unstrided 1x1 convolution, the input and weight for a "
            "strided one); backward, the larger of (input + output) and the weight;",
            "- cross-entropy's backward holds the gradient of the log-probabilities besides the logits' gradient;",
            "- average pooling, global average pooling and mean keep their input; Clip (ReLU6) keeps its input; "
            "Dropout keeps a float mask;",
            "- Slice and Split (`x[:, a:b]`, `chunk`) are views: an op that saves a part keeps the whole input;",
            "- a depthwise convolution's backward on a channels-last input (ConvNeXt's blocks, after a permute) makes "
            "its weight gradient in a buffer of 256 partial sums per weight;",
            "- Adam's update holds two parameter-sized temporaries, for one parameter at a time or, with "
            "`foreach=True`, for all at once; the single-tensor loop also keeps the previous parameter's "
            "denominator until the next one's is made (tiny-llama's optimizer phase: 0.974 before); weight "
            "gradients live until `zero_grad` after the whole step;",
            "- a parameter used more than once in one pass (an LSTM's R at every step) has each new gradient added "
            "to the sum so far out of place: the new gradient and the new sum live beside the old sum (lstm's "
            "backward: 0.801 before); the ONNX LSTM is imported as PyTorch's CPU layer records it (one input "
            "product over the sequence, then per step R h, the gates' sigmoid and tanh, c' = f c + i g and "
            "h' = o tanh(c'): it keeps tanh(c'), not c'), with two zero initial states;",
            "- an operand that wants no gradient is not kept for the other's: a Linear with a frozen weight keeps "
            "no input, an RMSNorm with a frozen weight no normalised x (and one with a frozen input only that), "
            "eager attention keeps q only for k's gradient and k only for q's (LoRA on q_proj, v_proj: the first "
            "layer's k wants none).",
            "",
            "Autocast bf16 on the CPU is checked in the training-setup rows below (GPTs and the Llama model: eager "
            "attention's `softmax(..., dtype=torch.float32)` keeps fp32 probabilities beside the PV matmul's bf16 "
            "copy); not covered yet: autocast on "
            "CUDA, PyTorch on CUDA (the `pytorch-cuda` "
            "profile changes only Dropout's mask and is unmeasured), more than one intra-op thread (with several "
            "threads PyTorch 1.13 may send an unstrided 1x1 convolution at batch < 16 to oneDNN as well), "
            "weight decay in Adam "
            "(one more temporary), SGD with Nesterov momentum. An ONNX file exported in eval mode (the default of "
            "`torch.onnx.export`: BatchNorm folded into Conv, Dropout gone) is not detected and under-predicts; export "
            "with `training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False` as this harness does.",
            "", "## Known gaps (not checked)", ""]
    for name in sorted({r["model"] for r in rows if not r["checked"]}):
        reason = next(r["gap"] for r in rows if r["model"] == name and not r["checked"])
        out.append("- **%s**: %s" % (name, reason))
    training = os.path.join(RES, "pytorch-cpu-training.json")
    if os.path.exists(training):   # training_check.py's table (LoRA, frozen, accumulation, autocast) follows
        import training_check
        out += training_check.table(json.load(open(training)))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODEL_ORDER))
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--optimizers", default="sgd,adam,adam-foreach", help="of " + ", ".join(OPTIMIZERS))
    ap.add_argument("--jar", default=os.path.join(ROOT, "app", "target", "memplan.jar"))
    ap.add_argument("--skip-method-test", action="store_true")
    ap.add_argument("--repredict", action="store_true",
                    help="keep the measured PyTorch figures, run MemPlan again for every row and rewrite the docs")
    a = ap.parse_args()
    data_file = os.path.join(RES, "pytorch-cpu.json")
    if a.repredict:
        data = json.load(open(data_file))
        for r in data["rows"]:   # files from before per-row commands name one command for all rows
            r.setdefault("command", data.get("command"))
        data.pop("command", None)
        data["commands"] = sorted({r["command"] for r in data["rows"]})
        repredict(data, a.jar)
        save(data, data_file)
        return
    if not a.skip_method_test:
        suite = unittest.defaultTestLoader.loadTestsFromName("test_memmeasure")
        if not unittest.TextTestRunner(verbosity=1).run(suite).wasSuccessful():
            sys.exit("the measurement method failed its hand-count test")
    torch.set_num_threads(1)
    os.makedirs(os.path.join(RES, "models"), exist_ok=True)
    old = json.load(open(data_file)) if os.path.exists(data_file) else {"rows": []}
    for r in old["rows"]:
        r.setdefault("command", old.get("command"))
    models = a.models.split(",")
    opts = a.optimizers.split(",")
    rows = [r for r in old["rows"] if not (r["model"] in models and r["batch"] == a.batch and r["optimizer"] in opts)]
    command = "nice /usr/bin/python3 tools/pytorch/fidelity.py " + " ".join(shlex.quote(x) for x in sys.argv[1:])
    for name in models:
        try:
            case = run_case(name, a.batch, opts, a.jar)
        except Exception as e:   # one model failing (its PyTorch side) does not stop the others
            print(name, a.batch, "failed:", e, flush=True)
            continue
        for r in case:
            r["command"] = command
            rows.append(r)
        save(collect(rows), data_file)   # after every model: a later failure loses nothing measured


def collect(rows):
    order = MODEL_ORDER
    rows.sort(key=lambda r: (order.index(r["model"]), r["batch"], list(OPTIMIZERS).index(r["optimizer"])))
    return {"torch": torch.__version__, "torchvision": __import__("torchvision").__version__, "device": "cpu",
            "date": datetime.date.today().isoformat(),
            "commands": sorted({r["command"] for r in rows}),
            "tolerances": {"peak": 0.02, "phase": 0.03, "saved": 0.01}, "rows": rows}


def save(data, data_file):
    with open(data_file + ".tmp", "w") as f:
        json.dump(data, f, indent=1)
    os.replace(data_file + ".tmp", data_file)   # never a half-written data file
    write_docs(data, os.path.join(ROOT, "docs", "fidelity.md"))


if __name__ == "__main__":
    main()
