"""The main() of the scripts that record torch's own figures for a family of modules and keep each module's
graph-only ONNX export as a test fixture (fold_truth.py, recurrent_truth.py). Run with torch, never a dependency of
costcalc.

`run` parses `--out` and `--only`, and for each case (name -> (module factory, input shape, ...)) builds the module
(seed 0, eval mode) and its input, asks the script's `measure(name, case, model, x, path)` for the case's record
(which exports the module to `path`), checks the export with onnxruntime against torch's output
(`onnxruntime_equal`), keeps it stripped to its graph (make_onnx_fixtures.strip; gzipped above GZIP_ABOVE bytes)
as OUT/NAME.onnx, and writes every record, the earlier ones of cases not run kept, to OUT/expected.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
import warnings

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
GZIP_ABOVE = 200_000  # bytes of a stripped graph kept as NAME.onnx.gz
sys.path.insert(0, HERE)
import torch_truth  # noqa: E402  (sets TIMM_FUSED_ATTN before anything imports timm)
from make_onnx_fixtures import strip  # noqa: E402


def keep(full: str, kept: str) -> None:
    """The export at `full` stripped to its graph at `kept` (a large graph gzipped: the tests unpack it)."""
    strip(full, kept)
    if os.path.getsize(kept) > GZIP_ABOVE:
        with open(kept, "rb") as f, open(kept + ".gz", "wb") as g:
            g.write(gzip.compress(f.read(), compresslevel=9, mtime=0))
        os.remove(kept)


def run(doc: str, fixtures: str, cases: dict, measure, tolerance: tuple, extra=None) -> int:
    """main() of a truth script: its docstring `doc`, its fixtures' folder under tests/fixtures/onnx, its cases,
    `measure` (the record of one case, the module exported to the path it is given), onnxruntime's (rtol, atol)
    against torch's output, and `extra()`: further top-level records (run once, after the cases)."""
    import numpy
    import onnxruntime

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(HERE, "..", "tests", "fixtures", "onnx", fixtures))
    parser.add_argument("--only", help="comma-separated case names")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "expected.json")
    expected = json.load(open(path)) if os.path.exists(path) else {}
    work = tempfile.mkdtemp(prefix=f"costcalc-{fixtures}-")
    for name, case in cases.items():
        if args.only and name not in args.only.split(","):
            continue
        factory, shape = case[0], case[1]
        torch.manual_seed(0)
        model = factory().eval()
        x = torch.randn(*shape)
        full = os.path.join(work, f"{name}.onnx")
        entry = measure(name, case, model, x, full)
        with torch.no_grad():
            want = model(x).numpy()
        got = onnxruntime.InferenceSession(full, providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
        rtol, atol = tolerance
        entry["onnxruntime_equal"] = bool(numpy.allclose(got, want, rtol=rtol, atol=atol))
        keep(full, os.path.join(args.out, f"{name}.onnx"))
        expected[name] = entry
        print(name, {k: v for k, v in entry.items() if k != "macs_by_op"}, flush=True)
    expected.update(extra() if extra else {})
    expected["_run"] = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **torch_truth.versions()}
    with open(path, "w") as f:
        json.dump(dict(sorted(expected.items())), f, indent=1)
        f.write("\n")
    return 0
