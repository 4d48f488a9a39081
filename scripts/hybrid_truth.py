"""Torch's figures for the hybrid zoo of issue 23 (convolutions with attention), stage by stage, and their
graph-only ONNX exports.

Run by hand in the venv with torch, torchvision, timm, onnx and onnxscript (never dependencies of costcalc):

    nice -n 10 /work/TV/bin/python scripts/hybrid_truth.py [--only NAME,...] [--styles ts17,dyn18]

Each model (weights=None / pretrained=False, seed 0) at its native input is measured by scripts/torch_truth.py with
fused attention off, so that the attention's products (q @ k^T, attn @ v) are counted as the bmm they are:
`params` (torch's `sum(p.numel())`), `macs` (FlopCounterMode's total halved), `macs_by_op`, and per module path
(every module, the root being "") `params_by_module` and `macs_by_module`, for a spec author to compare stage by
stage. torchvision's published `_ops` (GFLOPs, i.e. giga multiply-adds) and `num_params` are recorded beside them,
and `published_equal` says whether the measured figures round to them. The figures go to
tests/data/hybrid_truth.json; the exports (TorchScript at opset 17, dynamo at 18), stripped to their graphs by
make_onnx_fixtures.strip and gzipped, to tests/fixtures/onnx/hybrid/NAME_STYLE.onnx.gz.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import torch_truth  # noqa: E402  (sets TIMM_FUSED_ATTN before timm is imported)

# zoo name -> (source, input size): timm's and torchvision's names, each at its native input
MODELS = {
    "mobilevit_xxs": ("timm", 256), "mobilevit_xs": ("timm", 256), "mobilevit_s": ("timm", 256),
    "efficientvit_b0": ("timm", 224), "levit_128s": ("timm", 224), "mobilenetv4_conv_small": ("timm", 224),
    "mobilenetv4_conv_medium": ("timm", 256), "mobilenetv4_hybrid_medium": ("timm", 256),
    "edgenext_xx_small": ("timm", 256), "fastvit_t8": ("timm", 256),
    "swin_t": ("torchvision", 224), "vit_b_16": ("torchvision", 224), "maxvit_t": ("torchvision", 224),
}


def build(name: str, source: str, trained: bool = False):
    """The model, untrained, or with every bias and batchnorm statistic drawn at random as a trained model's would
    be (make_onnx_fixtures.build): the dynamo optimiser drops a bias that is all zeros, so the exports that compare
    the two exporters (styles ending in `_trained`) are made of those."""
    import torch
    import torchvision

    if trained:
        from make_onnx_fixtures import build as trained_build

        return trained_build(name, source, trained=True)
    torch.manual_seed(0)
    if source == "timm":
        import timm

        return timm.create_model(name, pretrained=False).eval()
    return torchvision.models.get_model(name, weights=None).eval()


def published(name: str, source: str, figures: dict) -> dict | None:
    if source != "torchvision":
        return None
    import torchvision

    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    return {"params": meta["num_params"], "gmacs": meta["_ops"], "source": "torchvision weights metadata (_ops)",
            "published_equal": figures["params"] == meta["num_params"]
            and round(figures["macs"] / 1e9, 3) == meta["_ops"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", default=os.path.join(ROOT, "tests", "data", "hybrid_truth.json"))
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "onnx", "hybrid"))
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--styles", default="ts17,dyn18")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import torch

    from onnx_model_truth import export_graph_only

    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    truth = {}
    if os.path.exists(args.json):
        with open(args.json) as f:
            truth = json.load(f)
    work = tempfile.mkdtemp(prefix="costcalc-hybrid-")
    for name in args.only.split(",") if args.only else MODELS:
        source, size = MODELS[name]
        x = torch.randn(1, 3, size, size)
        start = time.time()
        figures = torch_truth.measure(build(name, source), x)
        cfg = build(name, source).pretrained_cfg if source == "timm" else {}
        record = {"source": source, "input": [3, size, size], "native_input": list(cfg.get("input_size", [3, size, size])),
                  **figures, "published": published(name, source, figures),
                  "exports": dict(truth.get(name, {}).get("exports", {}))}  # other styles' exports stay
        print(f"{name}: params {figures['params']:,} macs {figures['macs']:,} ({time.time() - start:.0f} s)", flush=True)
        for style in args.styles.split(","):
            start = time.time()
            raw = os.path.join(work, f"{name}_{style}.onnx")
            try:
                target = os.path.join(args.out, f"{name}_{style}.onnx.gz")
                trained = style.endswith("_trained")
                record["exports"][style] = export_graph_only(build(name, source, trained), x,
                                                             style.removesuffix("_trained"), raw, target,
                                                             build(name, source, trained))
                record["exports"][style]["seconds"] = round(time.time() - start, 1)
            except Exception as e:  # recorded, not hidden
                record["exports"][style] = {"status": "failed", "error": f"{type(e).__name__}: {str(e)[:400]}",
                                            "seconds": round(time.time() - start, 1)}
            for f in os.listdir(work):
                os.remove(os.path.join(work, f))
            print(f"  {style}: {record['exports'][style]}", flush=True)
        truth[name] = record
        truth["_about"] = {"script": "scripts/hybrid_truth.py", "versions": torch_truth.versions(),
                           "macs": "torch.utils.flop_counter.FlopCounterMode total / 2, fused attention off "
                                   "(scripts/torch_truth.py)"}
        with open(args.json, "w") as f:
            json.dump(dict(sorted(truth.items())), f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
