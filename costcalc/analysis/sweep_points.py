"""A sweep's points: a grid's product, random draws over ranges, steps and choices, or candidates read as JSON
lines; and each point as the settings it evaluates.

A point is a tuple of (name, value text) in the sweep's order. A name is a variable of the spec (`width`), the
input (`input`), or one element of a list variable (`n[2]`: the depth of the third row of MobileNet V2's table;
`n[*]` stands for each element in turn, drawn apart). A value is what `--set` takes.
"""

from __future__ import annotations

import itertools
import json
import random as _random
import re
from functools import lru_cache

from costcalc.errors import Loc, OptionError, SpecError, did_you_mean
from costcalc.options import format_shape, parse_assignment, parse_shape

INPUT = "input"
MAX_POINTS = 10_000_000
_ELEMENT = re.compile(r"^([A-Za-z_]\w*)\[(\d+|\*)\]$")
_INTEGER = re.compile(r"^-?(0|[1-9][0-9]*)$")
_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)\.[0-9]+$")


def split_values(text: str) -> list:
    """'0.5,0.75,[3, 4]' -> ['0.5', '0.75', '[3, 4]']: commas inside brackets or parentheses do not split."""
    values, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(text[start:i].strip())
            start = i + 1
    values.append(text[start:].strip())
    if any(not v for v in values):
        raise OptionError(f"'{text}': an empty value between commas")
    return values


def parse_grid(items) -> list:
    """['width=0.5,1.0', 'input=3x160x160,3x224x224'] -> [('width', ('0.5', '1.0')), ('input', (...))]."""
    axes = []
    for item in items:
        name, text = parse_assignment(item, "--grid width=0.5,0.75,1.0")
        values = split_values(text)
        if name == INPUT:
            values = [format_shape(parse_shape(v)) for v in values]
        axes.append((name, tuple(values)))
    _unique([name for name, _ in axes])
    return axes


def parse_ranges(items) -> list:
    """What --random draws each name from: 'width=0.25:2.0' -> ('width', 0.25, 2.0), drawn uniformly (integers
    when both bounds are: 'depth=1:4'); 'expand=2:6:2' -> ('expand', ('2', '4', '6')) and 'k=3,5,7' -> ('k',
    ('3', '5', '7')), drawn by choice."""
    ranges = []
    for item in items:
        name, text = parse_assignment(item, "--range width=0.25:2.0")
        if name == INPUT and ":" in text:
            raise OptionError(f"'{item}': the input is drawn from a list: --range input=3x160x160,3x224x224")
        if ":" not in text:
            values = split_values(text)
            ranges.append((name, tuple(format_shape(parse_shape(v)) for v in values) if name == INPUT
                           else tuple(values)))
            continue
        bounds = [_number(bound) for bound in text.split(":")]
        if len(bounds) not in (2, 3) or None in bounds or not bounds[0] <= bounds[1] or \
                (len(bounds) == 3 and not bounds[2] > 0):
            raise OptionError(f"'{item}': write NAME=LOW:HIGH (LOW <= HIGH), NAME=LOW:HIGH:STEP (STEP > 0) or "
                              "NAME=V1,V2,..., e.g. --range width=0.25:2.0 --range depth=1:4 --range k=3,5,7")
        if len(bounds) == 2:
            ranges.append((name, *bounds))
            continue
        low, high, step = bounds
        count = int((high - low) / step + 1e-9) + 1
        if count > MAX_POINTS:
            raise OptionError(f"'{item}': {count:,} steps is beyond the limit of {MAX_POINTS:,}")
        exact = all(isinstance(b, int) for b in bounds)
        ranges.append((name, tuple(str(low + i * step) if exact else repr(round(low + i * step, 10))
                                   for i in range(count))))
    _unique([name for name, *_ in ranges])
    return ranges


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return None


def _unique(names: list) -> None:
    for name in names:
        if names.count(name) > 1:
            raise OptionError(f"'{name}' is swept twice")


def grid_points(axes: list) -> list:
    """Every combination of the axes' values, the last axis varying fastest."""
    count = 1
    for _, values in axes:
        count *= len(values)
    if count > MAX_POINTS:
        raise OptionError(f"the grid has {count:,} points, beyond the limit of {MAX_POINTS:,}")
    names = [name for name, _ in axes]
    return [tuple(zip(names, combo)) for combo in itertools.product(*(values for _, values in axes))]


def random_points(count: int, ranges: list, axes: list = (), seed: int = 0) -> list:
    """`count` points drawn with `seed`: each range uniformly (integers when its bounds are; floats rounded to 4
    decimals, so that each point reads as it is evaluated), each choice (a stepped range, a list of values, a grid
    axis) by choosing one of its values. The draws are random.Random(seed)'s own: uniform(low, high),
    randint(low, high), choice(values), point after point, name after name."""
    if count > MAX_POINTS:
        raise OptionError(f"{count:,} points is beyond the limit of {MAX_POINTS:,}")
    draws = _draws(ranges) + _draws(axes)
    return (_inline_points if _inline_draws() else _plain_points)(_random.Random(seed), count, draws)


class Draw:
    """The points random_points(count, ranges, axes, seed) draws, not drawn yet: called, it draws them (a sweep
    over processes has each process draw its own, costcalc.analysis.sweep_jobs)."""

    def __init__(self, count: int, ranges: list, axes: list = (), seed: int = 0):
        if count > MAX_POINTS:
            raise OptionError(f"{count:,} points is beyond the limit of {MAX_POINTS:,}")
        self.count, self.ranges, self.axes, self.seed = count, list(ranges), list(axes), seed

    def __len__(self) -> int:
        return self.count

    def __call__(self) -> list:
        return random_points(self.count, self.ranges, self.axes, self.seed)


def _draws(ranges) -> list:
    """(name, what is drawn from, n, bits) of each range or axis: a choice of n values (an integer range as the
    choice of its texts where it is short: randint(a, b) is a + _randbelow(b - a + 1), choice(seq) is
    seq[_randbelow(len(seq))], the same draw without making each text again); a long integer range as (low,
    -count); a float range as ((low, high, high - low), 0)."""
    out = []
    for name, *span in ranges:
        if len(span) == 1 or (_whole(span) and span[1] - span[0] < 4096):
            values = span[0] if len(span) == 1 else tuple(str(v) for v in range(span[0], span[1] + 1))
            out.append((name, values, len(values), len(values).bit_length()))
        elif _whole(span):
            size = span[1] - span[0] + 1
            out.append((name, span[0], -size, size.bit_length()))
        else:
            out.append((name, (span[0], span[1], span[1] - span[0]), 0, 0))
    return out


def _inline_points(rng, count: int, draws: list) -> list:
    """The points, drawn as random.Random's choice, randint and uniform draw them, without their calls."""
    getrandbits, random = rng.getrandbits, rng.random
    points = []
    for _ in range(count):
        point = []
        for name, span, n, bits in draws:
            if n > 0:  # choice(span): span[_randbelow(n)]
                r = getrandbits(bits)
                while r >= n:
                    r = getrandbits(bits)
                point.append((name, span[r]))
            elif n < 0:  # randint(low, low - n - 1): low + _randbelow(-n)
                r = getrandbits(bits)
                while r >= -n:
                    r = getrandbits(bits)
                point.append((name, str(span + r)))
            else:  # uniform(low, high): low + (high - low) * random()
                point.append((name, repr(round(span[0] + span[2] * random(), 4))))
        points.append(tuple(point))
    return points


def _plain_points(rng, count: int, draws: list) -> list:
    """The points, drawn by random.Random's own methods (where this Python draws otherwise: _inline_draws)."""
    points = []
    for _ in range(count):
        points.append(tuple((name, rng.choice(span) if n > 0 else str(rng.randint(span, span - n - 1)) if n < 0
                             else repr(round(rng.uniform(span[0], span[1]), 4))) for name, span, n, _ in draws))
    return points


@lru_cache(maxsize=1)
def _inline_draws() -> bool:
    """Whether _inline_points draws what this Python's random.Random draws (choice and randint through
    _randbelow's getrandbits, uniform as low + (high - low) * random()): checked once, on a sample."""
    draws = _draws([("c", ("a", "b", "c", "d", "e")), ("one", ("x",)), ("i", 1, 6), ("wide", 0, 100_000),
                    ("f", 0.25, 2.0)])
    return _inline_points(_random.Random(12345), 64, draws) == _plain_points(_random.Random(12345), 64, draws)


def _whole(span) -> bool:
    return isinstance(span[0], int) and isinstance(span[1], int)


def expand_elements(model, swept: list) -> list:
    """Each `NAME[*]` of `swept` ((name, ...) items) as NAME[0], NAME[1], ... of the list variable NAME, each with
    the same values to draw from."""
    out = []
    for name, *rest in swept:
        match = _ELEMENT.match(name)
        if match is None or match.group(2) != "*":
            out.append((name, *rest))
            continue
        base = match.group(1)
        check_names(model, [base])
        written = model.variables[base]
        if not isinstance(written, list):
            raise OptionError(f"'{name}': variable '{base}' is not written as a list in {model.path}")
        out.extend((f"{base}[{i}]", *rest) for i in range(len(written)))
    return out


def check_names(model, names) -> None:
    """Every swept name is the spec's variable, an element of a list variable written out in the spec (`n[2]`),
    or the input: a misspelt name is one error, not a sweep of them."""
    known = model.variables
    for name in names:
        match = _ELEMENT.match(name)
        base = match.group(1) if match else name
        if base != INPUT and base not in known:
            hint = did_you_mean(base, [*known, INPUT]) or f" (it has: {', '.join(known) or 'none'})"
            raise OptionError(f"'{name}': {model.path} has no variable '{base}'{hint}")
        if match is None:
            continue
        written = known[base]
        if not isinstance(written, list) or not int(match.group(2)) < len(written):
            size = f"a list of {len(written)}" if isinstance(written, list) else "not written as a list"
            raise OptionError(f"'{name}': variable '{base}' of {model.path} is {size}")
        if base in names:
            raise OptionError(f"'{name}': '{base}' is swept whole too: sweep the list or its elements")


def settings(point: tuple, written: dict | None = None) -> tuple:
    """A point -> (variable overrides, input shape or None). A plain number's text is given as the number (what
    the text evaluates to); an element (`n[2]`) is set in a copy of the list as `written` (the spec's variables as
    written, Model.variables) has it."""
    variables: dict = {}
    shape = None
    for name, text in point:
        if name == INPUT:
            shape = parse_shape(text)
            continue
        value = _value(text)
        element = _element(name)
        if element is None:
            variables[name] = value
            continue
        base, index = element
        if base not in variables:
            variables[base] = list(written[base])
        variables[base][index] = value
    return variables, shape


@lru_cache(maxsize=65536)
def _value(text: str):
    """A value's text as `settings` gives it: a plain number as the number, anything else as its text."""
    return int(text) if _INTEGER.match(text) else float(text) if _DECIMAL.match(text) else text


@lru_cache(maxsize=4096)
def _element(name: str):
    """(list variable, index) of a swept name `n[2]`; None for a variable's own name."""
    match = _ELEMENT.match(name) if name[-1:] == "]" else None
    return None if match is None else (match.group(1), int(match.group(2)))


def read_candidates(lines, path: str, model):
    """Yield each setting ({name: value}) of JSON lines (one object a line, blank lines skipped), as they come;
    a line that is not a JSON object, or that names no variable of the spec, is a located SpecError."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            setting = json.loads(line)
        except json.JSONDecodeError as e:
            raise SpecError(f"candidate: not JSON: {e.msg}", Loc(path, number, e.colno)) from None
        if not isinstance(setting, dict):
            raise SpecError(f"candidate: a JSON object of settings, e.g. {{\"width\": 0.5}}, not "
                            f"{type(setting).__name__}", Loc(path, number, 1))
        unknown = [name for name in setting if name != INPUT and name not in model.variables]
        if unknown:
            hint = did_you_mean(unknown[0], [*model.variables, INPUT]) or \
                f" (it has: {', '.join(model.variables) or 'none'})"
            raise SpecError(f"candidate: {model.path} has no variable '{unknown[0]}'{hint} (a list variable is "
                            "given whole)", Loc(path, number, line.find(json.dumps(unknown[0])) + 1))
        yield setting
