"""Small networks written by hand the ways people write them -> graph-only ONNX fixtures from both torch exporters,
and torch's own figures for each: the truth the generic tensor layer of the importer is tested against.

Run by hand in the venv with torch, onnx and onnxscript (never dependencies of costcalc):

    nice -n 10 /work/TV/bin/python scripts/make_onnx_handwritten_fixtures.py [--only NAME,...]

Each network of scripts/handwritten_modules.py is exported by the TorchScript exporter (`dynamo=False`) and the
dynamo exporter at opsets 13, 17 and 20 (styles ts13 ... dyn20; an opset an exporter refuses is recorded in
`_refused`: the dynamo exporter writes opset 18 and converts, and where the conversion fails it leaves opset 18,
kept as NAME_dyn18), checked by onnx.checker and onnxruntime, stripped to its graph by make_onnx_fixtures.strip
into tests/fixtures/onnx/handwritten/NAME_STYLE.onnx, and described in `expected.json`:

- `params`: torch's `sum(p.numel())`; `params_in_file`: the same minus what the exporter folded (a batchnorm into
  the conv before it), from the BatchNormalization nodes left in the file (scripts/onnx_model_truth.py).
- `macs`: torch.utils.flop_counter.FlopCounterMode's total halved (conv of any rank and transposed, mm, addmm, bmm,
  baddbmm; einsum and attention run as bmm), `macs_by_op` per aten op, `outputs` the output shapes: see
  scripts/torch_truth.py. The same for every style of a module: the exporter changes the graph, not the network.
- `op_types`: the ONNX op types in the exported file and how many of each (what the file asks of the importer).
- `onnxruntime_equal`: the exported file (with its weights) run by onnxruntime gives torch's output.

The parameters are drawn uniformly in [-0.5, 0.5] (batchnorm variances in [0.5, 1.5]): the dynamo exporter's
optimiser drops an all-zero bias, which would change the file's parameter count.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import os
import sys
import tempfile
import time
import warnings

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_truth  # noqa: E402  (sets TIMM_FUSED_ATTN before anything imports timm)
from make_onnx_fixtures import export, strip  # noqa: E402
from handwritten_modules import MODULES  # noqa: E402
from onnx_model_truth import folded_params, read  # noqa: E402

STYLES = ("ts13", "ts17", "ts20", "dyn13", "dyn17", "dyn20")


def make(cls):
    torch.manual_seed(0)
    model = cls().eval()
    with torch.no_grad():
        for key, tensor in [*model.named_parameters(), *model.named_buffers()]:
            if not tensor.is_floating_point():
                continue
            if key.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
            else:
                tensor.uniform_(-0.5, 0.5)
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(HERE, "..", "tests", "fixtures", "onnx", "handwritten"))
    parser.add_argument("--only", help="comma-separated module names")
    parser.add_argument("--styles", default=",".join(STYLES))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    import numpy
    import onnx
    import onnxruntime

    run = time.strftime("%Y-%m-%d %H:%M")
    os.makedirs(args.out, exist_ok=True)
    expected_path = os.path.join(args.out, "expected.json")
    expected = read(expected_path)
    work = tempfile.mkdtemp(prefix="costcalc-handwritten-")
    names = args.only.split(",") if args.only else list(MODULES)
    for name in names:
        cls, size = MODULES[name]
        x = torch.randn(1, 3, size, size)
        figures = torch_truth.measure(make(cls), x, modules=False)
        refused = expected.get("_refused", {})
        model = make(cls)
        with torch.no_grad():
            reference = model(x).numpy()
        for style in args.styles.split(","):
            key = f"{name}_{style}"
            raw = os.path.join(work, key + ".onnx")
            try:
                with torch.no_grad():
                    export(make(cls), x, raw, style)
            except Exception as e:  # the exporter refuses this module at this opset: recorded, not a fixture
                refused[key] = f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300]}"
                expected.pop(key, None)
                print(f"{key}: refused: {refused[key]}", flush=True)
                continue
            refused.pop(key, None)
            wanted = int(style.lstrip("tsdyn"))
            opset = next(o.version for o in onnx.load(raw, load_external_data=False).opset_import
                         if o.domain in ("", "ai.onnx"))
            if opset != wanted:  # the dynamo exporter writes 18 and converts; a failed conversion leaves 18
                refused[key] = (f"asked for opset {wanted}, the exporter wrote opset {opset} (its version conversion "
                                f"failed); kept as {name}_{style[:-2]}{opset}")
                expected.pop(key, None)
                print(f"{key}: {refused[key]}", flush=True)
                key = f"{name}_{style[:-2]}{opset}"
                if key in expected and expected[key].get("run") == run:
                    continue
            target = os.path.join(args.out, key + ".onnx")
            try:
                onnx.checker.check_model(onnx.load(raw), full_check=True)
                session = onnxruntime.InferenceSession(raw, providers=["CPUExecutionProvider"])
                (result,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
            except Exception as e:  # the exporter wrote a file that is not a valid model: recorded, not a fixture
                refused[key] = f"the exported file is invalid: {type(e).__name__}: {str(e).strip()[:300]}"
                expected.pop(key, None)
                print(f"{key}: invalid: {refused[key]}", flush=True)
                continue
            facts = strip(raw, target)
            graph = onnx.load(target, load_external_data=False).graph
            expected[key] = {
                "module": name, "class": cls.__name__, "style": key[len(name) + 1:], "input": [3, size, size],
                "opset": facts["opset"], "producer": facts["producer"],
                "params": figures["params"], "params_in_file": folded_params(copy.deepcopy(make(cls)), x, raw),
                "macs": figures["macs"], "macs_by_op": figures["macs_by_op"], "outputs": figures["outputs"],
                "op_types": dict(sorted(collections.Counter(n.op_type for n in graph.node).items())),
                "onnxruntime_equal": bool(result.shape == reference.shape
                                          and numpy.allclose(result, reference, rtol=1e-3, atol=1e-4)),
                "run": run,
            }
            print(f"{key}: params {figures['params']} in file {expected[key]['params_in_file']} "
                  f"macs {figures['macs']} opset {facts['opset']} onnxruntime {expected[key]['onnxruntime_equal']}",
                  flush=True)
            for f in os.listdir(work):
                os.remove(os.path.join(work, f))
        expected["_refused"] = dict(sorted(refused.items()))
        expected["_about"] = {"script": "scripts/make_onnx_handwritten_fixtures.py", "versions": torch_truth.versions()}
        with open(expected_path, "w") as f:
            json.dump(dict(sorted(expected.items())), f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
