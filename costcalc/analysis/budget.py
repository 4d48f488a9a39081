"""Budgets: limits on a spec's totals, from its `budget:` section and from the command line, and the verdict of
checking a report against them.

    budget: {flops: 4.5G, params: 26M, memory_access: 130M, activations: 50M}

Any subset of the four keys. A limit is a whole number, or a decimal number with a suffix K, M, G or T (powers of
1000: 4.5G = 4,500,000,000). A total equal to its limit is within budget. Memory access is counted in elements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from costcalc.errors import CostcalcError, Loc, SpecError, did_you_mean

BUDGET_FIELDS = ("flops", "params", "memory_access", "activations")
SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
MAX_LIMIT = 10**30
MAX_TEXT = 64  # characters of a limit as written: far more than 10^30 needs, far fewer than int() refuses
_QUANTITY = re.compile(r"^\s*(\d+(?:_\d+)*)(?:\.(\d+))?\s*([A-Za-z]?)\s*$")


class QuantityError(CostcalcError):
    """A limit that is not a count (raised without a position; the caller adds one)."""


def parse_quantity(value) -> int:
    """4.5G -> 4500000000, '26M' -> 26000000, 1200 -> 1200: exact, with no float in between."""
    if isinstance(value, bool) or value is None:
        raise QuantityError(f"a limit is a count like 4.5G, 26M or 1200, not {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        match = _QUANTITY.match(value) if len(value) <= MAX_TEXT else None
        if not match:
            shown = value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "..."
            raise QuantityError(f"'{shown}' is not a count: write a number with an optional suffix K, M, G or T "
                                f"(powers of 1000), e.g. 4.5G")
        whole, decimals, suffix = match.groups()
        if suffix not in SUFFIXES and suffix != "k":  # 'k' is the SI spelling of K
            raise QuantityError(f"'{value}': unknown suffix '{suffix}' (use K, M, G or T, powers of 1000)")
        exact = Fraction(int(whole.replace("_", "") + (decimals or "")), 10 ** len(decimals or ""))
        exact *= SUFFIXES[suffix.upper()]
        if exact.denominator != 1:
            raise QuantityError(f"'{value}' is not a whole count ({float(exact):g})")
        number = int(exact)
    else:
        raise QuantityError(f"a limit is a count like 4.5G, 26M or 1200, not {type(value).__name__} {value!r}")
    if number < 0:
        raise QuantityError(f"a limit cannot be negative ({value})")
    if number > MAX_LIMIT:
        raise QuantityError(f"{value} is beyond the limit of 10^30")
    return number


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|ms|us|µs|ns)?\s*$")
DURATION_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
LATENCY = "latency_s"  # the limit on the estimated latency (seconds; command line only, with a device profile)


def parse_duration(text: str) -> float:
    """'10ms' -> 0.01, '2.5 s' -> 2.5, '800us' -> 0.0008, '0.02' -> 0.02 (seconds)."""
    match = _DURATION.match(str(text)) if len(str(text)) <= MAX_TEXT else None
    if not match:
        raise QuantityError(f"'{str(text)[:MAX_TEXT]}' is not a duration: write a number with a unit s, ms or us, "
                            f"e.g. 10ms")
    value = float(match.group(1)) * DURATION_UNITS[match.group(2) or "s"]
    if value <= 0:
        raise QuantityError(f"'{text}': a latency limit must be more than 0")
    return value


@dataclass(frozen=True)
class Limit:
    """One limit on one total: where it came from ("spec" or "command line") and, for a spec, its position."""

    field: str
    value: int  # a count; seconds (a float) for LATENCY
    source: str
    loc: Loc | None = None  # the spec's `budget:` line (None for a command-line limit)
    text: str = ""  # as written: '4.5G'


@dataclass(frozen=True)
class Verdict:
    limit: Limit
    actual: int

    @property
    def over(self) -> int:
        """How far the total exceeds the limit (0 when within)."""
        return max(0, self.actual - self.limit.value)

    @property
    def ok(self) -> bool:
        return self.actual <= self.limit.value


@dataclass(frozen=True)
class SpecCheck:
    """The check of one spec file: its totals against every limit that applies, or the error that stopped it."""

    path: str
    model: str = ""
    totals: object = None  # Counts, or None when the spec could not be read
    verdicts: tuple = ()  # tuple[Verdict]
    error: CostcalcError | None = None
    budget_loc: Loc | None = None  # the `budget:` line, where annotations point
    guidelines_checked: tuple = ()  # the guidelines whose violations fail the check (--fail-on), e.g. ("G1",)
    guideline_violations: tuple = ()  # their violations: costcalc.analysis.guidelines.Finding, worst first

    @property
    def status(self) -> str:
        """'error', 'over', 'within' or 'no budget'."""
        if self.error is not None:
            return "error"
        if not self.verdicts and not self.guidelines_checked:
            return "no budget"
        return "within" if all(v.ok for v in self.verdicts) and not self.guideline_violations else "over"


@dataclass(frozen=True)
class CheckRun:
    checks: tuple  # tuple[SpecCheck]
    require_budget: bool = False

    @property
    def exit_code(self) -> int:
        """0 all within budget, 1 some budget exceeded (or, with require_budget, missing), 2 a spec unreadable."""
        statuses = {c.status for c in self.checks}
        if "error" in statuses:
            return 2
        if "over" in statuses or (self.require_budget and "no budget" in statuses):
            return 1
        return 0


def spec_limits(spec) -> list:
    """The limits of a spec's `budget:` section (inherited through `extends` like every section), validated:
    every fault is a SpecError at the value or key at fault."""
    budget = spec.budget
    if budget is None:
        return []
    loc = spec.section_locs.get("budget", budget.loc)
    limits = []
    for key in budget:
        if key not in BUDGET_FIELDS:
            raise SpecError(f"budget: unknown total '{key}'{did_you_mean(key, BUDGET_FIELDS)} "
                            f"(budgets limit {', '.join(BUDGET_FIELDS)})", budget.key_locs[key])
        try:
            value = parse_quantity(budget[key])
        except QuantityError as e:
            raise SpecError(f"budget: {key}: {e}", budget.value_locs[key]) from None
        limits.append(Limit(key, value, "spec", loc, str(budget[key])))
    return limits


def command_line_limits(values: dict) -> list:
    """{'flops': '4.5G', ...} from --max-* options -> limits; a bad value raises QuantityError naming the option."""
    limits = []
    for key, text in values.items():
        if text is None:
            continue
        if key == LATENCY:
            try:
                limits.append(Limit(key, parse_duration(text), "command line", None, str(text)))
            except QuantityError as e:
                raise QuantityError(f"--max-latency: {e}") from None
            continue
        try:
            limits.append(Limit(key, parse_quantity(text), "command line", None, str(text)))
        except QuantityError as e:
            raise QuantityError(f"--max-{key.replace('memory_access', 'mac')}: {e}") from None
    return limits


def check_spec(path: str, extra_limits: list, load, fail_on: tuple = ()) -> SpecCheck:
    """Check one spec: `load(path)` -> (Spec, Report). Every limit from the spec and from `extra_limits` applies
    (a spec within its own budget can still exceed a command-line one), and every violation of the guidelines
    named in `fail_on` fails it (the Report then carries its guideline checks). A SpecError is kept, not raised."""
    try:
        spec, report = load(path)
        limits = spec_limits(spec) + list(extra_limits)
    except SpecError as e:
        return SpecCheck(path, error=e)
    verdicts = tuple(Verdict(limit, report.latency_s if limit.field == LATENCY else getattr(report.totals, limit.field))
                     for limit in limits)
    budget_loc = spec.section_locs.get("budget") if spec.budget is not None else None
    violations = report.guidelines.violations(fail_on) if fail_on else ()
    return SpecCheck(path, report.model, report.totals, verdicts, None, budget_loc, tuple(fail_on), violations)


def spec_files(paths) -> list:
    """Spec files named by `paths`: a file as itself, a directory as every *.yaml / *.yml under it, sorted."""
    import os

    found = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(os.path.join(root, f) for f in sorted(files) if f.endswith((".yaml", ".yml")))
        else:
            found.append(path)
    return found
