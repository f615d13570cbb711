#!/usr/bin/env python3
"""Runs `memplan profile` on every file of an export_corpus.py folder and prints the table for docs/onnx.md.

For each file of DIR/manifest.json: the wall time of `java -jar JAR profile FILE --json --batch-symbol N` (JVM start
included), whether it imported, MemPlan's parameter count against sum(p.numel()) from the manifest, and the
first line of the error when it did not import. Writes DIR/bench.json as well.

    /usr/bin/python3 tools/pytorch/corpus_bench.py DIR [--jar app/target/memplan.jar] [--batch 2]
"""
import argparse
import json
import os
import subprocess
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--jar", default=os.path.join(os.path.dirname(__file__), "..", "..", "app", "target",
                                                  "memplan.jar"))
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=120)
    a = ap.parse_args()
    manifest = json.load(open(os.path.join(a.dir, "manifest.json")))
    rows = []
    for file, m in sorted(manifest.items()):
        row = {"file": file, "model": m["model"], "opset": m["opset"], "params": m["params"]}
        if "error" in m:
            row.update(status="export failed", error=m["error"])
            rows.append(row)
            continue
        cmd = ["java", "-jar", a.jar, "profile", os.path.join(a.dir, file), "--json", "--batch", str(a.batch),
               "--batch-symbol", "N"]
        t0 = time.time()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
            row["seconds"] = round(time.time() - t0, 2)
            if p.returncode == 0:
                got = json.loads(p.stdout)["parameters"]
                row.update(status="ok" if got == m["params"] else "params differ", memplan_params=got)
            else:
                row.update(status="error", error=(p.stderr or p.stdout).strip().splitlines()[0][:200])
        except subprocess.TimeoutExpired:
            row.update(status="timeout", seconds=a.timeout)
        rows.append(row)
        print("%-42s %-14s %6ss" % (file, row["status"], row.get("seconds", "-")), flush=True)
    with open(os.path.join(a.dir, "bench.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print()
    print("| file | imports | parameters (PyTorch) | MemPlan | profile time (s, JVM start included) | note |")
    print("|---|---|---:|---:|---:|---|")
    for r in rows:
        print("| %s | %s | %d | %s | %s | %s |" % (r["file"], "yes" if r["status"] == "ok" else "**no**",
              r["params"], r.get("memplan_params", "-"), r.get("seconds", "-"),
              "" if r["status"] == "ok" else r["status"] + ": " + r.get("error", "").replace("|", "/")))


if __name__ == "__main__":
    main()
