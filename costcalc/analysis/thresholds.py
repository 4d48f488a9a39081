"""When a guideline's measurement is a violation: the thresholds of costcalc.analysis.guidelines, their documented
defaults (`Thresholds()`), a spec's `guidelines:` section (`thresholds_from_spec`, located SpecErrors) and
command-line `GUIDELINE.NAME=VALUE` overrides (`apply_overrides`, GuidelineError)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from costcalc.errors import CostcalcError, SpecError, did_you_mean
from costcalc.spec.loader import YMap

GUIDELINE_IDS = ("G1", "G2", "G3", "G4")


class GuidelineError(CostcalcError):
    """A threshold given on the command line is not valid (spec sections raise a located SpecError instead)."""


@dataclass(frozen=True)
class Thresholds:
    """When a measurement is a violation. Defaults are argued from the paper's Tables 1-4 in the README."""

    g1_max_ratio: float = 2.0  # flag a 1x1 conv when max(c1, c2) / min(c1, c2) > this ...
    g1_max_excess: float = 0.10  # ... or when its MAC exceeds the G1 bound by more than this fraction
    g2_max_groups: int = 2  # flag a grouped (non-depthwise) conv when g > this ...
    g2_max_excess: float = 0.50  # ... or when its MAC exceeds the same-FLOPs g = 1 conv's by more than this fraction
    g3_max_branches: int = 2  # flag a fork-join block with more parallel branches than this ...
    g3_max_fragments: int = 5  # ... or with more conv/pool ops than this
    g4_max_share: float = 0.50  # flag the network when element-wise ops make more than this share of its MAC

    def of(self, guideline: str) -> dict:
        """{'max_ratio': 2.0, ...}: the thresholds of one guideline, as the JSON shows them."""
        prefix = guideline.lower() + "_"
        return {f.name[len(prefix):]: getattr(self, f.name) for f in fields(self) if f.name.startswith(prefix)}


_KINDS = {f.name: (int if f.type in ("int", int) else float) for f in fields(Thresholds)}


def _names(guideline: str) -> list:
    return list(Thresholds().of(guideline))


def _coerce(field_name: str, value):
    """A threshold value from YAML or the command line -> the typed value, or a message saying what is wrong."""
    kind = _KINDS[field_name]
    if isinstance(value, str):
        try:
            value = int(value) if kind is int else float(value)
        except ValueError:
            return None, f"must be a {'whole number' if kind is int else 'number'}, not {value!r}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, f"must be a {'whole number' if kind is int else 'number'}, not {value!r}"
    if kind is int:
        if isinstance(value, float):
            if not value.is_integer():
                return None, f"must be a whole number, not {value!r}"
            value = int(value)
        if value < 1:
            return None, f"must be at least 1, not {value}"
        return value, None
    value = float(value)
    if value != value or value < 0:
        return None, f"must be a number >= 0, not {value!r}"
    if field_name == "g1_max_ratio" and value < 1:
        return None, f"is a ratio larger/smaller and must be at least 1, not {value!r}"
    if field_name == "g4_max_share" and value > 1:
        return None, f"is a share of the total and must be between 0 and 1, not {value!r}"
    return value, None


def thresholds_from_spec(section: YMap | None, base: Thresholds = Thresholds()) -> Thresholds:
    """`base` updated by a spec's `guidelines:` section, e.g. {G1: {max_ratio: 3}, G4: {max_share: 0.4}}.

    Raises SpecError located at the offending key or value."""
    if section is None:
        return base
    if not isinstance(section, dict):
        raise SpecError("'guidelines' must be a mapping like {G1: {max_ratio: 3}}", getattr(section, "loc", None))
    changes = {}
    for key, body in section.items():
        key_loc = section.key_locs[key]
        guideline = str(key).upper()  # g1 or G1
        if guideline not in GUIDELINE_IDS:
            raise SpecError(f"guidelines: unknown guideline '{guideline}'{did_you_mean(guideline, GUIDELINE_IDS)} "
                            f"(known: {', '.join(GUIDELINE_IDS)})", key_loc)
        if not isinstance(body, YMap):
            raise SpecError(f"guidelines: {guideline} must be a mapping of thresholds, e.g. "
                            f"{{{_names(guideline)[0]}: ...}}", section.value_locs[key])
        for name, value in body.items():
            if name not in _names(guideline):
                hint = did_you_mean(name, _names(guideline)) or f" (it has: {', '.join(_names(guideline))})"
                raise SpecError(f"guidelines: {guideline} has no threshold '{name}'{hint}", body.key_locs[name])
            field_name = f"{guideline.lower()}_{name}"
            typed, problem = _coerce(field_name, value)
            if problem:
                raise SpecError(f"guidelines: {guideline}.{name} {problem}", body.value_locs[name])
            changes[field_name] = typed
    return replace(base, **changes)


def parse_ids(text: str) -> tuple:
    """'G1,g3' -> ('G1', 'G3') (for options such as --fail-on); raises GuidelineError on an unknown name."""
    ids = []
    for part in (p.strip() for p in text.split(",")):
        if part.upper() not in GUIDELINE_IDS:
            raise GuidelineError(f"unknown guideline '{part}' (known: {', '.join(GUIDELINE_IDS)})")
        if part.upper() not in ids:
            ids.append(part.upper())
    return tuple(ids)


def apply_overrides(base: Thresholds, items: dict) -> Thresholds:
    """`base` updated by {'G1.max_ratio': '3', ...} from the command line; raises GuidelineError."""
    changes = {}
    for key, value in items.items():
        guideline, dot, name = key.partition(".")
        guideline = guideline.upper()
        if not dot or guideline not in GUIDELINE_IDS or name not in _names(guideline):
            known = ", ".join(f"{g}.{n}" for g in GUIDELINE_IDS for n in _names(g))
            raise GuidelineError(f"unknown threshold '{key}'{did_you_mean(key, known.split(', '))} (known: {known})")
        field_name = f"{guideline.lower()}_{name}"
        typed, problem = _coerce(field_name, value)
        if problem:
            raise GuidelineError(f"threshold {guideline}.{name} {problem}")
        changes[field_name] = typed
    return replace(base, **changes)
