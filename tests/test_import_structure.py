"""Issue 28, thin commands: the imports of costcalc form no circle (every import, at the top of a module or inside a
function), and no command takes a private helper (`_name`) from cli.py: what the commands share is public there,
and the work they call is the library's."""

import ast
import pathlib

from conftest import ROOT


def modules(package: pathlib.Path) -> dict:
    """Dotted module name -> file, for every module of the package at `package`."""
    found = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(found: dict) -> dict:
    """Module -> {(module imported, name taken or None)} of the package's own modules, from every import statement
    in the module's source (relative imports resolved). Importing `a.b.c` runs `a` and `a.b` first, but those
    are not counted: a package's __init__ is a face, not a dependency of what it holds."""
    edges = {}
    for name, path in found.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        taken = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                taken |= {(alias.name, None) for alias in node.names if alias.name in found}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in found:
                        taken.add((sub, None))
                    elif base in found:
                        taken.add((base, alias.name))
        edges[name] = {(target, what) for target, what in taken if target != name}
    return edges


def circles(edges: dict) -> list:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    graph = {m: sorted({t for t, _ in targets}) for m, targets in edges.items()}
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, k = work.pop()
            if k == 0:
                index[node] = low[node] = counter[0]
                counter[0] += 1
                stack.append(node)
                on_stack.add(node)
            targets = graph.get(node, [])
            if k < len(targets):
                work.append((node, k + 1))
                target = targets[k]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            for target in targets:
                if target in on_stack:
                    low[node] = min(low[node], low[target])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_checks_find_a_circle_and_a_private_import(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg.sub.b import g\n")
    (package / "sub" / "b.py").write_text("from ..c import _helper\n")
    (package / "c.py").write_text("import pkg.a\n")
    edges = imports(modules(package))
    assert circles(edges) == [["pkg.a", "pkg.c", "pkg.sub.b"]]
    assert ("pkg.c", "_helper") in edges["pkg.sub.b"]


def test_costcalc_imports_no_circle():
    assert circles(imports(modules(ROOT / "costcalc"))) == []


def test_no_command_takes_a_private_helper_from_the_cli():
    edges = imports(modules(ROOT / "costcalc"))
    private = {m: sorted(what for target, what in taken if target == "costcalc.cli" and what and what.startswith("_"))
               for m, taken in edges.items() if m.startswith("costcalc.commands")}
    assert {m: names for m, names in private.items() if names} == {}
    assert not any(target.startswith("costcalc.commands") for target, _ in edges["costcalc.cli"])
