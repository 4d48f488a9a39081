"""Record torchvision's RegNet layouts as test data: for every regnet_x_* / regnet_y_* builder, the parameters it
passes to BlockParams.from_init_params (depth, w_0, w_a, w_m, group_width, se_ratio) and what the built model
has per stage (blocks, output width, groups of the 3x3 conv), plus the published params and GFLOPS of its
ImageNet weights; for the two 400MF models, the multiply-adds of their conv and linear layers at 224 x 224
(forward hooks). tests/test_spec_functions.py computes the stages from the parameters in the spec language.

Needs torch and torchvision (the models are built on the meta device: nothing is allocated or downloaded):

    /work/TV/bin/python scripts/regnet_widths.py   # writes tests/data/regnet_torchvision.json
"""

from __future__ import annotations

import json
import pathlib

import torch
import torchvision
from torchvision.models import regnet

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "regnet_torchvision.json"


def _multiply_adds(net) -> int:
    """Multiply-adds of every conv and linear layer on one 3 x 224 x 224 image, bias not counted."""
    total = [0]

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            kh, kw = module.kernel_size
            total[0] += output.numel() * module.in_channels // module.groups * kh * kw
        else:
            total[0] += output.numel() * module.in_features

    for module in net.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            module.register_forward_hook(hook)
    with torch.no_grad():
        net.eval()(torch.zeros(1, 3, 224, 224))
    return total[0]


def main() -> None:
    captured: dict = {}
    original = regnet.BlockParams.from_init_params.__func__

    def capture(cls, **kwargs):
        captured.update(kwargs)
        with torch.device("cpu"):  # the widths are computed with real tensors; the model is built on meta
            return original(cls, **kwargs)

    regnet.BlockParams.from_init_params = classmethod(capture)
    models = {}
    for name in sorted(n for n in dir(regnet) if n.startswith(("regnet_x_", "regnet_y_"))):
        captured.clear()
        with torch.device("meta"):
            net = getattr(regnet, name)()
        stages = [list(stage.children()) for stage in net.trunk_output.children()]
        weights = list(regnet.__dict__[f"RegNet_{name[7].upper()}_{name[9:].upper()}_Weights"])[0]  # 224 x 224
        models[name] = {
            "init_params": {k: captured[k] for k in ("depth", "w_0", "w_a", "w_m", "group_width")}
            | {"se_ratio": captured.get("se_ratio", None)},
            "stage_depths": [len(blocks) for blocks in stages],
            "stage_widths": [blocks[0].f.c[0].out_channels for blocks in stages],
            "stage_groups": [blocks[0].f.b[0].groups for blocks in stages],
            "params": sum(p.numel() for p in net.parameters()),
            "published": {"weights": weights.name, "num_params": weights.meta["num_params"],
                          "gflops": weights.meta["_ops"]},
        }
    for name in ("regnet_x_400mf", "regnet_y_400mf"):
        models[name]["conv_fc_multiply_adds"] = _multiply_adds(getattr(regnet, name)())
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"torchvision": torchvision.__version__, "models": models}, indent=1) + "\n")
    print(f"wrote {len(models)} models to {OUT}")


if __name__ == "__main__":
    main()
