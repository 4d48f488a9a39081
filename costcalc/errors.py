"""Typed errors of the library. Only the CLI catches them and prints them, one located line each."""

from __future__ import annotations

from contextlib import contextmanager
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


class SpecErrors(SpecError):
    """Several independent errors of one spec, in file order; `message` and `loc` are the first one's, and
    str() gives one located line per error."""

    def __init__(self, errors: list):
        first = errors[0]
        super().__init__(first.message, first.loc)
        self.errors = list(errors)

    def __str__(self) -> str:
        return "\n".join(SpecError.__str__(e) for e in self.errors)


class Collector:
    """Gathers the errors of independent parts of a spec (sections, layer entries) instead of stopping at the
    first. `with collector.attempt(): ...` records a SpecError raised inside; `raise_any()` raises them all.
    After MAX_ERRORS it stops at once, with a last line saying so."""

    def __init__(self, limit: int = MAX_ERRORS):
        self.limit = limit
        self.errors: list = []
        self.seen: set = set()  # (loc, message): a shared (aliased) part is reported once

    @contextmanager
    def attempt(self):
        try:
            yield
        except TooManyErrors:
            raise
        except SpecError as e:
            for error in getattr(e, "errors", [e]):
                self.add(error)

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


# What other tools call a key or an op's argument (torch, ONNX, Keras), and its name in a spec
KNOWN_AS = {"kernel_size": "k", "kernel": "k", "kernel_shape": "k", "padding": "pad", "pads": "pad",
            "strides": "stride", "dilations": "dilation", "group": "groups", "out_channels": "out",
            "out_features": "out", "filters": "out", "channels": "out"}


def did_you_mean(word: str, choices) -> str:
    """' (did you mean 'x'?)' for the closest of `choices` (or the spec's name for another tool's spelling, as
    'kernel_size' -> 'k'), or '' when none is close."""
    import difflib  # only on the error path

    word = str(word)
    if len(word) > 100:
        return ""
    names = [str(c) for c in choices]
    if KNOWN_AS.get(word) in names:
        return f" (did you mean '{KNOWN_AS[word]}'?)"
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
