"""Typed errors of the library. Only the CLI catches them and prints them, one located line each."""

from __future__ import annotations

from dataclasses import dataclass

MAX_ERRORS = 20  # independent errors reported together, like a compiler's, before giving up
MAX_MESSAGE = 1000  # characters of one error line's message: untrusted text never floods the terminal


@dataclass(frozen=True, slots=True)
class Loc:
    """Where something stands in a spec file: 1-based line and column."""

    file: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{one_line(self.file, 1000)}:{self.line}:{self.col}"


class CostcalcError(Exception):
    """Base of every error costcalc reports to a user."""


class SpecError(CostcalcError):
    """A spec (or an option that changes it) cannot be read: reported as `file:line:col: error: message`."""

    def __init__(self, message: str, loc: Loc):
        super().__init__(message)
        self.message = message
        self.loc = loc

    def __str__(self) -> str:
        return f"{self.loc}: error: {one_line(self.message, MAX_MESSAGE)}"


class OptionError(CostcalcError, ValueError):
    """An argument of the Python API or an option of a command is not valid (not a spec's error: no location)."""


class NotAvailableError(CostcalcError, NotImplementedError):
    """What was asked needs something this installation does not have (an optional extra, a feature to come)."""


class SpecErrors(SpecError):
    """Several independent errors of one spec, in file order; `message` and `loc` are the first one's, and
    str() gives one located line per error."""

    def __init__(self, errors: list):
        first = errors[0]
        super().__init__(first.message, first.loc)
        self.errors = list(errors)

    def __str__(self) -> str:
        return "\n".join(SpecError.__str__(e) for e in self.errors)


@dataclass(frozen=True)
class SpecWarning:
    """Something in a spec that is legal but most likely not what was meant: printed on stderr by the CLI as
    `file:line:col: warning: message`; it changes neither the counts nor the exit code."""

    message: str
    loc: Loc

    def __str__(self) -> str:
        return f"{self.loc}: warning: {one_line(self.message, MAX_MESSAGE)}"


class Collector:
    """Gathers the errors of independent parts of a spec (sections, layer entries) instead of stopping at the
    first. `with collector.attempt(): ...` records a SpecError raised inside; `raise_any()` raises them all.
    After MAX_ERRORS it stops at once, with a last line saying so."""

    def __init__(self, limit: int = MAX_ERRORS):
        self.limit = limit
        self.errors: list = []
        self.seen: set = set()  # (loc, message): a shared (aliased) part is reported once

    def attempt(self) -> "_Attempt":
        return _Attempt(self)

    def add(self, error: SpecError) -> None:
        key = (error.loc, error.message)
        if key in self.seen:
            return
        self.seen.add(key)
        if len(self.errors) >= self.limit:
            self.errors.sort(key=_position)
            raise TooManyErrors([*self.errors, SpecError(f"too many errors: stopping after {self.limit}", error.loc)])
        self.errors.append(error)

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise SpecErrors(sorted(self.errors, key=_position))


class TooManyErrors(SpecErrors):
    """The error limit was reached: no further part of the spec is checked."""


class _Attempt:
    """`with collector.attempt():` records a SpecError raised inside (a class, not a generator: a spec reader
    makes one per entry)."""

    __slots__ = ("collector",)

    def __init__(self, collector: Collector):
        self.collector = collector

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is None or not issubclass(kind, SpecError) or issubclass(kind, TooManyErrors):
            return False
        for one in getattr(error, "errors", [error]):
            self.collector.add(one)
        return True


def _position(error: SpecError) -> tuple:
    return error.loc.file, error.loc.line, error.loc.col


def one_line(text: str, limit: int) -> str:
    """`text` made safe for one terminal line: control and other non-printing characters escaped, and cut
    to `limit` characters."""
    text = str(text)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shown(value, limit: int = 60) -> str:
    """repr(value) cut to `limit` characters: for quoting untrusted values inside messages."""
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


# torch's name of an argument whose spec name is no slip of it: `kernel_size` is `k` (the window; `padding` and
# `out_channels` are left to the list of what an op takes, as tests/test_spec_names.py says)
KNOWN_AS = {"kernel_size": "k"}


def did_you_mean(word: str, choices) -> str:
    """' (did you mean 'x'?)' for the choice `word` is a slip of (or the spec's name for another tool's spelling
    of a key, KNOWN_AS: 'kernel_size' -> 'k'), or '' when none is: a wrong suggestion gives wrong counts (`gelu`
    is not `relu`, `matmul` is not `mul`), so only really close names qualify.

    Both sides are compared lower-cased, without '_' and '-', and without torch's '2d' suffix (costcalc's ops
    are the 2-D ones: `conv2d` is `conv`, `BatchNorm2d` is `batchnorm`). A choice then qualifies when it has
    the same digits in the same order (`relu6` is not `relu`, `conv3d` is not `conv`), the same first letter
    (unless the slip swaps the first two), and is at most one edit away — two for words of 8 or more letters
    — where an edit inserts, deletes or replaces a letter or swaps two adjacent ones (no replacing in words of
    4 letters or fewer: `selu` is not `silu`). A word that names an op of other frameworks (OTHER_OPS) is
    never taken for a slip."""
    word = str(word)
    if len(word) > 100:
        return ""
    if KNOWN_AS.get(word) in [str(c) for c in choices]:
        return f" (did you mean '{KNOWN_AS[word]}'?)"
    typed = _folded(word)
    if typed in OTHER_OPS:
        return ""
    best, best_distance = None, None
    for choice in choices:
        choice = str(choice)
        folded = _folded(choice)
        if not typed or not folded or _digits(typed) != _digits(folded):
            continue
        if typed[0] != folded[0] and typed[:2] != folded[1::-1]:
            continue
        limit = 1 if len(typed) < 8 else 2
        distance = _edit_distance(typed, folded, limit, 1 if len(typed) > 4 else 2)
        if distance <= limit and (best_distance is None or distance < best_distance):
            best, best_distance = choice, distance
    return f" (did you mean '{best}'?)" if best is not None and best != word else ""


# Ops of torch.nn and ONNX (folded as `_folded` does) that are not slips of a costcalc name even when they look
# like one: `gelu` is not `relu`, `rrelu` and `prelu` are not `relu`, `matmul` is not `mul`.
OTHER_OPS = frozenset("""
    elu selu celu gelu glu prelu rrelu relu3 mish softmax softmin logsoftmax softplus softsign logsigmoid
    hardtanh hardshrink softshrink tanhshrink threshold layernorm groupnorm instancenorm localresponsenorm lrn
    rmsnorm matmul gemm mm bmm einsum attention multiheadattention embedding lstm gru rnn upsample resize
    interpolate pixelshuffle pixelunshuffle convtranspose conv1d conv3d convtranspose1d convtranspose3d pad
    slice gather reshape view transpose permute squeeze unsqueeze expand tile sub div pow sqrt exp log erf
    clip clamp reducemean reducesum reducemax argmax topk sort where cast maxunpool fold unfold
""".split())


def _folded(word: str) -> str:
    word = word.lower().replace("_", "").replace("-", "")
    return word[:-2] if word.endswith("2d") and len(word) > 2 else word


def _digits(word: str) -> str:
    return "".join(c for c in word if c.isdigit())


def _edit_distance(a: str, b: str, limit: int, replace: int = 1) -> int:
    """Edits (insert, delete, replace at cost `replace`, swap of adjacent letters) from `a` to `b`; limit + 1
    when more."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before, row = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost * replace)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        before, row = row, current
    return min(row[-1], limit + 1)
