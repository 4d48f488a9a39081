"""The regression gate: the totals of an earlier run (the JSON of `costcalc report --format json`, or of
`costcalc check --format json` for many specs) as the baseline, and how much each total may grow over it.

    costcalc check specs/resnet50.yaml --baseline main.json --max-increase flops=2% --max-increase params=0

An increase is a percentage (`2%`, `0.5%`) or a count (`10M`, `0`). A spec is matched to the baseline by its
path (a check JSON) or its model name; a spec without one is noted and passes this gate. The baseline must count
under the same convention and memory access unit as the check.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from fractions import Fraction

from costcalc.analysis.budget import BASELINE, BUDGET_FIELDS, Limit, QuantityError, parse_quantity
from costcalc.errors import CostcalcError, did_you_mean

DEFAULT_INCREASES = {"flops": "0%", "params": "0%", "memory_access": "0%"}  # --baseline alone: nothing may grow


class BaselineError(CostcalcError):
    """The baseline file cannot be used: `main.json: error: ...`."""


@dataclass(frozen=True)
class Increase:
    field: str
    text: str  # as written: '2%'
    percent: Fraction | None = None
    count: int | None = None

    def limit(self, base: int) -> int:
        """The largest total allowed over a baseline total `base` (whole: totals are whole)."""
        if self.percent is not None:
            return math.floor(base * (100 + self.percent) / 100)
        return base + self.count


def parse_increases(values: tuple) -> dict:
    """('flops=2%', 'params=100K') -> {'flops': Increase, ...}; QuantityError naming the item at fault."""
    out = {}
    for item in values:
        name, eq, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name or not value:
            raise QuantityError(f"'{item}': write TOTAL=LIMIT, e.g. flops=2% or params=100K")
        if name not in BUDGET_FIELDS:
            raise QuantityError(f"'{name}': unknown total{did_you_mean(name, BUDGET_FIELDS)} "
                                f"(one of {', '.join(BUDGET_FIELDS)})")
        if name in out:
            raise QuantityError(f"'{name}' is given twice")
        if value.endswith("%"):
            try:
                percent = Fraction(value[:-1].strip())
            except (ValueError, ZeroDivisionError):
                raise QuantityError(f"'{item}': '{value}' is not a percentage like 2%") from None
            if percent < 0:
                raise QuantityError(f"'{item}': an increase cannot be negative")
            out[name] = Increase(name, value, percent=percent)
        else:
            try:
                out[name] = Increase(name, value, count=parse_quantity(value))
            except QuantityError as e:
                raise QuantityError(f"'{item}': {e} (or a percentage like 2%)") from None
    return out


@dataclass(frozen=True)
class Baseline:
    file: str
    by_path: dict  # spec path -> totals dict
    by_model: dict  # model name -> totals dict
    increases: dict  # field -> Increase

    def limits(self, path: str, report) -> tuple:
        """(limits on `report`'s totals, a note or '') for the spec at `path`."""
        totals = self.by_path.get(path) or self.by_model.get(report.model)
        if totals is None:
            return [], f"no baseline for {report.model} in {self.file}: not compared"
        limits = []
        for key, increase in self.increases.items():
            base = totals[key]
            limits.append(Limit(key, increase.limit(base), BASELINE, None, f"baseline {base:,} +{increase.text}"))
        return limits, ""


def read_baseline(file: str, increases: dict, convention: str, memory_unit: str) -> Baseline:
    """The baseline in `file`; a file that is not such a JSON, or counts otherwise, is a BaselineError."""
    def fail(message: str):
        raise BaselineError(f"{file}: error: {message}")

    try:
        with open(file, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        fail(f"cannot read the baseline: {e.strerror or e}")
    except (ValueError, UnicodeDecodeError) as e:
        fail(f"the baseline is not JSON ({e})")
    runs = doc.get("specs") if isinstance(doc, dict) else None
    entries = runs if isinstance(runs, list) else [doc]
    by_path, by_model = {}, {}
    for entry in entries:
        totals = entry.get("totals") if isinstance(entry, dict) else None
        if totals is None and runs is not None:
            continue  # a spec the earlier check could not read
        if not isinstance(totals, dict) or not all(type(totals.get(k)) is int for k in BUDGET_FIELDS):
            fail("not the JSON of `costcalc report --format json` or `costcalc check --format json` "
                 "(no \"totals\" with integer flops, params, memory_access and activations)")
        meta = doc if runs is not None else entry
        for key, want in (("convention", convention), ("memory_access_unit", memory_unit)):
            if key in meta and meta[key] != want:
                fail(f"the baseline counts with {key} '{meta[key]}', this check with '{want}'")
        if "path" in entry:
            by_path[entry["path"]] = totals
        if "model" in entry:
            by_model[entry["model"]] = totals
    return Baseline(file, by_path, by_model, increases)
