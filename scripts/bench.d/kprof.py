#!/usr/bin/env python3
"""Per-node profile of one light model compiled by onnxc (LLVM, host CPU).

    scripts/bench.d/kprof.py ONNXC MODEL [ITERS]     (TOP=N rows, default 40)

Compiles .cache/light/MODEL_rand.onnx with `--emit ir`, links it into the
bench harness, records ITERS runs with `perf record` (kernel functions are
named after their node index), and prints per node: CPU ms per run (the
run's task-clock split by perf samples), share, and for convolutions GFLOP
and GFLOP/s, with the node's IR line. CPU time, not wall time, so it stays
usable on a busy machine; compare binaries by alternating runs.
"""
import os, re, subprocess, sys, tempfile, collections, shutil
onnxc, m = sys.argv[1], sys.argv[2]
it = int(sys.argv[3]) if len(sys.argv) > 3 else 30
d = tempfile.mkdtemp(prefix="kprof.")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
L = os.path.join(ROOT, ".cache", "light")
subprocess.run([onnxc, "compile", f"{L}/{m}_rand.onnx", "--backend", "llvm", "--cpu", "native", "--name", "model", "-o", f"{d}/model.o", "-q", "--emit", "ir,obj,header"], check=True)
subprocess.run(["cc", "-O2", "-I", d, os.path.join(ROOT, "scripts", "bench.d", "harness.c"), f"{d}/model.o", "-o", f"{d}/run", "-lm"], check=True)
subprocess.run(["perf", "record", "-q", "-o", f"{d}/p.data", f"{d}/run", f"{d}/o.bin", "1", str(it), str(it), "0", f"{L}/{m}_rand_input_0.raw"], check=True, capture_output=True)
rep = subprocess.run(["perf", "report", "-i", f"{d}/p.data", "--stdio", "--sort", "symbol", "-F", "sample,symbol"], capture_output=True, text=True).stdout
# IR: node index -> (text, flops)
nodes = []
for line in open(f"{d}/model.onnxir"):
    if "= const" in line or not line.startswith("  %"):
        continue
    nodes.append(line.strip())
def dims(s):
    return [int(x) for x in s.split(",")] if s else []
def flops(line):
    mo = re.match(r'%\d+ "[^"]*": f32\[([\d,]*)\] = (.*)', line)
    if not mo: return 0
    out = dims(mo.group(1)); rest = mo.group(2)
    if re.search(r"Conv(Nhwc)?\(", rest):
        k = re.search(r"kernel_shape: \[([\d, ]*)\]", rest)
        kk = 1
        for x in k.group(1).split(","): kk *= int(x)
        g = int(re.search(r"group: (\d+)", rest).group(1))
        # Cin from weight: unknown here; use weight const type lookup
        wid = re.findall(r"%(\d+)", rest.split(")(")[-1])[1]
        return ("conv", out, kk, g, wid)
    return 0
consts = {}
for line in open(f"{d}/model.onnxir"):
    mo = re.match(r'\s*%(\d+) "[^"]*": f32\[([\d,]*)\] = const', line)
    if mo: consts[mo.group(1)] = dims(mo.group(2))
samples = collections.Counter(); total = 0
for line in rep.splitlines():
    mo = re.match(r"\s*(\d+)\s+\[\.\]\s+(\S+)", line)
    if not mo: continue
    n, sym = int(mo.group(1)), mo.group(2)
    total += n
    km = re.match(r"model\.k\d+\.k(\d+)_", sym)
    samples[int(km.group(1)) if km else sym] += n
ms_total = None
st = subprocess.run(["perf", "stat", "-x,", "-e", "task-clock", f"{d}/run", f"{d}/o.bin", "1", str(it), str(it), "0", f"{L}/{m}_rand_input_0.raw"], capture_output=True, text=True).stderr
for l in st.splitlines():
    if "task-clock" in l: ms_total = float(l.split(",")[0]) / (it + 1)
print(f"{m}: {ms_total:.2f} ms cpu per run (incl. startup share)")
rows = []
for key, n in samples.most_common():
    ms = ms_total * n / total
    if isinstance(key, int) and key < len(nodes):
        f = flops(nodes[key]); txt = nodes[key]
        gf = ""
        if f:
            _, out, kk, g, wid = f
            w = consts.get(wid)
            if w:
                fl = 2 * w[1] * kk
                for x in out: fl *= x
                gf = f"{fl/1e9:.3f} GF {fl/1e6/ms:.0f} GF/s" if ms > 0 else ""
        short = re.sub(r'\(window: \(kernel_shape: (\[[\d, ]*\]), strides: (\[[\d, ]*\]), pads: \[[\d, ]*\], dilations: \[1, 1\]\)', r'(\1 s\2', txt)
        rows.append((ms, f"{ms:7.3f} ms {100*n/total:5.1f}%  {gf:24s} n{key}: {short[:150]}"))
    else:
        rows.append((ms, f"{ms:7.3f} ms {100*n/total:5.1f}%  {key}"))
shutil.rmtree(d, ignore_errors=True)
for _, r in rows[:int(os.environ.get("TOP", "40"))]:
    print(r)
