"""`costcalc check`: the CI gate. Each spec against its budget and the --max-* limits, and, when asked, the
ShuffleNet V2 guidelines (--fail-on), a baseline (--baseline, --max-increase) and its published figures
(--published); the exit code says whether every gate passed."""

from __future__ import annotations

import os
import sys

import click

from costcalc.cli import (CONVENTION_NAMES, device_option, fail, parse_input, parse_sets, parse_thresholds, settings,
                          spec_options, threshold_option, warn, width)
from costcalc.errors import CostcalcError
from costcalc.report import FORMATS

MAX_MAC_REFUSED = ("--max-mac is not an option: MAC in costcalc is memory access cost (ShuffleNet V2: elements read "
                   "and written), not multiply-accumulates. For a limit on memory access use --max-memory-access; "
                   "for multiply-adds (what ptflops and thop call MACs) use --max-flops.")


def _refuse_max_mac(ctx, param, value):
    if value is not None:
        raise click.UsageError(MAX_MAC_REFUSED, ctx)
    return value


@click.command("check")
@click.argument("paths", metavar="SPEC|DIR...", nargs=-1, required=True)
@spec_options
@click.option("--max-flops", metavar="N", help="FLOPs limit, e.g. 4.5G (K/M/G/T are powers of 1000).")
@click.option("--max-params", metavar="N", help="Params limit, e.g. 26M.")
@click.option("--max-memory-access", metavar="N",
              help="Memory access limit in elements (in bytes with --bytes), e.g. 130M.")
@click.option("--max-mac", hidden=True, expose_value=False, callback=_refuse_max_mac, is_eager=True)
@click.option("--max-activations", metavar="N", help="Activations limit in elements, e.g. 50M.")
@click.option("--max-latency", metavar="TIME", help="Estimated latency limit, e.g. 10ms (needs --device).")
@device_option
@click.option("--fail-on", metavar="G1,G2", help="Also fail (exit 1) on violations of these ShuffleNet V2 guidelines.")
@threshold_option
@click.option("--baseline", metavar="FILE.json",
              help="Fail when a total grew over this earlier `report --format json` (or `check --format json`).")
@click.option("--max-increase", "increases", multiple=True, metavar="TOTAL=LIMIT",
              help="How much a total may grow over --baseline: flops=2%, params=100K (repeatable; default: "
                   "flops, params and memory_access may not grow).")
@click.option("--published", "check_published", is_flag=True,
              help="Also fail when a computed total differs from the spec's published: figure beyond its tolerance.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Leave out specs under a DIR whose path or name matches (repeatable), e.g. 'guidelines/*'.")
@click.option("--convention", type=click.Choice(CONVENTION_NAMES), default="paper", show_default=True,
              help="What FLOPs count (for --max-flops, budgets and baselines; see report --help).")
@click.option("--bytes", "bytes_per_element", type=click.IntRange(min=1), metavar="N",
              help="Memory access in bytes, N per element: --max-memory-access in bytes, a budget's "
                   "memory_access (elements) times N.")
@click.option("--require-budget", is_flag=True, help="A spec with no limit at all fails (exit 1).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Also write a JUnit XML report to FILE.")
@click.option("--exact", is_flag=True, help="Whole integers instead of K/M/G.")
def command(paths, sets, input_shape, batch, max_flops, max_params, max_memory_access, max_activations, max_latency,
            device, fail_on, thresholds, baseline, increases, check_published, exclude, convention, bytes_per_element,
            require_budget, fmt, junit_file, exact):
    """Check each SPEC (every *.yaml under a DIR) against its `budget:` section and the --max-* limits.

    \b
    Exit codes: 0 every spec passes every gate, 1 some gate failed (a limit
    exceeded, a --fail-on guideline violated, a total grown over --baseline,
    a --published figure differing, or with --require-budget a spec without
    limits), 2 a spec (or the baseline) could not be read. A total equal to
    its limit is within budget; the text says which gate failed.
    Under GitHub Actions (GITHUB_ACTIONS=true) also prints ::error annotations
    at each spec's budget: line."""
    from costcalc.analysis.budget import CheckRun, QuantityError, check_spec, command_line_limits, spec_files
    from costcalc.report import Format, Options, render
    from costcalc.report.as_ci import github_annotations, junit_xml

    if thresholds and not fail_on:
        raise click.UsageError("--threshold sets the guideline thresholds of --fail-on: give --fail-on too")
    if increases and not baseline:
        raise click.UsageError("--max-increase limits the growth over --baseline: give --baseline too")
    guidelines_failing = _fail_on(fail_on)
    try:
        extra = command_line_limits({"flops": max_flops, "params": max_params, "memory_access": max_memory_access,
                                     "activations": max_activations, "latency_s": max_latency})
    except QuantityError as e:
        raise click.BadParameter(str(e).partition(": ")[2], param_hint=str(e).partition(":")[0]) from None
    overrides, shape, chosen = parse_sets(sets), parse_input(input_shape), parse_thresholds(thresholds)
    if max_latency and not device:
        raise click.UsageError("--max-latency gates on the estimated latency: give the device profile with --device")
    if device is not None:
        from costcalc.latency.profile import load as load_profile

        try:
            load_profile(device)  # a bad profile: exit 2 before any spec is read
        except CostcalcError as e:
            fail(e)
    unit = "bytes" if bytes_per_element else "elements"
    reference = _baseline(baseline, increases, convention, unit)
    changed = settings(sets, input_shape)

    def load(path):
        from costcalc.api import reported, walk

        graph = walk(path, overrides, shape, batch, input_shape)
        warn(graph.warnings)
        return graph.spec, reported(graph, thresholds=chosen, bytes_per_element=bytes_per_element,
                                    convention=convention, device=device, guidelines=bool(guidelines_failing),
                                    settings=changed)

    files = spec_files(paths, exclude)
    if not files:
        click.echo(f"error: no spec file (*.yaml, *.yml) under {', '.join(paths)}", err=True)
        sys.exit(2)
    run = CheckRun(tuple(check_spec(path, extra, load, guidelines_failing, bytes_per_element or 1, reference,
                                    check_published) for path in files), require_budget, convention, unit, changed)
    for item in run.checks:
        if item.error is not None:
            click.echo(str(item.error), err=True)
    click.echo(render(Format(fmt), run, None, Options(exact=exact, width=width())), nl=False)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        click.echo(github_annotations(run), nl=False, err=Format(fmt) in (Format.JSON, Format.CSV))
    if junit_file:
        try:
            with open(junit_file, "w", encoding="utf-8") as f:
                f.write(junit_xml(run))
        except OSError as e:
            click.echo(f"{junit_file}: error: cannot write the JUnit file: {e.strerror or e}", err=True)
            sys.exit(2)
    sys.exit(run.exit_code)


def _fail_on(fail_on) -> tuple:
    if not fail_on:
        return ()
    from costcalc.analysis.guidelines import GuidelineError, parse_ids

    try:
        return parse_ids(fail_on)
    except GuidelineError as e:
        raise click.BadParameter(str(e), param_hint="--fail-on") from None


def _baseline(file, increases: tuple, convention: str, unit: str):
    """The Baseline of --baseline (None without it); a bad --max-increase is a usage error, a bad file exit 2."""
    if not file:
        return None
    from costcalc.analysis.baseline import DEFAULT_INCREASES, BaselineError, parse_increases, read_baseline
    from costcalc.analysis.budget import QuantityError

    try:
        chosen = parse_increases(increases or tuple(f"{k}={v}" for k, v in DEFAULT_INCREASES.items()))
    except QuantityError as e:
        raise click.BadParameter(str(e), param_hint="--max-increase") from None
    try:
        return read_baseline(file, chosen, convention, unit)
    except BaselineError as e:
        click.echo(str(e), err=True)
        sys.exit(2)
