"""The one place where counts become text."""

from __future__ import annotations

_SUFFIXES = ((10**18, "E"), (10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def human(n: int, exact: bool = False) -> str:
    """4089184256 -> '4.09G' (or '4,089,184,256' when exact). Exact integer arithmetic, no float rounding drift."""
    magnitude = -n if n < 0 else n
    if exact or magnitude < 1000:
        return f"{n:,}"
    for scale, suffix in _SUFFIXES:
        if magnitude >= scale:
            hundredths = (magnitude * 100 + scale // 2) // scale
            if hundredths >= 100_000 and suffix == "E":  # beyond 999.99E: keep the exact digits
                return f"{n:,}"
            return f"{'-' if n < 0 else ''}{hundredths // 100}.{hundredths % 100:02d}{suffix}"
    return f"{n:,}"  # pragma: no cover


def ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "-"


def shape(dims) -> str:
    """(1, 64, 56, 56) -> '1x64x56x56'; several outputs are joined with ' + '; the inputs of a network of several,
    {name: dims}, read 'image 1x3x224x224, depth 1x1x224x224'."""
    if isinstance(dims, dict):
        return ", ".join(f"{name} {shape(d)}" for name, d in dims.items())
    if dims and isinstance(dims[0], tuple):
        return " + ".join(shape(d) for d in dims)
    return "x".join(str(d) for d in dims)


def signed(n: int, exact: bool = False) -> str:
    """A delta: '+141.30M', '-528.13K', '0'."""
    return human(n, exact) if n <= 0 else "+" + human(n, exact)


def percent(fraction) -> str:
    """A relative delta: 0.0346 -> '+3.46%'; None (nothing to compare with) -> '-'."""
    if fraction is None:
        return "-"
    return "0.00%" if fraction == 0 else f"{fraction * 100:+.2f}%"


def duration(seconds: float) -> str:
    """0.01234 -> '12.34 ms', 0.0000856 -> '85.6 us', 1.5 -> '1.500 s' (an estimate or a measurement)."""
    magnitude = abs(seconds)
    if magnitude >= 1:
        return f"{seconds:.3f} s"
    if magnitude >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def signed_duration(seconds: float) -> str:
    """A latency delta: '+1.20 ms', '-85.6 us', '0'."""
    if seconds == 0:
        return "0"
    return ("+" if seconds > 0 else "") + duration(seconds)


def share(part: int, whole: int) -> str:
    """A row's share of the total: 0.2886 -> '28.9%'; '-' when the total is 0."""
    return f"{part * 100 / whole:.1f}%" if whole else "-"
