"""YAML text -> plain Python values that remember where each one stood.

Only the YAML core types are accepted (mappings, sequences, strings, ints, floats, bools, null): every other
tag, `!!python/...` included, is an error and never a constructor. Aliases are converted once and shared, so an
alias bomb costs no more than its text; nesting depth and node count are bounded.
"""

from __future__ import annotations

import yaml

from costcalc.errors import Loc, SpecError

try:  # libyaml is several times faster; the pure-Python parser gives the same nodes and marks
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how pyyaml was built
    from yaml import SafeLoader as _Loader

MAX_DEPTH = 64
MAX_NODES = 2_000_000
MAX_BYTES = 64 * 1024 * 1024

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}


class YMap(dict):
    """A mapping with the position of itself, of each key and of each value."""

    loc: Loc
    key_locs: dict
    value_locs: dict


class YList(list):
    """A sequence with the position of itself and of each item."""

    loc: Loc
    item_locs: list


def load_file(path: str):
    """Read and parse a spec file; every failure is a SpecError located in that file."""
    import os

    if os.path.isdir(path):
        raise SpecError("is a directory, not a spec file", Loc(path))
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror or e}", Loc(path)) from None
    if len(data) > MAX_BYTES:
        raise SpecError(f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB", Loc(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise SpecError("file is not UTF-8 text", Loc(path, line, col)) from None
    return load_text(text, path)


def load_text(text: str, file: str):
    """Parse YAML text into YMap / YList / scalars."""
    if "\x00" in text:
        raise SpecError("file holds a NUL byte: not a YAML text", Loc(file, *_line_col(text, text.index("\x00"))))
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or "invalid YAML"
        raise SpecError(f"YAML syntax: {problem}", _loc(file, mark)) from None
    except yaml.YAMLError as e:
        raise SpecError(f"YAML syntax: {e}", Loc(file)) from None
    except RecursionError:
        raise SpecError(f"YAML nested deeper than {MAX_DEPTH} levels", Loc(file)) from None
    if node is None:
        raise SpecError("empty file: a spec is a mapping with at least 'input' and 'layers'", Loc(file))
    try:
        return _Converter(file, loader).convert(node, 0)
    finally:
        loader.dispose()


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _loc(file: str, mark) -> Loc:
    if mark is None:
        return Loc(file)
    return Loc(file, mark.line + 1, mark.column + 1)


class _Converter:
    def __init__(self, file: str, loader):
        self.file = file
        self.loader = loader
        self.done: dict[int, object] = {}  # id(node) -> converted value: aliases are shared, not copied
        self.count = 0

    def convert(self, node, depth: int):
        key = id(node)
        if key in self.done:
            return self.done[key]
        loc = _loc(self.file, node.start_mark)
        if depth > MAX_DEPTH:
            raise SpecError(f"YAML nested deeper than {MAX_DEPTH} levels", loc)
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError(f"more than {MAX_NODES:,} YAML nodes", loc)
        if isinstance(node, yaml.ScalarNode):
            value = self.scalar(node, loc)
        elif isinstance(node, yaml.SequenceNode):
            self.check_tag(node, "seq", loc)
            value = YList()
            value.loc, value.item_locs = loc, []
            self.done[key] = value
            for item in node.value:
                value.append(self.convert(item, depth + 1))
                value.item_locs.append(_loc(self.file, item.start_mark))
        else:
            self.check_tag(node, "map", loc)
            value = YMap()
            value.loc, value.key_locs, value.value_locs = loc, {}, {}
            self.done[key] = value
            merges = []
            for k_node, v_node in node.value:
                k_loc = _loc(self.file, k_node.start_mark)
                if k_node.tag == _TAG + "merge":  # `<<: *base`: explicit keys win over merged ones
                    merges.append((self.convert(v_node, depth + 1), k_loc))
                    continue
                k = self.convert(k_node, depth + 1)
                if not isinstance(k, str):
                    raise SpecError(f"mapping keys are names, not {type(k).__name__} {k!r}", k_loc)
                if k in value:
                    raise SpecError(f"duplicate key '{k}' (first at line {value.key_locs[k].line})", k_loc)
                value[k] = self.convert(v_node, depth + 1)
                value.key_locs[k], value.value_locs[k] = k_loc, _loc(self.file, v_node.start_mark)
            for merged, k_loc in merges:
                self.merge(value, merged, k_loc)
        return value

    @staticmethod
    def merge(mapping: YMap, merged, k_loc: Loc) -> None:
        for source in merged if isinstance(merged, YList) else [merged]:
            if not isinstance(source, YMap):
                raise SpecError("'<<' merges a mapping or a list of mappings", k_loc)
            for k, v in source.items():
                if k not in mapping:
                    mapping[k] = v
                    mapping.key_locs[k], mapping.value_locs[k] = source.key_locs[k], source.value_locs[k]

    def check_tag(self, node, kind: str, loc: Loc) -> None:
        if node.tag != _TAG + kind:
            raise SpecError(f"YAML tag '{node.tag}' is not allowed: specs hold plain data only", loc)

    def scalar(self, node, loc: Loc):
        if node.tag not in _SCALAR_TAGS:
            if node.tag == _TAG + "timestamp":
                return node.value  # a date is read as text (a description may hold one)
            raise SpecError(f"YAML tag '{node.tag}' is not allowed: specs hold plain data only", loc)
        return self.loader.construct_object(node)
