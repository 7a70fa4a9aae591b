#!/usr/bin/env python3
"""Prints the README's conformance section (markdown) from the harness's
.cache/conformance/summary.json (written by `scripts/test`)."""
import json
import sys

path = sys.argv[1] if len(sys.argv) > 1 else ".cache/conformance/summary.json"
s = json.load(open(path))
bound = s.get("passed_with_bound", 0)
print(f"**{s['passed']} passed, {s['failed']} failed** of {s['total']} cases "
      f"(onnx {s['onnx_version']}, x86-64, Cranelift backend).\n")
if bound:
    print(f"{bound} of the passes compile with graph inputs bound at compile time "
          "(`--bind`: the case's input decides an output shape; see \"Inputs bound at compile time\").\n")
print("Failures by stage: " + ", ".join(f"{k} {v}" for k, v in sorted(s["failed_by_stage"].items())) + ".\n")
rows = sorted(s["ops"].items())
full = [op for op, r in rows if r["failed"] == 0]
part = [(op, r) for op, r in rows if r["failed"] > 0]
print(f"Ops whose every case passes ({len(full)}): " + ", ".join(full) + ".\n")
print("| op | passed | failed |\n|---|---|---|")
for op, r in part:
    print(f"| {op} | {r['passed']} | {r['failed']} |")
