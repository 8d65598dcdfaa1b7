"""Test-only stand-in for the graph-analyzer's Prepare step: opset-13 conversion (onnx's version
converter, as the reference does), `<OpType>_<k>` naming of unnamed nodes, shared linear weight
duplication. Usage: prepare_model.py in.onnx out.onnx"""
import sys
from collections import defaultdict

import onnx
from onnx import version_converter

src, dst = sys.argv[1], sys.argv[2]
m = onnx.load(src)
opset = [o for o in m.opset_import if not o.domain or o.domain in ("ai.onnx", "ai.onnx.contrib")][0].version
if opset < 13 and opset != 1:
    m = version_converter.convert_version(m, 13)
g = m.graph
names = set(n.name for n in g.node)
k = len(names)
for n in g.node:
    if not n.name:
        name = f"{n.op_type}_{k}"
        while name in names:
            k += 1
            name = f"{n.op_type}_{k}"
        n.name = name
        names.add(name)
consumers = defaultdict(list)
for n in g.node:
    for i in n.input:
        consumers[i].append(n)
for t in list(g.initializer):
    cs = consumers[t.name]
    if not cs or cs[0].op_type not in ("Conv", "MatMul", "Gemm"):
        continue
    if t.data_type not in (1, 10, 11, 16):
        continue
    for idx in range(1, len(cs)):
        c = onnx.TensorProto()
        c.CopyFrom(t)
        c.name = f"{t.name}_{idx}"
        g.initializer.append(c)
        node = cs[idx]
        j = [i for i, x in enumerate(node.input) if x == t.name][0]
        node.input[j] = c.name
onnx.save(m, dst)
