"""The models outside the zoo that benchmarks/latency_accuracy.py times: torchvision and timm classification
networks across families, none of them a zoo spec (specs/*.yaml) and none used in the calibration (which only
ever sees its own synthetic networks). Nobody tuned the latency model to them: they were chosen by family, before
any was estimated, from the models scripts/onnx_model_truth.py already exports, lighter ones preferred within a
family so that one benchmark run can time them all.

Exports them as whole models, weights and all (untrained, seed 0: a kernel's time does not depend on the values),
by the TorchScript exporter at opset 17, batch 1 (`--batch 8`: batch 8, for the batch-8 setting; the exporter
fixes the batch in the graph's reshapes, so each batch is its own export), at each model's native input size
(torchvision: its DEFAULT weights' crop; timm: its pretrained_cfg), into a directory outside the repository (a few
GB: never committed; the repository keeps graph-only copies of some under tests/fixtures/onnx/models). Each model
runs in its own process with a time limit; NAME.json beside each export records its file, input and parameters,
or the failure.

Run by hand in the venv with torch, torchvision and timm (never dependencies of costcalc):

    nice -n 15 /work/TV/bin/python scripts/latency_outside_models.py --out /tmp/costcalc-outside [--only a,b]
    python benchmarks/latency_accuracy.py --outside /tmp/costcalc-outside ...
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

# (source, name): 59 models of some 40 architecture families, none a zoo spec
MODELS = [
    # classic CNNs
    ("torchvision", "alexnet"), ("torchvision", "vgg11"), ("torchvision", "vgg13_bn"), ("torchvision", "googlenet"),
    ("torchvision", "inception_v3"), ("torchvision", "wide_resnet50_2"),
    # mobile CNNs (torchvision)
    ("torchvision", "mnasnet0_5"), ("torchvision", "mnasnet1_0"), ("torchvision", "mnasnet1_3"),
    ("torchvision", "mobilenet_v3_small"), ("torchvision", "mobilenet_v3_large"), ("torchvision", "efficientnet_b2"),
    ("torchvision", "efficientnet_b3"),
    # RegNets (torchvision)
    ("torchvision", "regnet_x_800mf"), ("torchvision", "regnet_x_1_6gf"), ("torchvision", "regnet_y_800mf"),
    ("torchvision", "regnet_y_1_6gf"),
    # ConvNeXt and transformers (torchvision)
    ("torchvision", "convnext_small"), ("torchvision", "vit_b_32"),
    # ResNet variants with attention (timm)
    ("timm", "resnet50d"), ("timm", "resnext26ts"), ("timm", "seresnet18"), ("timm", "skresnet18"),
    ("timm", "ecaresnet26t"), ("timm", "resnest14d"), ("timm", "res2net50_14w_8s"),
    # mobile CNNs (timm)
    ("timm", "mobilenetv3_small_050"), ("timm", "efficientnet_lite0"), ("timm", "tf_efficientnetv2_b0"),
    ("timm", "mixnet_s"), ("timm", "semnasnet_100"), ("timm", "fbnetc_100"), ("timm", "spnasnet_100"),
    ("timm", "lcnet_100"), ("timm", "tinynet_a"), ("timm", "ghostnet_100"), ("timm", "rexnet_100"),
    ("timm", "regnetx_002"), ("timm", "regnety_002"), ("timm", "mobileone_s0"), ("timm", "repvit_m1"),
    ("timm", "hgnetv2_b0"),
    # multi-branch and other CNNs (timm)
    ("timm", "dla34"), ("timm", "dla46_c"), ("timm", "dpn68"), ("timm", "cs3darknet_s"), ("timm", "gernet_s"),
    ("timm", "repvgg_a0"), ("timm", "ese_vovnet19b_dw"), ("timm", "selecsls42b"), ("timm", "hrnet_w18_small"),
    # ConvNeXt-likes and transformers (timm)
    ("timm", "convnext_atto"), ("timm", "convnextv2_atto"), ("timm", "poolformer_s12"), ("timm", "starnet_s1"),
    ("timm", "deit_tiny_patch16_224"), ("timm", "levit_128"), ("timm", "pvt_v2_b0"), ("timm", "efficientformer_l1"),
]


def file_name(source: str, name: str) -> str:
    return f"{'timm_' if source == 'timm' else ''}{name}.onnx"


def worker(source: str, name: str, out: str, result: str, batch: int = 1) -> None:
    warnings.filterwarnings("ignore")
    import torch

    from make_onnx_fixtures import export
    from onnx_model_truth import build

    torch.set_num_threads(1)
    start = time.time()
    model, size = build(source, name)
    record = {"source": source, "input": [3, size, size], "params": sum(p.numel() for p in model.parameters()),
              "batch": batch}
    path = os.path.join(out, file_name(source, name))
    try:  # with gradients on: under no_grad torchvision's attention takes a fused path no exporter knows
        export(model, torch.randn(batch, 3, size, size), path, "ts17")
        record.update({"status": "ok", "file": os.path.basename(path), "bytes": os.path.getsize(path)})
    except Exception as e:  # recorded, not hidden
        record.update({"status": "failed", "error": f"{type(e).__name__}: {' '.join(str(e).split())[-300:]}"})
    record["seconds"] = round(time.time() - start, 1)
    with open(result, "w") as f:
        json.dump(record, f)


def record_path(out: str, source: str, name: str) -> str:
    return os.path.join(out, file_name(source, name)[:-5] + ".json")


def read_manifest(out: str) -> dict:
    """'source/name' -> its record, of every model exported (or tried) into `out`."""
    manifest = {}
    for source, name in MODELS:
        path = record_path(out, source, name)
        if os.path.exists(path):
            with open(path) as f:
                manifest[f"{source}/{name}"] = json.load(f)
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="directory for the exports and their records (NAME.json)")
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--again", action="store_true", help="export again the models already exported")
    parser.add_argument("--jobs", type=int, default=1, help="exports at a time (one process each)")
    parser.add_argument("--timeout", type=int, default=400, help="seconds per model")
    parser.add_argument("--list", action="store_true", help="print the models and exit")
    parser.add_argument("--batch", type=int, default=1, help="the batch each model is exported at")
    parser.add_argument("--worker", nargs=3, metavar=("SOURCE", "NAME", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker[:2], args.out, args.worker[2], args.batch)
        return 0
    if args.list:
        for source, name in MODELS:
            print(f"{source}/{name}")
        return 0
    os.makedirs(args.out, exist_ok=True)
    done = read_manifest(args.out)
    chosen = set(args.only.split(",")) if args.only else None
    todo = [(source, name) for source, name in MODELS if (chosen is None or name in chosen)
            and (args.again or done.get(f"{source}/{name}", {}).get("status") != "ok")]
    running: list = []
    while todo or running:
        while todo and len(running) < args.jobs:
            source, name = todo.pop(0)
            result = record_path(args.out, source, name)
            if os.path.exists(result):
                os.remove(result)
            proc = subprocess.Popen([sys.executable, __file__, "--out", args.out, "--batch", str(args.batch),
                                     "--worker", source, name, result])
            running.append((proc, source, name, result, time.time()))
        time.sleep(1)
        for item in list(running):
            proc, source, name, result, start = item
            if proc.poll() is None and time.time() - start < args.timeout:
                continue
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            running.remove(item)
            if not os.path.exists(result):
                with open(result, "w") as f:
                    json.dump({"source": source, "status": "failed",
                               "error": f"no export within {args.timeout} s (exit {proc.returncode})"}, f)
            with open(result) as f:
                status = json.load(f)["status"]
            print(f"{source}/{name}: {status} in {time.time() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
