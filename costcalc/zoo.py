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
    if candidate.is_file():
        return str(candidate)
    close = near(path)
    if close:  # neither a file nor a zoo name, but close to one: say which, as for any unknown name
        from costcalc.errors import Loc, SpecError

        said = f"'{close[0]}'" if len(close) == 1 else ", ".join(f"'{n}'" for n in close[:-1]) + f" or '{close[-1]}'"
        raise SpecError(f"cannot read: no file '{path}', and the zoo has no spec of that name (did you mean {said}? "
                        "`costcalc zoo` lists them)", Loc(path))
    return path


def near(name: str) -> list:
    """Zoo names `name` may be a slip of: those it starts (`resnet5` -> resnet50), else the closest by spelling.
    Only a suggestion in an error: the user types the name, so a loose one does no harm."""
    import difflib

    stem = name[:-5] if name.endswith(".yaml") else name[:-4] if name.endswith(".yml") else name
    if "." in stem or not stem:
        return []  # another kind of file (model.onnx): no zoo name
    names = [p.stem if p.parent.name != "guidelines" else f"guidelines/{p.stem}" for p in zoo_specs()]
    started = [n for n in names if n.startswith(stem)]
    return started[:3] if started else difflib.get_close_matches(stem, names, n=3, cutoff=0.8)
