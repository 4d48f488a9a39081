"""The text `costcalc calibrate` prints: how well the fitted profile explains the calibration networks, per family
and held out, and the fitted parameters per op class."""

from __future__ import annotations

from costcalc.report.units import duration


def _quality(label: str, q) -> str:
    return (f"{label}: median |error| {q.median_abs_error:.1%}, within +-10% {q.within_10:.0%}, "
            f"within +-20% {q.within_20:.0%}, worst {q.max_abs_error:.0%} ({q.samples} networks)")


def render(calibration, path: str) -> str:
    from costcalc.latency.calibration import per_family
    from costcalc.latency.profile import CLASS_DOCS, OP_CLASSES

    p = calibration.profile
    threads = f"{p.threads} thread{'s' if p.threads != 1 else ''}"
    lines = [f"wrote {path}: {p.runtime or 'runtime'} on {p.device or 'this machine'}, {threads}",
             f"{len(calibration.samples)} calibration networks, each measured {calibration.passes} times "
             f"(fastest kept), in {calibration.elapsed_s:.0f} s; combine: {p.combine}",
             _quality("fit", calibration.fitted),
             _quality("held out (5-fold)", calibration.held_out),
             _quality(f"held out, combine {'sum' if p.combine == 'max' else 'max'}", calibration.other),
             "", f"{'family':<14} {'networks':>8} {'median |error|':>15} {'within 10%':>11}"]
    for family, n, median, within in per_family(calibration):
        lines.append(f"{family:<14} {n:>8} {median:>15.1%} {within:>11.0%}")
    lines += ["", f"{'op class':<22} {'GFLOP/s':>9} {'GB/s':>9} {'per kernel':>11}  what"]
    for name in OP_CLASSES:
        c = p[name]
        flops = "-" if c.throughput >= 1e14 else f"{c.throughput / 1e9:.1f}"
        bandwidth = "-" if c.bandwidth >= 1e14 else f"{c.bandwidth / 1e9:.1f}"
        lines.append(f"{name:<22} {flops:>9} {bandwidth:>9} {duration(c.overhead_s):>11}  {CLASS_DOCS[name]}")
    if calibration.fitted.unfitted:
        lines.append(f"not exercised (parameters borrowed): {', '.join(calibration.fitted.unfitted)}")
    lines.append(f"run overhead {duration(p.run_overhead_s)}; '-': that term explained nothing (the other did)")
    record = p.calibration.get("context", {}) if isinstance(p.calibration, dict) else {}
    wholes, weight = record.get("networks", 0), record.get("weight", 1)
    lines.append(f"context factor {p.context:.3f}: whole networks run that much slower than the fitted classes say "
                 f"(on the {wholes} random whole networks, 'networks' above, each weighted {weight:g} in the fit)")
    return "\n".join(lines) + "\n"
