"""The `costcalc` command: the group, and the options the commands share with how they parse.

Each command lives in its own module under costcalc.commands and is imported when it is named (the group below), so
importing this module imports none of them; they import the shared options from here, never the reverse. A command
parses its options, calls a library function (costcalc.api, costcalc.api_measure, ...) and hands the result to a
reporter. Data goes to stdout, diagnostics to stderr; a bad spec is one located error line and exit code 2.
"""

from __future__ import annotations

import os
import sys

import click

from costcalc import __version__
from costcalc.errors import CostcalcError, OptionError
from costcalc.options import overrides, parse_shape

CONVENTIONS_HELP = """
\b
Counting conventions:
  FLOPs        multiply-adds of conv and fc layers and of products of two activations
               (matmul, einsum), bias not counted (the papers' and torchvision's
               convention). Every other op's arithmetic is in its own column,
               element-wise FLOPs (bias add, batchnorm, activations, pooling, add, mul),
               outside the headline number.
  Params       every learnable parameter: weights, biases, batchnorm scale and shift
               (running statistics are buffers, not parameters).
  MAC          memory access cost of ShuffleNet V2 (not multiply-accumulates): elements
               read and written, each input and parameter read once, each output written
               once; a 1x1 conv costs hw(c1+c2) + c1*c2/g. The batch multiplies
               activations, never parameters. JSON key: memory_access.
  --convention full | 2xmac | fvcore | ptflops | thop | yolo | deepspeed | calflops
               makes the FLOPs column count all element-wise ops too, twice the multiply-
               adds, or what fvcore 0.1.5, ptflops 0.7.5, thop 0.1.1, ultralytics (thop x 2),
               DeepSpeed 0.19.8's flops profiler or calflops 0.3.2 print (the last two count
               a multiply-add as 2); --explain-conventions shows each one's rules, op by op.
"""

CONVENTION_NAMES = ("paper", "full", "2xmac", "fvcore", "ptflops", "thop", "yolo", "deepspeed",
                    "calflops")  # costcalc.analysis.conventions.CONVENTIONS


# ---- the shared options ----------------------------------------------------------------------------------------

def spec_options(command):
    """--set, --input and --batch: the options that change what a spec describes."""
    command = click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
                           help="Batch size N: multiplies activations, FLOPs and memory access, not params.")(command)
    command = click.option("--input", "input_shape", metavar="CxHxW",
                           help="Override the spec's input, e.g. 3x160x160.")(command)
    command = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                           help="Override a spec variable (repeatable), e.g. --set width=0.5.")(command)
    return command


def threshold_option(command):
    return click.option("--threshold", "thresholds", multiple=True, metavar="G.NAME=VALUE",
                        help="Override a guideline threshold (repeatable), e.g. --threshold G1.max_ratio=3; "
                             "the names and defaults are in docs/guidelines.md.")(command)


def device_option(command):
    """--device PROFILE: a device profile (costcalc.latency.profile) that adds estimated latency."""
    return click.option("--device", "device", metavar="PROFILE.yaml", type=click.Path(dir_okay=False),
                        help="A device profile (from `costcalc calibrate`): adds the estimated latency of every row "
                             "and of the batch.")(command)


# ---- how they parse ----------------------------------------------------------------------------------------------

def parse_sets(values: tuple) -> dict:
    """--set NAME=VALUE ... as {name: expression text}; a malformed one is a usage error."""
    try:
        return overrides(values)
    except OptionError as e:
        raise click.BadParameter(str(e), param_hint="--set") from None


def parse_input(value: str | None):
    """--input CxHxW as a tuple (None without it); a malformed one is a usage error."""
    try:
        return parse_shape(value)
    except OptionError as e:
        raise click.BadParameter(str(e), param_hint="--input") from None


def parse_thresholds(values: tuple) -> dict:
    """--threshold G.NAME=VALUE ... as {"G.NAME": "VALUE"}; a malformed one is a usage error."""
    items = {}
    for item in values:
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise click.BadParameter(f"'{item}': write GUIDELINE.NAME=VALUE, e.g. --threshold G1.max_ratio=3",
                                     param_hint="--threshold")
        items[name.strip()] = value.strip()
    return items


def parse_depth(depth: str):
    """--depth N|all as an int (None for all)."""
    if depth != "all" and not (depth.isdigit() and int(depth) >= 1):
        raise click.BadParameter(f"'{depth}': a depth is a whole number from 1, or 'all'", param_hint="--depth")
    return None if depth == "all" else int(depth)


def settings(sets: tuple, input_shape: str | None) -> tuple:
    """What the options changed, as the headers name it: ('--set width=0.5', '--input 3x160x160')."""
    return (tuple(f"--set {name}={value}" for name, value in parse_sets(sets).items())
            + ((f"--input {input_shape}",) if input_shape else ()))


# ---- the output ------------------------------------------------------------------------------------------------

def fail(error: CostcalcError):
    """The library's error as its one located line on stderr, exit code 2."""
    click.echo(str(error), err=True)
    sys.exit(2)


def warn(warnings) -> None:
    """Warnings (legal but most likely not meant), each its located line on stderr."""
    for warning in warnings:
        click.echo(str(warning), err=True)


def color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def width() -> int | None:
    """COLUMNS when set (as `COLUMNS=80 costcalc report ...`), else the terminal's width on a terminal (colour or
    not); None when piped (the reporters' fixed width)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return os.get_terminal_size().columns if sys.stdout.isatty() else None


def output_options(exact: bool):
    """The reporters' Options: --exact, and the colour and width of where stdout goes."""
    from costcalc.report import Options

    return Options(exact=exact, color=color(), width=width())


def write_output(text: str, output: str | None) -> None:
    """`text` to stdout (`output` None) or to the file `output`; one located line and exit 2 when it cannot be
    written."""
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        click.echo(f"{output}: error: cannot write: {e.strerror or e}", err=True)
        sys.exit(2)


# ---- the group ---------------------------------------------------------------------------------------------------

class _Commands(click.Group):
    """The group. Its commands live in their own modules (costcalc.commands), imported when named."""

    MODULES = {"report": "report", "verify": "verify", "guidelines": "guidelines", "import": "import_model",
               "check": "check", "compare": "compare", "export": "export", "measure": "measure", "zoo": "zoo",
               "schema": "schema", "sweep": "sweep", "plot": "plot", "calibrate": "calibrate", "view": "view"}

    def list_commands(self, ctx) -> list:
        return sorted({*self.commands, *self.MODULES})

    def get_command(self, ctx, name):
        if name not in self.commands and name in self.MODULES:
            import importlib

            module = importlib.import_module(f"costcalc.commands.{self.MODULES[name]}")
            self.add_command(module.command, name)
        return super().get_command(ctx, name)

    @property
    def every_command(self) -> dict:
        """name -> command, all of them imported (for documentation checks)."""
        for name in self.MODULES:
            self.get_command(None, name)
        return dict(self.commands)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="costcalc")
def main():
    """Analytic cost of CNN architectures: FLOPs, parameters and memory access, from YAML layer specs, zoo names
    (costcalc zoo) or ONNX model files (model.onnx, with the [onnx] extra)."""


class library_errors:
    """`with library_errors():` around a command's library call: a CostcalcError is its one located line and exit
    code 2 (`fail`); a bad guideline threshold is the --threshold option's usage error."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is None or not isinstance(error, CostcalcError):
            return False
        from costcalc.analysis.thresholds import GuidelineError

        if isinstance(error, GuidelineError):
            raise click.BadParameter(str(error), param_hint="--threshold") from None
        fail(error)
