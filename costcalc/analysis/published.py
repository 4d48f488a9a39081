"""A spec's `published:` figures beside the computed totals: the reviewer's question, "does the spec give the
paper's numbers?", answered.

    published:
      source: "torchvision resnet50 (IMAGENET1K_V1)"
      params: 25557032
      flops: 4089184256
      tolerance: 0.02            # every figure within 2%; or {flops: 0.02}: only the figures named

A figure without a tolerance must be equal to the unit. Other keys are the author's notes (a misspelt figure,
`flop:`, is an error). The difference allowed is exact: |computed - published| <=
tolerance * published, with the tolerance read as the decimal written (no float rounding).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from costcalc.errors import SpecError, did_you_mean

PUBLISHED_FIELDS = ("params", "flops", "memory_access", "activations")
OTHER_KEYS = ("source", "tolerance")


@dataclass(frozen=True)
class PublishedFigure:
    field: str
    published: int
    computed: int
    tolerance: Fraction  # relative; 0: equal to the unit

    @property
    def difference(self) -> int:
        return self.computed - self.published

    @property
    def ok(self) -> bool:
        return abs(self.difference) <= self.tolerance * self.published

    @property
    def relative(self) -> float | None:
        return self.difference / self.published if self.published else None


def _fraction(value, where: str, loc) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SpecError(f"published: {where}: a tolerance is a fraction like 0.02 (2%), not {value!r}", loc)
    return Fraction(str(value))


def tolerances(published) -> dict:
    """field -> Fraction from `tolerance:` (a number for every figure, or a mapping per figure)."""
    if "tolerance" not in published:
        return {}
    value, loc = published["tolerance"], published.value_locs["tolerance"]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key not in PUBLISHED_FIELDS:
                raise SpecError(f"published: tolerance: unknown figure '{key}'{did_you_mean(key, PUBLISHED_FIELDS)}",
                                getattr(value, "key_locs", {}).get(key, loc))
            out[key] = _fraction(item, f"tolerance: {key}", getattr(value, "value_locs", {}).get(key, loc))
        return out
    every = _fraction(value, "tolerance", loc)
    return {key: every for key in PUBLISHED_FIELDS}


def published_figures(spec, totals) -> tuple:
    """The spec's published figures against `totals` (Counts); () when the spec publishes none. A malformed
    section is a SpecError at the key or value at fault."""
    published = getattr(spec, "published", None) if spec is not None else None
    if not published:
        return ()
    for key in published:  # other keys (a paper's accuracy, a URL) are the author's notes, unless a misspelling
        hint = did_you_mean(key, PUBLISHED_FIELDS + OTHER_KEYS) if key not in PUBLISHED_FIELDS + OTHER_KEYS else ""
        if hint:
            raise SpecError(f"published: unknown key '{key}'{hint} (figures: {', '.join(PUBLISHED_FIELDS)}; also "
                            "source, tolerance)", published.key_locs[key])
    allowed = tolerances(published)
    figures = []
    for key in PUBLISHED_FIELDS:
        if key not in published:
            continue
        value = published[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SpecError(f"published: {key}: a published figure is a whole count, not {value!r}",
                            published.value_locs[key])
        figures.append(PublishedFigure(key, value, getattr(totals, key), allowed.get(key, Fraction(0))))
    return tuple(figures)


def source_of(spec) -> str:
    published = getattr(spec, "published", None) if spec is not None else None
    return str(published.get("source", "")) if published else ""


@dataclass(frozen=True)
class Published:
    """The `published:` section of a spec against its computed totals."""

    source: str
    figures: tuple  # tuple[PublishedFigure]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.figures)


def published_of(spec, totals) -> Published | None:
    """The spec's published figures against `totals`, or None when it publishes none."""
    figures = published_figures(spec, totals)
    return Published(source_of(spec), figures) if figures else None


def published_for(spec, report, batch: int = 1, bytes_per_element: int | None = None) -> Published | None:
    """The spec's published figures beside `report`'s totals when they count the same thing: the spec as written
    (no settings), batch 1, memory access in elements, the paper convention; otherwise None."""
    if report.settings or batch != 1 or bytes_per_element or report.convention != "paper":
        return None
    return published_of(spec, report.totals)
