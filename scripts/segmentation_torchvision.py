"""Record torchvision's segmentation models as test data: for each, the
published num_params and _ops (GFLOPs) of its default weights, and what torch itself counts on the built model: the
parameters, the multiply-adds of its convolutions and matmuls (torch.utils.flop_counter.FlopCounterMode, which
counts 2 per multiply-add, halved here; bias not counted), and the shape of every output, at the published
resolution (520 x 520). The segmentation models are built as their
published weights are (aux_loss=True where the weights have the auxiliary head). tests/test_zoo_segmentation.py
checks the zoo specs against it.

Needs torch and torchvision (no weights are downloaded: the models are built with random weights):

    /work/TV/bin/python scripts/segmentation_torchvision.py   # writes tests/data/segmentation_torchvision.json
"""

from __future__ import annotations

import json
import pathlib

import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode
from torchvision import models
from torchvision.models import segmentation

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "segmentation_torchvision.json"
MODELS = {  # name -> (builder, keyword arguments as the published weights have them, input size)
    "fcn_resnet50": (segmentation.fcn_resnet50, {"aux_loss": True}, 520),
    "deeplabv3_resnet50": (segmentation.deeplabv3_resnet50, {"aux_loss": True}, 520),
    "lraspp_mobilenet_v3_large": (segmentation.lraspp_mobilenet_v3_large, {}, 520),
}


def record(name: str) -> dict:
    builder, kwargs, size = MODELS[name]
    weights = models.get_model_weights(builder).DEFAULT
    extra = {"weights_backbone": None} if builder is not models.mobilenet_v3_large else {}
    net = builder(weights=None, **extra, **kwargs).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = net(torch.zeros(1, 3, size, size))
    outputs = out if isinstance(out, dict) else {"out": out}
    return {
        "input": [3, size, size],
        "published_params": weights.meta["num_params"],
        "published_gflops": weights.meta["_ops"],
        "params": sum(p.numel() for p in net.parameters()),
        "multiply_adds": counter.get_total_flops() // 2,
        "counted_ops": sorted(str(op) for op in counter.get_flop_counts()["Global"]),
        "outputs": {key: list(value.shape) for key, value in outputs.items()},
    }


def main() -> None:
    data = {"torch": torch.__version__, "torchvision": torchvision.__version__,
            "models": {name: record(name) for name in MODELS}}
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
