"""Naming: the spec names of imported layers, from the ONNX nodes' names."""

from __future__ import annotations

import re

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
    name = re.sub(r"[^A-Za-z0-9_\-]+", "_", text).strip("_") or "node"
    if not re.match(r"[A-Za-z_]", name):
        name = "n" + name
    return name + "_" if name.lower() in YAML_WORDS else name


def note_of(node) -> str:
    if node is None:
        return ""
    return f"{node.name} ({node.op})" if node.name else node.op
