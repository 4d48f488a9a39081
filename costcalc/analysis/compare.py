"""Two reports side by side: deltas of the totals and a row-by-row diff.

Rows (layers, or blocks at a depth) are matched first by their hierarchical name (`layer2.0.conv2` in A with
`layer2.0.conv2` in B), then, among the rows left over, by position within their parent block (`layer2.0`): the
leftovers of A and B under the same parent are aligned in order as a diff aligns lines, runs of the same op
lining up and the rows between them paired one to one, so that a layer inserted in B (which shifts the automatic
names `relu2`, `conv3`, ... of the layers after it) does not unpair the rest. Rows still unmatched are only in A
or only in B. Deltas are B - A.
"""

from __future__ import annotations

from dataclasses import dataclass

from costcalc.analysis.report import Report, Row, rows
from costcalc.ops import COUNT_FIELDS, Counts

MATCHED_BY_NAME = "name"
MATCHED_BY_POSITION = "position"


@dataclass(frozen=True)
class RowDiff:
    """One line of the diff: a row of A, a row of B, or both (matched by name or by position)."""

    a: Row | None
    b: Row | None
    matched_by: str | None = None  # MATCHED_BY_NAME, MATCHED_BY_POSITION, or None for a row on one side

    @property
    def status(self) -> str:
        """'both', 'only_a' or 'only_b'."""
        if self.a is None:
            return "only_b"
        if self.b is None:
            return "only_a"
        return "both"

    @property
    def delta(self) -> Counts:
        return subtract(self.b.counts if self.b else Counts(), self.a.counts if self.a else Counts())

    @property
    def latency_delta(self) -> float | None:
        """B - A of the rows' estimated latency, when the reports carry one (a row on one side counts as 0)."""
        sides = [row.latency_s for row in (self.a, self.b) if row is not None]
        if not sides or any(t is None for t in sides):
            return None
        return (self.b.latency_s if self.b else 0.0) - (self.a.latency_s if self.a else 0.0)

    @property
    def changed(self) -> bool:
        if self.a is None or self.b is None:
            return True
        return (self.a.counts, self.a.op, self.a.output) != (self.b.counts, self.b.op, self.b.output)


@dataclass(frozen=True)
class GuidelineChanges:
    """ShuffleNet V2 guideline violations of A and B, matched by (guideline, layer or block name)."""

    counts: tuple  # ((guideline, violations in A, violations in B), ...) for the layer checks G1..G3
    appeared: tuple  # Findings violated in B and not in A (G1..G3)
    disappeared: tuple  # Findings violated in A and not in B (G1..G3)
    network: tuple = ()  # ((guideline, share in A, share in B, limit, passed in A, passed in B),): G4, a check of
    # the whole network (its element-wise share of MAC), whose listed layers are no count of violations


@dataclass(frozen=True)
class Comparison:
    a: Report
    b: Report
    label_a: str  # how the table names each side: the model, and its --set / --input when they differ
    label_b: str
    rows: tuple  # tuple[RowDiff]
    depth: int | None  # None: every layer
    guideline_changes: GuidelineChanges | None = None  # when both reports carry their guideline checks

    @property
    def delta(self) -> Counts:
        return subtract(self.b.totals, self.a.totals)

    @property
    def has_latency(self) -> bool:
        return self.a.latency is not None and self.b.latency is not None

    def latency_delta(self) -> tuple:
        """(B - A, (B - A) / A) of the estimated latency, or (None, None) when either has no device profile."""
        if not self.has_latency:
            return None, None
        delta = self.b.latency_s - self.a.latency_s
        return delta, (delta / self.a.latency_s if self.a.latency_s else None)

    def relative(self) -> dict:
        """field -> (B - A) / A as a float, or None when A's total is 0."""
        a, d = self.a.totals, self.delta
        return {f: (getattr(d, f) / getattr(a, f) if getattr(a, f) else None) for f in COUNT_FIELDS}


def subtract(b: Counts, a: Counts) -> Counts:
    return Counts(*(getattr(b, f) - getattr(a, f) for f in COUNT_FIELDS))


def compare(a: Report, b: Report, depth: int | None = None, label_a: str = "", label_b: str = "") -> Comparison:
    """The comparison of `a` and `b` at `depth` (None: every layer; N: rows summed into blocks at depth N)."""
    rows_a, rows_b = rows(a, depth), rows(b, depth)
    changes = None
    if a.guidelines is not None and b.guidelines is not None:
        changes = guideline_changes(a.guidelines, b.guidelines)
    return Comparison(a, b, label_a or a.model, label_b or b.model, tuple(match_rows(rows_a, rows_b)), depth,
                      changes)


def _parent(row: Row) -> str:
    return row.name.rpartition(".")[0]


def match_rows(rows_a: list, rows_b: list) -> list:
    """Pair rows by name, then by position within their parent; the result follows A's order, each B-only row
    placed after the row of B before it."""
    index_b = {row.name: j for j, row in enumerate(rows_b)}
    pair: dict = {}  # index in A -> (index in B, how)
    for i, row in enumerate(rows_a):
        if row.name in index_b:
            pair[i] = (index_b[row.name], MATCHED_BY_NAME)
    taken_b = {j for j, _ in pair.values()}
    left_a: dict = {}
    left_b: dict = {}
    for i, row in enumerate(rows_a):
        if i not in pair:
            left_a.setdefault(_parent(row), []).append(i)
    for j, row in enumerate(rows_b):
        if j not in taken_b:
            left_b.setdefault(_parent(row), []).append(j)
    for parent, indices in left_a.items():
        for i, j in _align(indices, left_b.get(parent, []), rows_a, rows_b):
            pair[i] = (j, MATCHED_BY_POSITION)
            taken_b.add(j)
    result = []
    emitted_b: set = set()
    next_b = 0

    def flush_b(up_to: int):
        nonlocal next_b
        while next_b < up_to:
            if next_b not in taken_b and next_b not in emitted_b:
                result.append(RowDiff(None, rows_b[next_b]))
                emitted_b.add(next_b)
            next_b += 1

    for i, row in enumerate(rows_a):
        if i in pair:
            j, how = pair[i]
            flush_b(j)
            result.append(RowDiff(row, rows_b[j], how))
        else:
            result.append(RowDiff(row, None))
    flush_b(len(rows_b))
    return result


def _kind(row: Row) -> str:
    return row.op.split(" x")[0]  # a repeated block's row reads "bottleneck x3": the kind without the count


def _align(indices_a: list, indices_b: list, rows_a: list, rows_b: list) -> list:
    """Pair the leftover rows of one block in order: runs of the same op line up, and between them rows are paired
    by position (a conv replaced by a depthwise conv); an extra row on one side stays unpaired."""
    from difflib import SequenceMatcher

    kinds_a = [_kind(rows_a[i]) for i in indices_a]
    kinds_b = [_kind(rows_b[j]) for j in indices_b]
    pairs = []
    for tag, a0, a1, b0, b1 in SequenceMatcher(None, kinds_a, kinds_b, autojunk=False).get_opcodes():
        if tag in ("equal", "replace"):
            pairs += zip(indices_a[a0:a1], indices_b[b0:b1])
    return pairs


def guideline_changes(a, b) -> GuidelineChanges:
    """What violations of the guidelines checks `a` and `b` (costcalc.analysis.guidelines.Guidelines) appear in B
    or disappear from A, a finding being the same when its guideline and its layer (or block) name are."""
    key = lambda finding: (finding.guideline, finding.where)  # noqa: E731
    found_a = {key(f): f for f in a.violations() if f.guideline not in WHOLE_NETWORK}
    found_b = {key(f): f for f in b.violations() if f.guideline not in WHOLE_NETWORK}
    counts = tuple((result.guideline, len(result.violations), len(b[result.guideline].violations))
                   for result in a.results if result.guideline not in WHOLE_NETWORK)
    network = tuple((g, dict(a[g].summary)["elementwise_share"], dict(b[g].summary)["elementwise_share"],
                     a[g].thresholds["max_share"], a[g].passed, b[g].passed) for g in WHOLE_NETWORK)
    return GuidelineChanges(counts, tuple(f for k, f in found_b.items() if k not in found_a),
                            tuple(f for k, f in found_a.items() if k not in found_b), network)


WHOLE_NETWORK = ("G4",)  # guidelines that judge the network, not a layer or block
