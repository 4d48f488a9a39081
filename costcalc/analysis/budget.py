"""Budgets: limits on a spec's totals, from its `budget:` section and from the command line, and the verdict of
checking a report against them.

    budget: {flops: 4.5G, params: 26M, memory_access: 130M, activations: 50M, latency: 10ms}

Any subset of the five keys. A count's limit is a whole number, or a decimal number with a suffix K, M, G or T
(powers of 1000: 4.5G = 4,500,000,000). A total equal to its limit is within budget. Memory access is counted in
elements (with `check --bytes N`, a spec's memory_access limit is N bytes per element). `latency` limits the
estimated latency of the batch (a duration: s, ms or us; `--max-latency` on the command line): it needs a device
profile (`check --device PROFILE.yaml`), and a spec with a latency budget checked without one is a located error.

Besides budgets, a check has three more gates: the guidelines named by --fail-on, a baseline (the totals of an
earlier `report --format json` may grow by at most --max-increase), and the spec's `published:` figures
(`--published`). `SpecCheck.failed` names the gates a spec failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from costcalc.errors import CostcalcError, Loc, SpecError, did_you_mean

MAC_MEANING = ("MAC in costcalc is memory access cost (ShuffleNet V2: elements read and written), not "
               "multiply-accumulates")
MAC_KEYS = ("mac", "macs", "max_mac")

BUDGET_FIELDS = ("flops", "params", "memory_access", "activations")  # the counts; and LATENCY_KEY, a duration
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


BASELINE = "baseline"  # Limit.source of an increase limit over a baseline


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|ms|us|µs|ns)?\s*$")
DURATION_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
LATENCY = "latency_s"  # the limit on the estimated latency (seconds, with a device profile)
LATENCY_KEY = "latency"  # as a spec's budget: section spells it


def parse_duration(text: str) -> float:
    """'10ms' -> 0.01, '2.5 s' -> 2.5, '800us' -> 0.0008, '0.02' -> 0.02 (seconds)."""
    if isinstance(text, bool) or text is None or not isinstance(text, (str, int, float)):
        raise QuantityError(f"a latency limit is a duration like 10ms, 2.5s or 800us, not {text!r}")
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
    """One limit on one total: where it came from ("spec", "command line" or BASELINE) and, for a spec, its
    position."""

    field: str
    value: int  # a count; seconds (a float) for LATENCY
    source: str
    loc: Loc | None = None  # the spec's `budget:` line (None for a command-line limit)
    text: str = ""  # as written: '4.5G'
    key_loc: Loc | None = None  # the spec's key of this limit (`latency:`), where an error about it points


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
    published: object = None  # costcalc.analysis.published.Published, when the spec publishes figures
    published_checked: bool = False  # --published: a figure beyond its tolerance fails
    notes: tuple = ()  # what was not compared, and why ("no baseline for this model")

    @property
    def failed(self) -> tuple:
        """The gates this spec failed, in order: 'budget', 'baseline', 'guidelines', 'published'."""
        gates = []
        if any(not v.ok and v.limit.source != BASELINE for v in self.verdicts):
            gates.append("budget")
        if any(not v.ok and v.limit.source == BASELINE for v in self.verdicts):
            gates.append("baseline")
        if self.guideline_violations:
            gates.append("guidelines")
        if self.published_checked and self.published is not None and not self.published.ok:
            gates.append("published")
        return tuple(gates)

    @property
    def status(self) -> str:
        """'error', 'over' (some gate failed), 'within' or 'no budget' (nothing to check)."""
        if self.error is not None:
            return "error"
        if not self.verdicts and not self.guidelines_checked and not (self.published_checked and self.published):
            return "no budget"
        return "over" if self.failed else "within"


@dataclass(frozen=True)
class CheckRun:
    checks: tuple  # tuple[SpecCheck]
    require_budget: bool = False
    convention: str = "paper"  # what the FLOPs totals count
    memory_unit: str = "elements"
    settings: tuple = ()  # the --set / --input every spec was checked under, as written

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
        if str(key).lower() in MAC_KEYS:
            raise SpecError(f"budget: '{key}' is ambiguous: {MAC_MEANING}; write memory_access: for a limit on memory "
                            "access, or flops: for multiply-adds (what ptflops and thop call MACs)", budget.key_locs[key])
        if key == LATENCY_KEY:
            try:
                seconds = parse_duration(budget[key])
            except QuantityError as e:
                raise SpecError(f"budget: {key}: {e}", budget.value_locs[key]) from None
            limits.append(Limit(LATENCY, seconds, "spec", loc, str(budget[key]), budget.key_locs[key]))
            continue
        if key not in BUDGET_FIELDS:
            keys = (*BUDGET_FIELDS, LATENCY_KEY)
            raise SpecError(f"budget: unknown total '{key}'{did_you_mean(key, keys)} "
                            f"(budgets limit {', '.join(keys)})", budget.key_locs[key])
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
            raise QuantityError(f"--max-{key.replace('_', '-')}: {e}") from None
    return limits


def check_spec(path: str, extra_limits: list, load, fail_on: tuple = (), bytes_per_element: int = 1,
               baseline=None, published: bool = False) -> SpecCheck:
    """Check one spec: `load(path)` -> (Spec, Report). Every limit from the spec and from `extra_limits` applies
    (a spec within its own budget can still exceed a command-line one), every violation of the guidelines named
    in `fail_on` fails it (the Report then carries its guideline checks), and so do an increase over `baseline`
    (a Baseline) beyond its limits and, with `published`, a published figure beyond its tolerance (the Report
    carries them when they apply). A SpecError is kept, not raised."""
    try:
        spec, report = load(path)
        limits = [_in_bytes(limit, bytes_per_element) for limit in spec_limits(spec)] + list(extra_limits)
        for limit in limits:
            if limit.field == LATENCY and report.latency_s is None:
                raise SpecError(f"budget: latency: {limit.text} limits the estimated latency: check it with a device "
                                "profile (--device PROFILE.yaml, from `costcalc calibrate`)", limit.key_loc or limit.loc)
    except SpecError as e:
        return SpecCheck(path, error=e)
    notes = ()
    if baseline is not None:
        found, note = baseline.limits(path, report)
        limits += found
        notes += (note,) if note else ()
    verdicts = tuple(Verdict(limit, report.latency_s if limit.field == LATENCY else getattr(report.totals, limit.field))
                     for limit in limits)
    budget_loc = spec.section_locs.get("budget") if spec.budget is not None else None
    violations = report.guidelines.violations(fail_on) if fail_on else ()
    if published and report.published is None and getattr(spec, "published", None):
        notes += ("published figures not compared: --set, --input, --batch, --bytes or --convention changed "
                  "what is counted",)
    return SpecCheck(path, report.model, report.totals, verdicts, None, budget_loc, tuple(fail_on), violations,
                     report.published, published, notes)


def _in_bytes(limit: Limit, bytes_per_element: int) -> Limit:
    """A spec's memory_access limit (in elements) in bytes, for a check counting memory access in bytes."""
    if limit.field != "memory_access" or bytes_per_element == 1:
        return limit
    return Limit(limit.field, limit.value * bytes_per_element, limit.source, limit.loc,
                 f"{limit.text} elements x {bytes_per_element} bytes")


def spec_files(paths, exclude: tuple = ()) -> list:
    """Spec files named by `paths`: a file as itself, a directory as every *.yaml / *.yml under it, sorted; a
    file under a directory is left out when a glob of `exclude` matches its path, its path below the directory
    or its name (`--exclude 'guidelines/*'`, `--exclude '*_x2_0.yaml'`)."""
    import os
    from fnmatch import fnmatch

    def excluded(full: str, below: str) -> bool:
        return any(fnmatch(full, g) or fnmatch(below, g) or fnmatch(os.path.basename(full), g) for g in exclude)

    found = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for f in sorted(files):
                    full = os.path.join(root, f)
                    if f.endswith((".yaml", ".yml")) and not excluded(full, os.path.relpath(full, path)):
                        found.append(full)
        else:
            found.append(path)
    return found
