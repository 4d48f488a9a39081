"""The zoo: the specs shipped with costcalc (the repository's specs/, installed as the package data
`costcalc.specs`), found by name: `costcalc report resnet50` reads the zoo's resnet50.yaml when no file of that
name is in the way."""

from __future__ import annotations

import os
import pathlib

SOURCE_TREE = pathlib.Path(__file__).resolve().parent.parent / "specs"  # a checkout, not installed


def zoo_dir() -> pathlib.Path | None:
    """Where the shipped specs are: the installed package data, else the source tree's specs/."""
    import importlib.util

    try:
        found = importlib.util.find_spec("costcalc.specs")
    except ModuleNotFoundError:
        found = None
    for location in (found.submodule_search_locations or []) if found is not None else []:
        root = pathlib.Path(location)
        if (root / "resnet50.yaml").is_file():
            return root
    return SOURCE_TREE if SOURCE_TREE.is_dir() else None


def zoo_specs() -> list:
    """Every shipped spec, sorted by name (the guideline validation specs under guidelines/ after the rest)."""
    root = zoo_dir()
    if root is None:
        return []
    return sorted(root.glob("*.yaml")) + sorted((root / "guidelines").glob("*.yaml"))


def resolve(path: str) -> str:
    """`path` itself when it names a file (or stdin, '-'), else the zoo's spec of that name (`resnet50`,
    `resnet50.yaml`, `guidelines/g1_ratio`), else `path` unchanged (the reader then says it cannot be read)."""
    if path == "-" or os.path.exists(path) or os.sep in path.replace("guidelines/", "", 1):
        return path
    root = zoo_dir()
    if root is None:
        return path
    name = path if path.endswith((".yaml", ".yml")) else path + ".yaml"
    candidate = root / name
    return str(candidate) if candidate.is_file() else path
