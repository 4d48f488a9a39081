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
             f"(fastest kept), in {calibration.measuring_s:.0f} s of measuring ({calibration.elapsed_s:.0f} s in all: "
             f"generating the networks and fitting besides); combine: {p.combine}",
             _quality("fit", calibration.fitted),
             _quality("held out (5-fold)", calibration.held_out),
             _quality(f"held out, combine {'sum' if p.combine == 'max' else 'max'}", calibration.other),
             "", f"{'family':<14} {'networks':>8} {'median |error|':>15} {'within 10%':>11}"]
    for family, n, median, within in per_family(calibration):
        lines.append(f"{family:<14} {n:>8} {median:>15.1%} {within:>11.0%}")
    lines += ["", f"{'op class':<22} {'GFLOP/s':>9} {'GB/s':>9} {'per kernel':>11} {'per row':>9}  what"]
    for name in OP_CLASSES:
        c = p[name]
        flops = "-" if c.throughput >= 1e14 else f"{c.throughput / 1e9:.1f}"
        bandwidth = "-" if c.bandwidth >= 1e14 else f"{c.bandwidth / 1e9:.1f}"
        row = f"{c.row_s * 1e9:.1f} ns" if c.row_s else "-"
        lines.append(f"{name:<22} {flops:>9} {bandwidth:>9} {duration(c.overhead_s):>11} {row:>9}  {CLASS_DOCS[name]}")
    if calibration.fitted.unfitted:
        lines.append(f"not exercised (parameters borrowed): {', '.join(calibration.fitted.unfitted)}")
    lines.append(f"run overhead {duration(p.run_overhead_s)}; '-': that term explained nothing (the other did), or the "
                 "class has no rows")
    if p.threads > 1:
        lines.append(f"fork and join {duration(p.fork_s)} per launch of a kernel shared among the {p.threads} threads "
                     "(beside its class's per-kernel time; which classes split, along which axis: "
                     "costcalc/latency/threads.py)")
    record = p.calibration.get("context", {}) if isinstance(p.calibration, dict) else {}
    wholes, weight = record.get("networks", 0), record.get("weight", 1)
    layout = p.calibration.get("layout") if isinstance(p.calibration, dict) else None
    if layout:
        lines.append(f"layout block {layout['block']} (onnxruntime's NCHWc; measured: 20 channels took "
                     f"{layout['probe_ratio']:.2f} of 32's time)")
    lines.append(f"context factor {p.context:.3f}: whole networks run that much slower than the fitted classes say "
                 f"(on the {wholes} random whole networks, 'networks' above, each weighted {weight:g} in the fit)")
    if p.context_slope and p.context_kernels:
        n0, slope = p.context_kernels, p.context_slope
        lines.append(f"length term: a network of n planned kernels (n / {n0:g}) ** {slope:.4f} times slower still "
                     f"(n = 4 x {n0:g}: {4 ** slope - 1:+.1%})")
    return "\n".join(lines) + "\n"


def render_check(result, path: str, profile, written: str = "", after=None) -> str:
    """The text of `costcalc calibrate --check PROFILE`: each reference network measured now beside the profile's
    estimate, the overall error (geometric mean of estimate / measured), the verdict, and, with --refit-scale,
    the profile written and `after`, the same measurements against its estimates."""
    from costcalc.latency.provenance import describe

    threads = f"{result.threads} thread{'s' if result.threads != 1 else ''}"
    lines = [f"{path}: {describe(profile)}",
             f"checked now on host {result.host or 'this host'}, {result.runtime or 'onnxruntime'}, {threads}, "
             f"{result.clock} clock: {len(result.rows)} reference networks (the calibration's random whole "
             f"networks), each measured {_times(result.passes)} (fastest kept), in {result.elapsed_s:.0f} s",
             "", f"{'network':<12} {'measured':>10} {'estimate':>10} {'error':>8}"]
    for row in result.rows:
        lines.append(f"{row.name:<12} {duration(row.measured_s):>10} {duration(row.estimate_s):>10} "
                     f"{row.error:>+8.1%}")
    lines.append(f"{'overall':<12} {'':>10} {'':>10} {result.overall:>+8.1%}  (geometric mean of estimate / measured)")
    if result.at_fit:
        lines.append(f"{'at fitting':<12} {'':>10} {'':>10} {result.at_fit:>+8.1%}  (the same, on the calibration's "
                     "own measurements of these networks)")
    lines.append("")
    lines += [f"note: {d}" for d in result.differences]
    direction = "too slow" if result.overall > 0 else "too fast"
    since = (f", {result.at_fit:+.1%} when it was fitted: moved {result.drift:+.1%} since," if result.at_fit else ",")
    if result.holds:
        lines.append(f"the profile holds: its estimates are {abs(result.overall):.1%} {direction} here now{since} "
                     f"within the tolerance of +-{result.tolerance:.0%}")
    else:
        lines.append(f"the profile does not hold: its estimates are {abs(result.overall):.1%} {direction} here "
                     f"now{since} beyond the tolerance of +-{result.tolerance:.0%}")
    if written:
        lines.append(f"wrote {written}: the profile rescaled by x{result.factor:.4f}; on these measurements its "
                     f"estimates are {after.overall:+.1%} overall, each network from {min(r.error for r in after.rows):+.1%}"
                     f" to {max(r.error for r in after.rows):+.1%}")
    elif not result.holds and result.layout_block and result.layout_block != profile.layout_block:
        lines.append(f"fit a new one: costcalc calibrate -o NEW.yaml --threads {result.threads} (docs/latency.md, "
                     "\"When a profile drifts\")")
    elif not result.holds:
        lines.append(f"rescale it: costcalc calibrate --check {path} --refit-scale -o NEW.yaml; or fit a new one: "
                     f"costcalc calibrate -o NEW.yaml --threads {result.threads} (docs/latency.md, \"When a profile "
                     f"drifts\")")
    return "\n".join(lines) + "\n"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"
