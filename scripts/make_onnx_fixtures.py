"""Real ONNX exports of torchvision and timm models -> graph-only test fixtures and their ground-truth figures.

Run by hand, in a separate venv that has torch, torchvision, timm, onnx and onnxscript (never dependencies of
costcalc; the test suite reads only what this writes):

    /work/TV/bin/python scripts/make_onnx_fixtures.py [--out tests/fixtures/onnx] [--only resnet18,...]

Each model is exported in several styles (TorchScript `dynamo=False` at opsets 9-17 with and without constant
folding, the dynamo exporter at opset 18 with and without its optimiser, external data, dynamic axes, fp16,
weights as graph inputs with `export_params=False`, `torch.jit.script`). Every file is then stripped to its graph:
initializers keep their names, types and dims, but their data (more than `KEEP_ELEMENTS` values) is dropped and
pointed at an absent external file, and the nodes' stack traces are dropped; shape constants stay inline.

`expected.json` holds, per fixture, the figures costcalc must give and where they come from, all measured in torch:
- `params`: torch's own count (sum of `p.numel()`), minus the batchnorm parameters the exporter folded into the
  conv before (2C each) plus the bias such a conv gains (C, when it had none); which batchnorms were folded is
  read from the exported file (a BatchNormalization node left, or not).
- `flops`: multiply-adds of every Conv2d and Linear, from forward hooks (output elements x inputs per output).
- `published`: torchvision's `num_params` and GFLOPS (`_ops`) from the weights' metadata (nothing downloaded).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
import warnings

import onnx
import torch
import torchvision

KEEP_ELEMENTS = 64  # initializers this small stay inline: shape constants, Clip bounds, scalars
WEIGHT_VIEWS = ("Transpose", "Reshape", "Cast", "Identity", "Squeeze", "Unsqueeze")
KEEP_DATA = 100_000  # indices and constant data up to this size stay inline too (below)
WEIGHT_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "LayerNormalization",
              "InstanceNormalization", "GroupNormalization", "PRelu", "LSTM", "GRU", "RNN")  # inputs after the first: weights
# the node metadata dropped: all but the module path (name_scopes) and the modules' classes (class_hierarchy), which
# costcalc reads; `namespace` says the same as the two, `rule_name` names the optimiser's rewrites (costcalc reads
# both when present: tests build them)
DROP_METADATA = ("pkg.torch.onnx.stack_trace", "pkg.torch.onnx.fx_node", "pkg.onnxscript.rewriter.rule_name",
                 "namespace")

# name -> (constructor, input size, styles); styles name export variants (see STYLES)
ALL = ("ts17", "dyn18")
MODELS = {
    "resnet18": ("torchvision", 224, ALL + ("ts9", "ts13_nofold", "dyn18_noopt", "ts17_noparams", "ts17_external",
                                            "ts17_dynamic", "dyn18_dynamic")),
    "resnet50": ("torchvision", 224, ALL + ("ts17_nofold", "dyn18_noopt", "ts17_trained")),
    "mobilenet_v2": ("torchvision", 224, ALL + ("ts11", "ts17_fp16")),
    "mobilenet_v3_small": ("torchvision", 224, ALL + ("ts15",)),
    "shufflenet_v2_x0_5": ("torchvision", 224, ALL + ("ts9",)),
    "squeezenet1_1": ("torchvision", 224, ALL + ("ts9", "ts17_script")),
    "densenet121": ("torchvision", 224, ("ts17", "dyn18")),
    "efficientnet_b0": ("torchvision", 224, ALL + ("ts13",)),
    "regnet_y_400mf": ("torchvision", 224, ALL),
    "googlenet": ("torchvision", 224, ("ts17",)),
    "mnasnet0_5": ("torchvision", 224, ALL),
    "convnext_tiny": ("torchvision", 224, ALL + ("ts17_nofold",)),
    "alexnet": ("torchvision", 224, ("ts9", "ts17")),
    "tf_efficientnet_b0": ("timm", 224, ("ts17", "dyn18")),
    "tf_mobilenetv3_small_100": ("timm", 224, ("ts17",)),
}


def build(name: str, source: str, trained: bool = False):
    """The model, untrained (torchvision's initialisation: zero biases, batchnorm statistics 0 and 1) or, with
    `trained`, with every bias and batchnorm statistic drawn at random as a trained model's would be. The dynamo
    exporter's optimiser drops a bias that is all zeros, so its exports are made of "trained" models."""
    torch.manual_seed(0)
    if source == "timm":
        import timm

        model = timm.create_model(name, pretrained=False).eval()
    else:
        kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
        model = torchvision.models.get_model(name, weights=None, **kwargs).eval()
    if trained:
        with torch.no_grad():
            for key, tensor in [*model.named_parameters(), *model.named_buffers()]:
                if key.endswith(("bias", "running_mean")):
                    tensor.uniform_(-0.1, 0.1)
                elif key.endswith(("running_var", "weight")) and tensor.dim() == 1:
                    tensor.uniform_(0.5, 1.5)
    return model


def published(name: str, source: str) -> dict | None:
    if source != "torchvision":
        return None
    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    return {"params": meta["num_params"], "gflops": meta["_ops"], "source": "torchvision weights metadata"}


def hook_counts(model, x) -> dict:
    """Multiply-adds of Conv2d and Linear from forward hooks, and which batchnorms read a conv's output."""
    flops = 0
    conv_outputs: dict = {}  # id(output tensor) -> conv module
    folded_candidates = []  # (batchnorm, conv) pairs: the exporter may fold the batchnorm into the conv

    def conv_hook(module, inputs, output):
        nonlocal flops
        kh, kw = module.kernel_size
        flops += output.numel() * (module.in_channels // module.groups) * kh * kw
        conv_outputs[id(output)] = (module, output)  # the tensor kept alive: its id is not reused

    def linear_hook(module, inputs, output):
        nonlocal flops
        flops += output.numel() * module.in_features

    def bn_hook(module, inputs, output):
        conv = conv_outputs.get(id(inputs[0]))
        if conv is not None and conv[1] is inputs[0]:
            folded_candidates.append((module, conv[0]))

    handles = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, torch.nn.BatchNorm2d):
            handles.append(m.register_forward_hook(bn_hook))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    batchnorms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    return {"flops": flops // x.shape[0], "folded_candidates": folded_candidates, "batchnorms": batchnorms}


def export(model, x, path: str, style: str) -> None:
    parts = style.split("_")
    exporter, opset = ("ts" if parts[0].startswith("ts") else "dyn"), int(parts[0].lstrip("tsdyn"))
    options = set(parts[1:])
    if "fp16" in options:
        model, x = model.half(), x.half()
    if "script" in options:
        model = torch.jit.script(model)
    kwargs: dict = {"opset_version": opset, "input_names": ["x"], "output_names": ["logits"]}
    if "dynamic" in options:
        if exporter == "dyn":
            kwargs["dynamic_shapes"] = {"x": {0: torch.export.Dim("N"), 2: torch.export.Dim("H", min=64, max=1024),
                                              3: torch.export.Dim("W", min=64, max=1024)}}
        else:
            kwargs["dynamic_axes"] = {"x": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N"}}
    if exporter == "dyn":
        kwargs["optimize"] = "noopt" not in options
        torch.onnx.export(model, (x,), path, dynamo=True, external_data=True, **kwargs)
        return
    kwargs["do_constant_folding"] = "nofold" not in options
    if "nofold" in options:
        kwargs["training"] = torch.onnx.TrainingMode.PRESERVE  # batchnorm stays (eval semantics on a model in eval)
    kwargs["export_params"] = "noparams" not in options
    torch.onnx.export(model, (x,), path, dynamo=False, **kwargs)
    if "external" in options:
        m = onnx.load(path)
        onnx.save(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                  location=os.path.basename(path) + ".data", size_threshold=1024)


def strip(path: str, out: str) -> dict:
    """The graph of `path` without weight data; returns facts about the file the expectations need."""
    model = onnx.load(path, load_external_data=False)
    facts = {"external": any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer),
             "batchnorm_nodes": sum(n.op_type == "BatchNormalization" for n in model.graph.node),
             "opset": next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
             "producer": f"{model.producer_name} {model.producer_version}".strip()}
    absent = os.path.basename(out) + ".weights-not-included"
    offset = 0
    # constants that are not a layer's weights stay too (up to KEEP_DATA values), as a real file holds them: the
    # importer folds what it can evaluate (a table gathered by constant indices, LeViT's attention biases after
    # dynamo's folding; Swin's shifted-window mask scattered into place; EdgeNeXt's positional encoding), and every
    # integer tensor (indices)
    weights = {name for n in model.graph.node if n.op_type in WEIGHT_OPS for name in n.input[1:]}
    # a weight read through a view first is a weight too (dynamo without its optimiser writes a linear's weight
    # as Transpose, then MatMul)
    producers = {o: n for n in model.graph.node for o in n.output}
    todo = list(weights)
    while todo:
        n = producers.get(todo.pop())
        if n is not None and n.op_type in WEIGHT_VIEWS and n.input and n.input[0] not in weights:
            weights.add(n.input[0])
            todo.append(n.input[0])
    data = {t.name for t in model.graph.initializer} - weights
    for t in model.graph.initializer:
        elements = 1
        for d in t.dims:
            elements *= d
        integer = t.data_type in (onnx.TensorProto.INT64, onnx.TensorProto.INT32)
        if elements <= KEEP_ELEMENTS or (elements <= KEEP_DATA and (integer or t.name in data)):
            if t.data_location == onnx.TensorProto.EXTERNAL:  # dynamo writes even scalars to its .data file
                from onnx.external_data_helper import load_external_data_for_tensor

                load_external_data_for_tensor(t, os.path.dirname(os.path.abspath(path)))
                del t.external_data[:]
                t.data_location = onnx.TensorProto.DEFAULT
            continue
        size = elements * max(onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize, 1)
        for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data",
                      "string_data"):
            t.ClearField(field)
        del t.external_data[:]
        for k, v in (("location", absent), ("offset", str(offset)), ("length", str(size))):
            entry = t.external_data.add()
            entry.key, entry.value = k, v
        t.data_location = onnx.TensorProto.EXTERNAL
        offset += size
    for node in model.graph.node:
        keep = [p for p in node.metadata_props if p.key not in DROP_METADATA]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
        node.doc_string = ""
    onnx.save(model, out)
    return facts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "onnx"))
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--styles", help="comma-separated styles (of each model's): only these are exported")
    parser.add_argument("--restrip", action="store_true", help="strip the fixtures already in --out again, export nothing")
    args = parser.parse_args()
    if args.restrip:
        for name in sorted(os.listdir(args.out)):
            if name.endswith(".onnx"):
                strip(os.path.join(args.out, name), os.path.join(args.out, name))
        return 0
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    expected_path = os.path.join(args.out, "expected.json")
    expected = {}
    if os.path.exists(expected_path):
        with open(expected_path) as f:
            expected = json.load(f)
    names = args.only.split(",") if args.only else list(MODELS)
    work = tempfile.mkdtemp(prefix="costcalc-fixtures-")
    failures = {}
    for name in names:
        source, size, styles = MODELS[name]
        model = build(name, source)
        x = torch.randn(1, 3, size, size)
        counts = hook_counts(model, x)
        torch_params = sum(p.numel() for p in model.parameters())
        for style in styles:
            if args.styles and style not in args.styles.split(","):
                continue
            key = f"{name}_{style}"
            path = os.path.join(work, key + ".onnx")
            start = time.time()
            try:
                export(build(name, source, trained=style.startswith("dyn") or "trained" in style), x, path, style)
                facts = strip(path, os.path.join(args.out, key + ".onnx"))
            except Exception as e:  # an export torch itself cannot make is reported, not a fixture
                failures[key] = f"{type(e).__name__}: {str(e)[:300]}"
                traceback.print_exc(limit=2)
                print(f"{key}: export failed: {failures[key]}", file=sys.stderr)
                continue
            candidates = counts["folded_candidates"]
            left = facts["batchnorm_nodes"]
            if left == len(counts["batchnorms"]):
                folded = []
            elif left == len(counts["batchnorms"]) - len(candidates):
                folded = candidates
            else:
                failures[key] = f"{left} BatchNormalization nodes left of {len(counts['batchnorms'])}: which were folded?"
                print(f"{key}: {failures[key]}", file=sys.stderr)
                continue
            params = torch_params - sum(2 * bn.num_features for bn, _ in folded) \
                + sum(bn.num_features for bn, conv in folded if conv.bias is None)
            expected[key] = {
                "model": name, "source": source, "style": style, "input": [3, size, size],
                "params": params, "torch_params": torch_params, "folded_batchnorms": len(folded),
                "flops": counts["flops"], "published": published(name, source),
                "dynamic": "dynamic" in style, **facts,
            }
            print(f"{key}: {time.time() - start:.0f} s, params {params:,}, flops {counts['flops']:,}", flush=True)
            with open(expected_path, "w") as f:
                json.dump(expected, f, indent=1, sort_keys=True)
                f.write("\n")
    if failures:
        print(json.dumps(failures, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
