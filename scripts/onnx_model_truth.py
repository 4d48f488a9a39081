"""Torch's figures for every torchvision classification and segmentation model and for timm models across families,
and their graph-only ONNX exports: the truth the ONNX importer is tested against on whole models.

Run by hand in the venv with torch, torchvision, timm, onnx and onnxscript (never dependencies of costcalc):

    nice -n 10 /work/TV/bin/python scripts/onnx_model_truth.py [--only NAME,...] [--styles ts17,dyn18] [--timeout 180]

Each model (weights=None / pretrained=False, seed 0) is measured at its native input (torchvision: the crop of its
DEFAULT weights' transforms, 520 for segmentation; timm: its pretrained_cfg input_size) by scripts/torch_truth.py
(params, FlopCounterMode multiply-adds per aten op and per module down to depth 2, output shapes), then exported
by the TorchScript exporter at opset 17 (`--styles dyn18`: by the dynamo exporter at opset 18) and
stripped to its graph by make_onnx_fixtures.strip, gzipped into tests/fixtures/onnx/models/NAME_STYLE.onnx.gz
(timm's models: timm_NAME_STYLE.onnx.gz; their keys in the JSON are timm/NAME).
Each model runs in its own process with a time limit (`--timeout` seconds for the export); an export that fails
or takes longer is recorded, with torch's figures kept. The figures go to tests/data/onnx_model_truth.json:

- `params`: torch's `sum(p.numel())`; `params_in_file`: the same minus what the exporter folded away (a
  batchnorm folded into the conv before it: 2C gone, plus C for the bias the conv gains when it had none), read
  from the BatchNormalization nodes left in the exported file (null when the count does not tell which).
- `macs`, `macs_by_op`, `macs_by_module`, `params_by_module`, `outputs`: see scripts/torch_truth.py.
- `published`: torchvision's `num_params` and `_ops` (GFLOPs, i.e. giga multiply-adds) from the weights' metadata.
- `exports`: per style, the file, its size stripped and gzipped, its node count, seconds, or the failure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

TIMM = [
    # first the families issue 29 found refused, and the hybrids
    "resnest14d", "resnest26d", "ecaresnet26t", "ecaresnet50d", "convnextv2_atto", "convnextv2_nano", "mobileone_s0",
    "mobileone_s1", "fastvit_t8", "fastvit_sa12", "efficientvit_b0", "efficientvit_m0", "mobilevit_xxs",
    "mobilevit_xs", "mobilevit_s", "mobilevitv2_050", "edgenext_xx_small", "edgenext_x_small", "levit_128s",
    "levit_128", "mobilenetv4_conv_small", "mobilenetv4_conv_medium", "mobilenetv4_hybrid_medium",
    "efficientformer_l1", "efficientformerv2_s0", "tiny_vit_5m_224", "pvt_v2_b0", "coat_lite_tiny",
    "poolformer_s12", "poolformerv2_s12", "vit_tiny_patch16_224", "vit_small_patch16_224", "deit_tiny_patch16_224",
    "deit_small_distilled_patch16_224", "swin_tiny_patch4_window7_224", "coatnet_0_rw_224", "maxvit_tiny_rw_224",
    "xcit_nano_12_p16_224", "visformer_tiny", "pit_ti_224", "mixer_b16_224", "resmlp_12_224",
    # ResNet family and its attention variants
    "resnet18", "resnet50d", "resnext26ts", "seresnet18", "skresnet18", "res2net50_14w_8s", "resnetv2_50",
    "resnetrs50", "nf_resnet26", "tresnet_m", "botnet26t_256", "halonet26t", "lambda_resnet26t",
    # ConvNeXt and other modern CNNs, reparameterisable ones
    "convnext_atto", "convnext_tiny", "inception_next_tiny", "starnet_s1", "hgnetv2_b0", "regnetz_b16", "repvgg_a0",
    "repvit_m1",
    # mobile CNNs
    "mobilenetv3_large_100", "mobilenetv3_small_050", "efficientnet_b0", "efficientnet_lite0", "tf_efficientnetv2_b0",
    "mixnet_s", "mnasnet_100", "semnasnet_100", "fbnetc_100", "spnasnet_100", "lcnet_100", "tinynet_a",
    "ghostnet_100", "ghostnetv2_100", "rexnet_100", "regnetx_002", "regnety_002",
    # classic and multi-branch CNNs
    "dpn68", "densenet121", "inception_v3", "inception_v4", "xception41", "legacy_xception", "hrnet_w18_small",
    "cspresnet50", "cspdarknet53", "cs3darknet_s", "darknet53", "dla34", "dla46_c", "selecsls42b", "vovnet39a",
    "ese_vovnet19b_dw", "gernet_s",
]


def torchvision_names() -> list:
    import torchvision

    return ([("torchvision", n) for n in torchvision.models.list_models(module=torchvision.models)]
            + [("torchvision-segmentation", n)
               for n in torchvision.models.list_models(module=torchvision.models.segmentation)])


def build(source: str, name: str):
    """The model (untrained, seed 0) and its native input size."""
    import torch
    import torchvision

    torch.manual_seed(0)
    if source == "timm":
        import timm

        model = timm.create_model(name, pretrained=False)
        return model.eval(), model.pretrained_cfg["input_size"][-1]
    weights = torchvision.models.get_model_weights(name).DEFAULT
    transforms = weights.transforms()
    kwargs = {}
    if name in ("googlenet", "inception_v3"):
        kwargs = {"aux_logits": False, "init_weights": True}  # as published: the auxiliary heads are training-only
    if source == "torchvision-segmentation":
        # the published figures are of the model with its auxiliary head (lraspp has none)
        kwargs = {"aux_loss": True} if name.startswith(("fcn", "deeplabv3")) else {}
        kwargs["weights_backbone"] = None  # not downloaded: the figures need no weights
        size = transforms.resize_size[0]
    else:
        size = transforms.crop_size[0]
        if name.startswith("vit_") and size != 224:
            kwargs["image_size"] = size  # vit_h_14's DEFAULT weights are at 518: its position embedding follows
    model = torchvision.models.get_model(name, weights=None, **kwargs)
    return model.eval(), size


def published(source: str, name: str) -> dict | None:
    if source == "timm":
        return None
    import torchvision

    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    return {"params": meta["num_params"], "gmacs": meta["_ops"], "source": "torchvision weights metadata (_ops)"}


def folded_params(model, x, path: str) -> int | None:
    """torch's params minus what the exporter folded: conv -> batchnorm pairs seen by forward hooks on meta
    tensors, and the BatchNormalization nodes left in the exported file."""
    import onnx
    import torch

    pairs, outputs, handles = [], {}, []
    conv_types = torch.nn.modules.conv._ConvNd
    bn_types = torch.nn.modules.batchnorm._BatchNorm

    def conv_hook(module, inputs, output):
        outputs[id(output)] = (module, output)

    def bn_hook(module, inputs, output):
        hit = outputs.get(id(inputs[0]))
        if hit is not None and hit[1] is inputs[0]:
            pairs.append((module, hit[0]))

    batchnorms = [m for m in model.modules() if isinstance(m, bn_types)]
    calls = {}

    def count(module, inputs, output):
        calls[id(module)] = calls.get(id(module), 0) + 1

    for m in model.modules():
        if isinstance(m, conv_types):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, bn_types):
            handles += [m.register_forward_hook(bn_hook), m.register_forward_hook(count)]
    with torch.no_grad():
        model.to("meta")(x.to("meta"))
    for h in handles:
        h.remove()
    left = sum(n.op_type == "BatchNormalization" for n in onnx.load(path, load_external_data=False).graph.node)
    used = sum(calls.values())
    if any(v != 1 for v in calls.values()) or len({id(b) for b, _ in pairs}) != len(pairs):
        return None  # a batchnorm called twice: the node count does not say which were folded
    torch_params = sum(p.numel() for p in model.parameters())
    if left == used:
        return torch_params
    if left == used - len(pairs):
        return torch_params - sum(2 * bn.num_features for bn, _ in pairs if bn.affine) \
            + sum(bn.num_features for bn, conv in pairs if conv.bias is None)
    return None


def export_graph_only(model, x, style: str, raw: str, target: str, shadow) -> dict:
    """Export `model` in `style` (make_onnx_fixtures.export) to `raw`, strip it to its graph, gzip that to `target`;
    what the JSON says of the file. `shadow` is a copy of the model for the forward hooks of folded_params."""
    import onnx
    import torch

    from make_onnx_fixtures import export, strip

    with torch.no_grad():
        export(model, x, raw, style)
    stripped = raw + ".stripped"
    facts = strip(raw, stripped)
    with open(stripped, "rb") as f, gzip.GzipFile(target, "wb", mtime=0) as g:
        g.write(f.read())
    return {"status": "ok", "file": os.path.relpath(target, ROOT), "opset": facts["opset"],
            "producer": facts["producer"], "nodes": len(onnx.load(stripped, load_external_data=False).graph.node),
            "bytes_stripped": os.path.getsize(stripped), "bytes_gz": os.path.getsize(target),
            "batchnorm_nodes": facts["batchnorm_nodes"], "params_in_file": folded_params(shadow, x, raw)}


def worker(source: str, name: str, styles: list, out_dir: str, result_path: str, max_params: int) -> None:
    """One model in this process: torch's figures first (written at once), then each export."""
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(1)
    import torch_truth

    record: dict = {"source": source}
    start = time.time()
    shadow, size = build(source, name)  # measured on meta tensors, then its hooks tell what the exporter folds
    x = torch.randn(1, 3, size, size)
    record["input"] = [3, size, size]
    try:
        figures = torch_truth.measure(shadow, x, depth=2, device="meta")
    except Exception as e:  # an op meta tensors lack: the same count on real tensors
        shadow = build(source, name)[0]
        figures = torch_truth.measure(shadow, x, depth=2, device="cpu")
        figures["meta_failed"] = f"{type(e).__name__}: {str(e)[:200]}"
    model = build(source, name)[0] if figures["params"] <= max_params else None
    record.update(figures)
    record["published"] = published(source, name)
    record["measure_seconds"] = round(time.time() - start, 1)
    record["exports"] = {}

    def save():
        with open(result_path, "w") as f:
            json.dump(record, f)

    save()
    work = tempfile.mkdtemp(prefix="costcalc-truth-")
    for style in styles:
        if record["params"] > max_params:
            record["exports"][style] = {"status": "skipped", "error": f"not exported: more than {max_params:,} "
                                        "parameters (the export's time and memory on the shared machine)"}
            save()
            continue
        start = time.time()
        raw = os.path.join(work, f"{name}_{style}.onnx")
        entry: dict = {"status": "running"}
        record["exports"][style] = entry
        save()
        try:
            target = os.path.join(out_dir, f"{'timm_' if source == 'timm' else ''}{name}_{style}.onnx.gz")
            entry.update(export_graph_only(model, x, style, raw, target, shadow))
            entry["seconds"] = round(time.time() - start, 1)
        except Exception as e:  # torch cannot export it: recorded, not hidden
            entry.update({"status": "failed", "error": f"{type(e).__name__}: {str(e)[:400]}",
                          "seconds": round(time.time() - start, 1)})
        for f in os.listdir(work):
            os.remove(os.path.join(work, f))
        save()
    os.rmdir(work)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "onnx", "models"))
    parser.add_argument("--json", default=os.path.join(ROOT, "tests", "data", "onnx_model_truth.json"))
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--styles", default="ts17",
                        help="comma-separated export styles: ts17 (TorchScript, opset 17), dyn18 (dynamo, opset 18); "
                             "the exports of other styles already recorded are kept")
    parser.add_argument("--timeout", type=int, default=180, help="seconds per model for its exports")
    parser.add_argument("--figures-only", action="store_true",
                        help="torch's figures of the models not yet recorded, in this process, without exporting")
    parser.add_argument("--finish", metavar="REASON",
                        help="record every export not made (of --styles) as skipped for REASON, export nothing")
    parser.add_argument("--skip-done", action="store_true", help="skip the models whose exports are all recorded")
    parser.add_argument("--timm-only", action="store_true", help="only timm's models")
    parser.add_argument("--torchvision-only", action="store_true", help="only torchvision's models")
    parser.add_argument("--max-export-params", type=int, default=200_000_000,
                        help="models with more parameters are measured but not exported (memory and time)")
    parser.add_argument("--worker", nargs=4, metavar=("SOURCE", "NAME", "STYLES", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        source, name, styles, result = args.worker
        worker(source, name, styles.split(","), args.out, result, args.max_export_params)
        return 0
    os.makedirs(args.out, exist_ok=True)
    models = ([] if args.timm_only else torchvision_names()) + ([] if args.torchvision_only else [("timm", n) for n in TIMM])
    if args.only:
        order = {n: i for i, n in enumerate(args.only.split(","))}  # in the order given
        models = sorted(((s, n) for s, n in models if n in order), key=lambda m: order[m[1]])
    styles = args.styles.split(",")
    if args.figures_only:
        figures_only(models, args.json)
        return 0
    if args.finish:
        for source, name in models:
            key = f"timm/{name}" if source == "timm" else name
            exports = read(args.json).get(key, {}).get("exports", {})
            missing = {s: {"status": "skipped", "error": f"not exported: {args.finish}"} for s in styles
                       if exports.get(s, {}).get("status") not in ("ok", "failed", "skipped")}
            if missing:
                update(args.json, key, {"exports": missing})
        return 0
    for source, name in models:
        key = f"timm/{name}" if source == "timm" else name
        done = read(args.json).get(key, {}).get("exports", {})
        if args.skip_done and all(done.get(s, {}).get("status") == "ok" or "parameters" in done.get(s, {}).get(
                "error", "") for s in styles):  # exported, or too large to: a time-out is tried again
            continue
        result = tempfile.mktemp(suffix=".json")
        start = time.time()
        proc = subprocess.Popen([sys.executable, __file__, "--out", args.out, "--max-export-params",
                                 str(args.max_export_params), "--worker", source, name, ",".join(styles), result])
        timed_out = False
        try:
            proc.wait(timeout=args.timeout + 120)  # measuring, building and importing come on top of the exports
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            timed_out = True
        record = {"source": source, "error": f"worker exited {proc.returncode} before measuring"}
        if not os.path.exists(result) and "error" in read(args.json).get(key, {}):
            print(f"{key}: worker exited {proc.returncode} before measuring again; its recorded error is kept",
                  flush=True)
            continue
        if os.path.exists(result):
            with open(result) as f:
                record = json.load(f)
            os.remove(result)
        for style, entry in record.get("exports", {}).items():
            if entry.get("status") == "running":
                entry.update({"status": "skipped" if timed_out else "failed",
                              "error": f"export not finished within {args.timeout} s" if timed_out
                              else f"worker exited {proc.returncode} during the export"})
        record["name"] = name
        exports = {s: e.get("status") for s, e in record.get("exports", {}).items()}
        print(f"{key}: {time.time() - start:.0f} s params {record.get('params')} macs {record.get('macs')} "
              f"{exports} {record.get('error', '')}", flush=True)
        update(args.json, key, record)
    return 0


def figures_only(models: list, path: str) -> None:
    """torch's figures (on meta tensors) of every model not yet in the JSON; the exports are left to the runs that
    make them (a model never exported shows no `exports`)."""
    warnings.filterwarnings("ignore")
    import torch

    import torch_truth

    for source, name in models:
        key = f"timm/{name}" if source == "timm" else name
        if "params" in read(path).get(key, {}):
            continue
        start = time.time()
        try:
            model, size = build(source, name)
            x = torch.randn(1, 3, size, size)
            try:
                figures = torch_truth.measure(model, x, depth=2, device="meta")
            except Exception as e:
                figures = torch_truth.measure(build(source, name)[0], x, depth=2, device="cpu")
                figures["meta_failed"] = f"{type(e).__name__}: {str(e)[:200]}"
        except Exception as e:  # recorded, and the next model measured
            update(path, key, {"source": source, "name": name, "error": f"{type(e).__name__}: {str(e)[:300]}"})
            print(f"{key}: {type(e).__name__}: {e}", flush=True)
            continue
        record = {"source": source, "input": [3, size, size], **figures, "published": published(source, name),
                  "measure_seconds": round(time.time() - start, 1), "name": name}
        update(path, key, record)
        print(f"{key}: figures only, {time.time() - start:.0f} s params {record['params']} macs {record['macs']}",
              flush=True)


def read(path: str) -> dict:
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def update(path: str, key: str, record: dict) -> None:
    """Add one model's record to the JSON, under a lock (two runs, e.g. torchvision's and timm's, may share it);
    what a run did not measure (figures, the exports of other styles) is kept from the runs before."""
    import fcntl

    import torch_truth

    with open(os.path.join(tempfile.gettempdir(), "onnx_model_truth.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        truth = read(path)
        truth.pop("_about", None)
        old = truth.get(key, {})
        kept = {s: e for s, e in old.get("exports", {}).items() if s not in record.get("exports", {})}
        if "params" in record:  # figures measured this time: an earlier run's error is gone
            old = {k: v for k, v in old.items() if k != "error"}
        truth[key] = {**old, **record, "exports": {**kept, **record.get("exports", {})}}
        about = {"script": "scripts/onnx_model_truth.py", "versions": torch_truth.versions(),
                 "macs": "torch.utils.flop_counter.FlopCounterMode total / 2, fused attention off "
                         "(scripts/torch_truth.py)"}
        with open(path + ".tmp", "w") as f:
            json.dump({"_about": about, **dict(sorted(truth.items()))}, f, indent=1)
            f.write("\n")
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main())
