"""Measure what fvcore, ptflops, thop, DeepSpeed's flops profiler and calflops print for torchvision's model of every
zoo spec that names one
(`source: torchvision.models.NAME`), at the spec's input, and write it to tests/data/tool_totals.json, the test data
tests/test_tool_totals.py holds costcalc's `--convention` figures against.

Needs torch, torchvision and the five tools (not the test suite's environment):

    pip install torch torchvision fvcore==0.1.5.post20221221 ptflops==0.7.5 thop==0.1.1.post2209072238
    pip install calflops==0.3.2 transformers; DS_BUILD_OPS=0 pip install --no-build-isolation deepspeed==0.19.8
    python scripts/measure_tool_totals.py            # all of them (a few minutes)
    python scripts/measure_tool_totals.py resnet18   # some; the others keep their stored figures

Models are built with random weights (counts never depend on weight values), in eval mode, batch 1.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys
from importlib.metadata import version

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import torch  # noqa: E402
from tool_flops import ROOT, TOOLS, tool_flops  # noqa: E402

SPECS = ROOT / "specs"
TARGET = ROOT / "tests" / "data" / "tool_totals.json"
EXTRA_INPUTS = {"vgg16": [[3, 256, 256]]}  # where the adaptive pool's windows overlap


def zoo() -> dict:
    """spec stem -> (torchvision model name, input [C, H, W]) for every spec that names a torchvision model."""
    from costcalc.graph import load

    found = {}
    for path in sorted(SPECS.glob("*.yaml")):
        match = re.search(r"^source: torchvision\.models\.(\w+)\s*$", path.read_text(), re.M)
        if match:
            found[path.stem] = (match.group(1), list(load(str(path)).input_shape))
    return found


def measure(model_name: str, shape: list) -> dict:
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, model_name)().eval()
    x = torch.randn(1, *shape)
    figures = {tool: tool_flops(tool, model, x) for tool in TOOLS}
    figures["params"] = sum(p.numel() for p in model.parameters())
    return figures


def main(argv: list) -> int:
    stored = json.loads(TARGET.read_text()) if TARGET.exists() else {"totals": {}}
    totals = stored["totals"]
    for stem, (model_name, shape) in zoo().items():
        if argv and stem not in argv:
            continue
        for inp in [shape, *EXTRA_INPUTS.get(stem, [])]:
            key = stem if inp == shape else f"{stem}@{'x'.join(map(str, inp))}"
            totals[key] = {"model": f"torchvision.models.{model_name}", "input": inp, **measure(model_name, inp)}
            print(key, totals[key], flush=True)
    doc = {
        "measured_with": {name: version(name) for name in ("torch", "torchvision", "fvcore", "ptflops", "thop",
                                                           "deepspeed", "calflops")},
        "how": "scripts/measure_tool_totals.py: FlopCountAnalysis(model, x).total(), get_model_complexity_info(model, "
               "input, as_strings=False, backend='pytorch')[0], thop.profile(model, inputs=(x,))[0], deepspeed's "
               "get_model_profile(model, input_shape, as_string=False)[0], calflops.calculate_flops(model, "
               "input_shape, output_as_string=False)[0]; batch 1, eval mode, random weights",
        "totals": dict(sorted(totals.items())),
    }
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
