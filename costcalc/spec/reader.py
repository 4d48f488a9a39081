"""Reading a spec: a YAML file (following `extends:`) or a document in memory -> a validated Spec, its
independent errors (one per section, variable, block and layer entry) collected together.
"""

from __future__ import annotations

import os

from costcalc.errors import Collector, Loc, SpecError, did_you_mean, shown
from costcalc.spec.entries import EntryReader, read_blocks, read_entries, read_vars
from costcalc.spec.fields import check_title, kind_of, mapping_value, text_value
from costcalc.spec.loader import YMap, load_file
from costcalc.spec.model import MAX_EXTENDS, TOP_KEYS, Spec, Value


def read_spec(path: str) -> Spec:
    """Load and validate a spec file (following `extends:`). Independent errors (one per top-level section,
    variable, block and layer entry) are reported together, as a SpecErrors."""
    spec, errors = read_partial(path)
    errors.raise_any()
    return spec


def spec_from_document(path: str, doc: YMap) -> Spec:
    """A spec from a document already in memory (an importer's output), validated as a spec file is."""
    errors = _section_errors(doc)
    spec = _build(path, doc, None, errors)
    errors.raise_any()
    return spec


def read_partial(path: str, doc=None) -> tuple:
    """(spec, errors): the spec as far as it could be read — parts in error left out — and the errors of its
    parts, not yet raised, so that a later check can add its own (as `graph.load` does). Errors that leave
    nothing to read (YAML syntax, a broken `extends`) are raised at once. With `doc` (a document already parsed,
    e.g. from YAML text), `path` only names it in messages and `extends` is relative to the working directory."""
    return _read(path, (), partial=True, doc=doc)


def _read(path: str, chain: tuple, partial: bool = False, doc=None):
    real = os.path.realpath(path)
    doc = load_file(path) if doc is None else doc
    if not isinstance(doc, YMap):
        raise SpecError(f"a spec is a mapping of sections ({', '.join(TOP_KEYS[:8])}, ...), not {kind_of(doc)}",
                        getattr(doc, "loc", Loc(path)))
    errors = _section_errors(doc)
    base = None
    if "extends" in doc:
        with errors.attempt():
            base = _extends(path, doc, chain + (real,))
        if base is None:
            errors.raise_any()
    spec = _build(path, doc, base, errors)
    if partial:
        return spec, errors
    errors.raise_any()
    return spec


def _section_errors(doc: YMap) -> Collector:
    """A collector holding an error for each unknown top-level section."""
    errors = Collector()
    for key in doc:
        if key not in TOP_KEYS:
            errors.add(SpecError(f"unknown section '{shown(key)}'{did_you_mean(key, TOP_KEYS)}", doc.key_locs[key]))
    return errors


def _extends(path: str, doc: YMap, chain: tuple) -> Spec:
    target = text_value(doc, "extends")
    loc = doc.value_locs["extends"]
    if os.path.isabs(target) or not target.endswith((".yaml", ".yml")):
        raise SpecError(f"'extends' names a spec file by a relative path ending in .yaml, not '{shown(target)}'", loc)
    full = os.path.join(os.path.dirname(path), target)
    if os.path.realpath(full) in chain:
        raise SpecError(f"'extends' forms a cycle: '{shown(target)}' extends this file again", loc)
    if len(chain) > MAX_EXTENDS:
        raise SpecError(f"'extends' chain longer than the limit of {MAX_EXTENDS}", loc)
    if not os.path.isfile(full):
        raise SpecError(f"'extends': no spec file '{shown(target)}' (paths are relative to this file)", loc)
    return _read(full, chain)


def _build(path: str, doc: YMap, base: Spec | None, errors: Collector) -> Spec:
    """A Spec from `doc`, section by section, each section's errors recorded in `errors` (the Spec is complete
    only when none was)."""
    loc = doc.loc
    if base is None:
        for key in ("input", "layers"):
            if key not in doc:
                errors.add(SpecError(f"a spec needs '{key}'", loc))
    spec = Spec(path=path, name=base.name if base else os.path.splitext(os.path.basename(path))[0], loc=loc,
                input=base.input if base else None, description=base.description if base else "",
                source=base.source if base else "")
    for key in ("name", "description", "source"):
        if key in doc:
            with errors.attempt():
                setattr(spec, key, text_value(doc, key))
    if "name" in doc and isinstance(doc["name"], str):
        with errors.attempt():
            check_title(doc["name"], doc.value_locs["name"])
    if "input" in doc:
        spec.input = Value(doc["input"], doc.value_locs["input"])
    spec.vars = dict(base.vars) if base else {}
    spec.vars.update(read_vars(doc, errors))
    spec.blocks = dict(base.blocks) if base else {}
    spec.blocks.update(read_blocks(doc, EntryReader(errors), spec.invalid_blocks))
    spec.layers = base.layers if base else []
    if "layers" in doc:
        with errors.attempt():
            spec.layers = read_entries(doc, "layers", EntryReader(errors))
    for key in ("published", "guidelines", "budget"):
        if key in doc:
            with errors.attempt():
                setattr(spec, key, mapping_value(doc, key))
        elif base is not None:
            setattr(spec, key, getattr(base, key))
    spec.section_locs = dict(base.section_locs) if base else {}
    spec.section_locs.update(doc.key_locs)
    if base is not None and isinstance(doc.get("vars"), YMap):
        added = [name for name in doc["vars"] if name in spec.vars and name not in base.vars]
        if added:
            _unused_variables(spec, added, doc["vars"], errors)
    return spec


def _unused_variables(spec: Spec, added: list, section: YMap, errors: Collector) -> None:
    """A variable an `extends` child adds that no expression uses is a typo (`widht: 32` for `width`)."""
    from costcalc.spec.lint import used_names

    used = used_names(spec)
    for name in added:
        if name not in used:
            others = [v for v in spec.vars if v not in added or v in used]
            hint = did_you_mean(name, others) or f" (the variables: {', '.join(others) or 'none'})"
            errors.add(SpecError(f"variable '{name}' is used by nothing in this spec or the one it extends{hint}",
                                 section.key_locs[name]))
