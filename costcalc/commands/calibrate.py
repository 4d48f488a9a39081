"""`costcalc calibrate -o profile.yaml`: fit a device profile for the latency estimate on this machine."""

from __future__ import annotations

import sys

import click

from costcalc.errors import CostcalcError


@click.command("calibrate")
@click.option("-o", "--output", metavar="PROFILE.yaml", type=click.Path(dir_okay=False),
              help="Write the device profile to this file (with --check --refit-scale: the rescaled profile; "
                   "default: over PROFILE).")
@click.option("--check", "check_path", metavar="PROFILE.yaml", type=click.Path(dir_okay=False),
              help="Do not fit: measure a few reference networks now (under 30 s) and say whether this profile "
                   "still holds on this machine, and by how much it is off (exit 1 when it does not).")
@click.option("--refit-scale", is_flag=True,
              help="With --check: rescale the profile so that its estimates match the networks just measured, and "
                   "write it (-o, or over PROFILE).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="onnxruntime's intra-op threads: a profile is for one thread count.")
@click.option("--budget", "budget_s", type=click.FloatRange(min=5), default=240.0, show_default=True,
              metavar="SECONDS", help="Seconds of measuring: onnxruntime's runs of the networks (generating them "
                                      "before and fitting after take some more; the first pass measures at least "
                                      "20 networks whatever the budget).")
@click.option("--passes", type=click.IntRange(min=1, max=20), default=5, show_default=True,
              help="Measure each network this many times over the budget, keeping its fastest (more passes: "
                   "steadier figures on a machine whose speed comes and goes with other work).")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Measure the calibration networks at this batch: the profile covers that batch (the estimate of "
                   "a network at another batch says it is not covered).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random calibration networks.")
@click.option("--clock", type=click.Choice(["wall", "cpu"]), default="wall", show_default=True,
              help="Time each run by the wall clock, or (1 thread, on a machine shared with other work) by the "
                   "calling thread's CPU time, which other processes do not inflate.")
def command(output, check_path, refit_scale, threads, budget_s, passes, batch, seed, clock):
    """Measure synthetic calibration networks (never the zoo's) on this machine with onnxruntime, fit the latency
    model's device profile (per op class throughput, bandwidth and per-kernel overhead; least squares on relative
    error), write it to PROFILE.yaml and print how well it fits. Then `costcalc report SPEC --device PROFILE.yaml`
    adds estimated latency. Needs the [runtime] extra (onnxruntime).

    \b
    --check PROFILE.yaml measures the calibration's reference networks now
    and compares them with the profile's estimates (docs/latency.md: "When a
    profile drifts"); --refit-scale then writes the rescaled profile."""
    if check_path is not None:
        _check(check_path, output, refit_scale)
        return
    if refit_scale:
        raise click.UsageError("--refit-scale rescales the profile of --check: give --check PROFILE.yaml")
    if output is None:
        raise click.UsageError("give -o PROFILE.yaml, the file to write the fitted profile to (or --check PROFILE.yaml)")
    from costcalc.latency.calibration import calibrate as run
    from costcalc.latency.calibration import default_measure, device_name
    from costcalc.latency.profile import save
    from costcalc.report.as_calibration import render

    if clock == "cpu" and threads != 1:
        raise click.BadParameter("a thread's CPU time is a run's time only at --threads 1", param_hint="--clock")
    measure = default_measure(clock)
    progress = _Bar() if sys.stderr.isatty() else None
    try:
        result = run(threads, budget_s, seed, measure.seconds, progress=progress.update if progress else None,
                     passes=passes, batch=batch)
    except CostcalcError as e:
        click.echo(str(e), err=True)
        sys.exit(2)
    finally:
        if progress is not None:
            progress.stop()
    from dataclasses import replace

    from costcalc.latency.provenance import fitted_record

    profile = replace(result.profile, device=device_name(), runtime=measure.runtime,
                      calibration={**result.profile.calibration, "clock": clock,
                                   "fitted_on": fitted_record(measure.runtime, threads, clock)})
    try:
        save(profile, output)
    except OSError as e:
        click.echo(f"{output}: error: cannot write: {e.strerror or e}", err=True)
        sys.exit(2)
    click.echo(render(replace(result, profile=profile), output), nl=False)


def _check(path: str, output: str | None, refit_scale: bool) -> None:
    """--check: the profile against the reference networks measured now; exit 1 when it does not hold and is not
    rescaled."""
    from costcalc.latency.calibration import default_measure
    from costcalc.latency.drift import check, reestimate, rescaled, with_context
    from costcalc.latency.profile import load, save
    from costcalc.report.as_calibration import render_check

    if output is not None and not refit_scale:
        raise click.UsageError("-o writes the rescaled profile of --refit-scale: give --refit-scale too")
    try:
        profile = load(path)
        clock = profile.calibration.get("clock", "wall")
        clock = clock if clock in ("wall", "cpu") and profile.threads == 1 else "wall"
        measure = default_measure(clock)
        result = with_context(check(profile, measure.seconds), profile, measure.runtime, clock)
    except CostcalcError as e:
        click.echo(str(e), err=True)
        sys.exit(2)
    written, after = "", None
    if refit_scale:
        new = rescaled(profile, result.factor, result)
        written = output or path
        after = reestimate(result, new)
        try:
            save(new, written)
        except OSError as e:
            click.echo(f"{written}: error: cannot write: {e.strerror or e}", err=True)
            sys.exit(2)
    click.echo(render_check(result, path, profile, written, after), nl=False)
    sys.exit(0 if result.holds or refit_scale else 1)


class _Bar:
    def __init__(self):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("calibrating"), BarColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.description}"), console=Console(stderr=True), transient=True)
        self.progress.start()
        self.task = self.progress.add_task("", total=None)

    def update(self, done: int, total: int, name: str):
        self.progress.update(self.task, completed=done, total=total or None, description=name)

    def stop(self):
        self.progress.stop()
