#!/usr/bin/env python3
"""Writes docs/gpu-results.md from the raw outputs of cuda-backend/gpu-check.sh.

  python3 cuda-backend/gpu_report.py gpu-check-out docs/gpu-results.md
"""
import glob
import json
import os
import sys


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def size(b):
    if b is None:
        return "-"
    b = float(b)
    return f"{b / 2**30:.2f} GiB" if b >= 2**30 else f"{b / 2**20:.1f} MiB"


def secs(s):
    return "-" if s is None else f"{s:.3f} s"


def opcheck_section(res):
    out = ["## 1. Ops on the GPU against the CPU reference kernels (OpCheck)", ""]
    rows = load_json(os.path.join(res, "opcheck.json"))
    if not rows:
        out += ["OpCheck produced no results. Its output:", "", "```", read(os.path.join(res, "opcheck.txt"))[-3000:], "```", ""]
        return out
    worst = {}
    for r in rows:
        w = worst.setdefault(r["case"], {"rel": 0.0, "abs": 0.0, "tol": r["tol"], "pass": True, "phases": 0, "failed": []})
        w["phases"] += 1
        if r["maxRel"] is not None:
            w["rel"] = max(w["rel"], r["maxRel"])
        if r["maxAbs"] is not None:
            w["abs"] = max(w["abs"], r["maxAbs"])
        if not r["pass"]:
            w["pass"] = False
            w["failed"].append(r["phase"])
    n_fail = sum(1 for w in worst.values() if not w["pass"])
    out += [f"{len(worst)} cases, {len(rows)} checks (forward, aux, backward overwrite and accumulate, recompute); "
            f"**{len(worst) - n_fail} pass, {n_fail} fail**. Relative error = max |gpu - cpu| / max |cpu| over each "
            "phase's tensors; integer and bool tensors (indices, masks) and codecs must match bit for bit.", "",
            "| case | checks | max abs error | max rel error | tolerance | result |", "|---|---:|---:|---:|---:|---|"]
    for name, w in worst.items():
        res_txt = "pass" if w["pass"] else "**FAIL** (" + ", ".join(w["failed"]) + ")"
        out.append(f"| {name} | {w['phases']} | {w['abs']:.2e} | {w['rel']:.2e} | {w['tol']:.0e} | {res_txt} |")
    out.append("")
    return out


def zoo_runs(res):
    runs = []
    for path in sorted(glob.glob(os.path.join(res, "run-*.json"))):
        tag = os.path.basename(path)[4:-5]
        rc = read(path[:-5] + ".rc", "?")
        j = load_json(path)
        err = read(path[:-5] + ".err")
        runs.append((tag, rc, j, err))
    return runs


def zoo_section(res):
    out = ["## 2. MemPlan runs on the GPU (`memplan run ... --backend cuda`)", "",
           "Peak = the arena's high-water mark as the executor measured it; device used = cuMemGetInfo's used memory "
           "(includes the CUDA context and everything else on the GPU). Time = mean of iterations after the first.", "",
           "| model | batch | planner | backend | predicted peak | measured peak | device used | time / iter | last loss | status |",
           "|---|---:|---|---|---:|---:|---:|---:|---:|---|"]
    for tag, rc, j, err in zoo_runs(res):
        if not j or "model" not in j:
            msg = "skipped (time budget)" if j and j.get("skipped") else ("timed out" if rc == "124" else "failed")
            last = [l for l in err.splitlines() if l.strip()]
            if last and msg != "skipped (time budget)":
                msg += ": " + last[-1][:160].replace("|", "/")
            out.append(f"| {tag} | | | | | | | | | {msg} |")
            continue
        its = j.get("iterations", [])
        later = its[1:] if len(its) > 1 else its
        t = sum(i["seconds"] for i in later) / len(later) if later else None
        used = max((i.get("deviceMemoryUsed", 0) for i in its), default=None)
        status = "ok" if j.get("backend") == "cuda" else "**not on the GPU** (fell back to " + str(j.get("backend")) + ")"
        out.append(f"| {j['model']} | {j['batch']} | {j['plan']} | {j.get('backend')} | {size(j.get('predictedPeakBytes'))} | "
                   f"{size(j.get('measuredPeakBytes'))} | {size(used)} | {secs(t)} | "
                   f"{its[-1]['loss'] if its else '-'} | {status} |")
    out.append("")
    return out


def torch_section(res):
    out = ["## 3. PyTorch on the same GPU (`cuda-backend/pytorch_baseline.py`)", "",
           "fp32, TF32 off, Adam; peak = `torch.cuda.max_memory_allocated` over the iterations after the first.", "",
           "| model | batch | mode | max_memory_allocated | time / iter | status |", "|---|---:|---|---:|---:|---|"]
    rows = load_json(os.path.join(res, "pytorch.json")) or []
    if not rows:
        out += ["", "No PyTorch results. Output:", "", "```", read(os.path.join(res, "pytorch.txt"))[-2000:], "```"]
    for r in rows:
        status = r.get("error") or r.get("skipped") or "ok"
        out.append(f"| {r['model']} | {r['batch']} | {r['mode']} | {size(r.get('max_memory_allocated'))} | "
                   f"{secs(r.get('iteration_seconds'))} | {status} |")
    out.append("")
    return out


def combined_section(res):
    pairs = [("baseline", "eager"), ("recompute-optimal", "checkpoint"), ("swap", "save_on_cpu"), ("hybrid", None),
             ("share", None)]
    mp = {}
    for tag, rc, j, err in zoo_runs(res):
        if j and "model" in j and j.get("backend") == "cuda":
            its = j.get("iterations", [])
            later = its[1:] if len(its) > 1 else its
            t = sum(i["seconds"] for i in later) / len(later) if later else None
            mp[(j["model"], j["plan"])] = (j.get("measuredPeakBytes"), t)
    pt = {}
    for r in load_json(os.path.join(res, "pytorch.json")) or []:
        if "max_memory_allocated" in r:
            pt[(r["model"], r["mode"])] = (r["max_memory_allocated"], r.get("iteration_seconds"))
    models = sorted({m for m, _ in mp} | {m for m, _ in pt})
    out = ["## 4. Side by side", "", "| model | MemPlan plan | peak | time / iter | PyTorch mode | peak | time / iter |",
           "|---|---|---:|---:|---|---:|---:|"]
    for m in models:
        for plan, mode in pairs:
            a = mp.get((m, plan))
            b = pt.get((m, mode)) if mode else None
            if not a and not b:
                continue
            out.append(f"| {m} | {plan} | {size(a[0]) if a else '-'} | {secs(a[1]) if a else '-'} | {mode or ''} | "
                       f"{size(b[0]) if b else '-'} | {secs(b[1]) if b else '-'} |")
    out.append("")
    return out


def main():
    res, dest = sys.argv[1], sys.argv[2]
    device = read(os.path.join(res, "device.txt"), "unknown device")
    date = read(os.path.join(res, "date.txt"), "unknown date")
    lines = ["# MemPlan on a GPU", "", f"Measured {date} on **{device}** (nvidia-smi: name, driver, memory) by "
             "`cuda-backend/gpu-check.sh`; raw outputs in `gpu-check-out/`.", ""]
    lines += opcheck_section(res) + zoo_section(res) + torch_section(res) + combined_section(res)
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    with open(dest, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote " + dest)


if __name__ == "__main__":
    main()
