"""Naming: the spec names of imported layers and the model's module hierarchy, from what the exporters write.

torch's TorchScript exporter names each node after its module scope, `/layer1/layer1.0/conv1/Conv`; the dynamo
exporter names nodes `node_Conv_753` and keeps the module path in the node's metadata (`pkg.torch.onnx.name_scopes`
= `['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d_3']`, or `namespace`). `module_path` reads either as the
module's path (`('layer1', '0', 'conv1')`) and the op's own name within it (`Conv`, `conv2d_3`); any other node
name (costcalc's own exporter writes `layer1.0.conv1`) is taken as the layer's path. A Conv or Gemm
whose weight is named after its module (`layer1.0.conv1.weight`, as both exporters name parameters) takes its
path from the weight: the dynamo exporter's optimiser folds batchnorm into the conv and gives the conv node the
batchnorm's scope, but the layer is the conv.
"""

from __future__ import annotations

import ast
import re

WEIGHTED = ("Conv", "ConvTranspose", "Gemm", "MatMul")

MAX_NAME_CHARS = 120  # the spec language's limit is 128: room for a `_2` ... `_250000` suffix
YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "input"}


def node_name(name: str) -> str:
    """A spec name for an ONNX node. torch's scope names repeat each module's prefix
    (`/features/features.2/branch1/branch1.0/Conv`): the repeats are dropped (`features_2_branch1_0_Conv`)."""
    parts = [p for p in name.split("/") if p]
    path: list = []
    for part in parts[:-1]:
        comps = part.split(".")
        overlap = max((k for k in range(min(len(comps), len(path)) + 1) if path[len(path) - k:] == comps[:k]), default=0)
        path.extend(comps[overlap:])
    return spec_name("_".join(path + parts[-1:]))


def spec_name(text: str) -> str:
    """A name the spec language reads: letters, digits, `_` and `-`, at most MAX_NAME_CHARS (a longer one keeps
    its head and its tail; the written spec's comment names the ONNX node in full)."""
    name = re.sub(r"[^A-Za-z0-9_\-]+", "_", text).strip("_") or "node"
    if not re.match(r"[A-Za-z_]", name):
        name = "n" + name
    if len(name) > MAX_NAME_CHARS:
        half = MAX_NAME_CHARS // 2
        name = f"{name[:half - 1]}__{name[len(name) - half + 1:]}"
    return name + "_" if name.lower() in YAML_WORDS else name


def note_of(node) -> str:
    if node is None:
        return ""
    return f"{node.name} ({node.op})" if node.name else node.op


def module_path(node, parameters) -> tuple:
    """(module path components, the op's name within its module) of an ONNX node; `parameters` holds the names
    of the initializers and weight inputs."""
    inputs = node.proto.input
    if node.op in WEIGHTED and len(inputs) > 1 and inputs[1] in parameters and inputs[1].endswith(".weight"):
        return _components(inputs[1][: -len(".weight")]), None
    meta = {p.key: p.value for p in node.proto.metadata_props}
    scopes = literal_list(meta.get("pkg.torch.onnx.name_scopes"))
    if scopes is None and "namespace" in meta:
        scopes = [part.split(":")[0].strip() for part in meta["namespace"].split("/")]
    if scopes and len(scopes) >= 2:
        return _components(scopes[-2]), scopes[-1]
    parts = [p for p in node.name.split("/") if p]
    if node.name.startswith("/") and parts:
        path: list = []
        for part in parts[:-1]:
            comps = part.split(".")
            overlap = max((k for k in range(min(len(comps), len(path)) + 1) if path[len(path) - k:] == comps[:k]),
                          default=0)
            path.extend(comps[overlap:])
        return tuple(path), parts[-1]
    if node.proto.name:  # another exporter's name, costcalc's own (`layer1.0.conv1`): the layer's path
        return _components(node.proto.name), None
    return (), node.op


def _components(qualified: str) -> tuple:
    return tuple(c for c in qualified.split(".") if c)


def literal_list(text):
    if not text:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return [str(v) for v in value] if isinstance(value, list) and len(value) < 256 else None


def folded_batchnorm(node) -> bool:
    """Whether the exporter folded a batchnorm into this Conv: the dynamo exporter's node keeps the batchnorm's
    scope; torch's TorchScript exporter names the folded weight it makes `onnx::Conv_<n>` (a conv's own weight
    keeps its parameter's name)."""
    meta = {p.key: p.value for p in node.proto.metadata_props}
    if "FuseBatchNorm" in meta.get("pkg.onnxscript.rewriter.rule_name", ""):
        return True
    if "batch_norm" in meta.get("namespace", "").rpartition("/")[2]:
        return True
    scopes = literal_list(meta.get("pkg.torch.onnx.name_scopes"))
    if scopes and "batch_norm" in scopes[-1]:
        return True
    inputs = node.proto.input
    return len(inputs) > 2 and bool(inputs[2]) and inputs[1].startswith("onnx::Conv")


def module_classes(node) -> dict:
    """{module path components: the module's class name} that a dynamo export's node metadata records
    (`pkg.torch.onnx.class_hierarchy` beside `name_scopes`, or `namespace`'s `path: class` pairs), e.g.
    {('layer1', '0'): 'Bottleneck'}; {} when the file does not say."""
    meta = {p.key: p.value for p in node.proto.metadata_props}
    scopes = literal_list(meta.get("pkg.torch.onnx.name_scopes"))
    classes = literal_list(meta.get("pkg.torch.onnx.class_hierarchy"))
    if (scopes is None or classes is None or len(scopes) != len(classes)) and "namespace" in meta:
        pairs = [part.split(":", 1) for part in meta["namespace"].split("/")]
        scopes, classes = [p[0].strip() for p in pairs], [p[1].strip() if len(p) > 1 else "" for p in pairs]
    if not scopes or not classes or len(scopes) != len(classes):
        return {}
    found = {}
    for scope, cls in zip(scopes[1:-1], classes[1:-1]):  # the model itself and the op are no module of a path
        name = cls.rpartition(".")[2]
        if scope and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            found[_components(scope)] = name
    return found

