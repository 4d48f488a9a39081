"""The `costcalc` command: thin click commands that parse options, call the library, and hand results to a
reporter. Data goes to stdout, diagnostics to stderr; a bad spec is one located error line and exit code 2."""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import click

from costcalc import __version__
from costcalc.commands.device import device_option, load_device
from costcalc.errors import CostcalcError, OptionError
from costcalc.options import overrides, parse_shape
from costcalc.report import FORMATS

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


MAX_TABLE_ROWS = 100_000  # a table renders ~50,000 rows a second; past this, --format json or csv


def _fail(error: CostcalcError):
    click.echo(str(error), err=True)
    sys.exit(2)


def _parse_sets(values: tuple) -> dict:
    try:
        return overrides(values)
    except OptionError as e:
        raise click.BadParameter(str(e), param_hint="--set") from None


def settings(sets: tuple, input_shape: str | None) -> tuple:
    """What the options changed, as the headers name it: ('--set width=0.5', '--input 3x160x160')."""
    return (tuple(f"--set {name}={value}" for name, value in _parse_sets(sets).items())
            + ((f"--input {input_shape}",) if input_shape else ()))


def _parse_input(value: str | None):
    try:
        return parse_shape(value)
    except OptionError as e:
        raise click.BadParameter(str(e), param_hint="--input") from None


def spec_options(command):
    """--set, --input and --batch: the options that change what a spec describes."""
    command = click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
                           help="Batch size N: multiplies activations, FLOPs and memory access, not params.")(command)
    command = click.option("--input", "input_shape", metavar="CxHxW",
                           help="Override the spec's input, e.g. 3x160x160.")(command)
    command = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                           help="Override a spec variable (repeatable), e.g. --set width=0.5.")(command)
    return command


def load_graph(path: str, sets: tuple, input_shape: str | None, batch: int):
    """The walked graph of the spec (or model file) at `path` (a file, '-' for stdin, or a zoo name such as
    `resnet50`), from the --set, --input and --batch options (costcalc.api.walk); its warnings on stderr."""
    from costcalc.api import walk

    graph = walk(path, _parse_sets(sets), _parse_input(input_shape), batch, input_shape)
    for warning in graph.warnings:  # legal but most likely not meant: located, on stderr
        click.echo(str(warning), err=True)
    return graph


def _parse_thresholds(values: tuple) -> dict:
    items = {}
    for item in values:
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise click.BadParameter(f"'{item}': write GUIDELINE.NAME=VALUE, e.g. --threshold G1.max_ratio=3",
                                     param_hint="--threshold")
        items[name.strip()] = value.strip()
    return items


def threshold_option(command):
    return click.option("--threshold", "thresholds", multiple=True, metavar="G.NAME=VALUE",
                        help="Override a guideline threshold (repeatable), e.g. --threshold G1.max_ratio=3; "
                             "the names and defaults are in docs/guidelines.md.")(command)


def analyse_checked(graph, thresholds: tuple, bytes_per_element=None, convention: str = "paper", device=None):
    """The Report of `graph` from the --threshold, --bytes, --convention and --device options (costcalc.api.checked:
    its guideline checks, and with a device profile its estimated latency)."""
    from costcalc.analysis.guidelines import GuidelineError
    from costcalc.api import checked

    try:
        return checked(graph, _parse_thresholds(thresholds), bytes_per_element, convention, device)
    except GuidelineError as e:
        raise click.BadParameter(str(e), param_hint="--threshold") from None


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _width() -> int | None:
    """COLUMNS when set (as `COLUMNS=80 costcalc report ...`), else the terminal's width on a terminal (colour or
    not); None when piped (the reporters' fixed width)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return os.get_terminal_size().columns if sys.stdout.isatty() else None


def _options(exact: bool):
    from costcalc.report import Options

    return Options(exact=exact, color=_color(), width=_width())


class _Commands(click.Group):
    """The group. The commands that live in their own modules (costcalc.commands) are imported when named, so that
    importing this module imports none of them: they import its shared options, never the reverse."""

    MODULES = {"check": "check", "compare": "compare", "export": "export", "measure": "measure", "zoo": "zoo",
               "schema": "schema", "sweep": "sweep", "plot": "plot", "calibrate": "calibrate", "view": "view"}

    def list_commands(self, ctx) -> list:
        return sorted({*self.commands, *self.MODULES})

    def get_command(self, ctx, name):
        if name not in self.commands and name in self.MODULES:
            import importlib

            module = importlib.import_module(f"costcalc.commands.{self.MODULES[name]}")
            self.add_command(getattr(module, name), name)
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


CONVENTION_NAMES = ("paper", "full", "2xmac", "fvcore", "ptflops", "thop", "yolo", "deepspeed",
                    "calflops")  # costcalc.analysis.conventions.CONVENTIONS


@main.command(epilog=CONVENTIONS_HELP)
@click.argument("spec", required=False)
@spec_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="json lists every layer whatever --depth is.")
@click.option("--depth", metavar="N|all",
              help="Sum layers into their block at this depth of the name (1: stages); 'all': every layer. "
                   "Default: 2 for table and markdown, all for csv.")
@click.option("--top", type=click.IntRange(min=1), help="Show only the K most expensive rows.")
@click.option("--sort", type=click.Choice(["flops", "elementwise_flops", "params", "memory_access", "activations"]),
              default="flops", show_default=True, help="What --top ranks by.")
@click.option("--exact", is_flag=True, help="Whole integers instead of K/M/G.")
@click.option("--bytes", "bytes_per_element", type=click.IntRange(min=1), metavar="N",
              help="Memory access in bytes, N bytes per element (default: elements).")
@click.option("--convention", type=click.Choice(CONVENTION_NAMES), default="paper", show_default=True,
              help="What the FLOPs column counts: paper (conv + fc + matmul multiply-adds), full (plus every "
                   "element-wise op), 2xmac (twice paper), or the count of fvcore 0.1.5, ptflops 0.7.5, thop 0.1.1, "
                   "yolo (thop x 2, as ultralytics prints), deepspeed (0.19.8's profiler) or calflops 0.3.2.")
@click.option("--explain-conventions", is_flag=True,
              help="Print, per op, what each convention counts (and, with SPEC, its FLOPs per op type), then exit.")
@click.option("--guidelines/--no-guidelines", "with_guidelines", default=True, show_default=True,
              help="Check the ShuffleNet V2 guidelines: a marker column and the panel after the table.")
@threshold_option
@device_option
def report(spec, sets, input_shape, batch, fmt, depth, top, sort, exact, bytes_per_element, convention,
           explain_conventions, with_guidelines, thresholds, device):
    """Per-layer FLOPs, params and memory access of SPEC, with totals, then the ShuffleNet V2 guideline panel."""
    from costcalc.analysis import analyse, rows
    from costcalc.report import Format, render

    if explain_conventions:
        _explain_conventions(spec, sets, input_shape, batch, exact, fmt)
        return
    if spec is None:
        raise click.UsageError("Missing argument 'SPEC'.")
    level = _depth(depth if depth is not None else ("all" if fmt == "csv" else "2"))
    if thresholds and not with_guidelines:
        raise click.UsageError("--threshold sets the guidelines' thresholds: drop --no-guidelines or --threshold")
    try:
        graph = load_graph(spec, sets, input_shape, batch)
        result = (analyse_checked(graph, thresholds, bytes_per_element, convention, device) if with_guidelines
                  else analyse(graph, bytes_per_element, convention, load_device(device), device or ""))
    except CostcalcError as e:
        _fail(e)
    changed = settings(sets, input_shape)
    result = replace(result, settings=changed)
    result = replace(result, published=_published(graph, result, batch, bytes_per_element))
    selected = rows(result, level, top, sort) if fmt != "json" else []  # the JSON lists every layer
    if fmt == "table" and len(selected) > MAX_TABLE_ROWS:
        click.echo(f"note: the table shows the first {MAX_TABLE_ROWS:,} of {len(selected):,} rows (totals cover "
                   "all); use --depth, --top or --format json", err=True)
        selected = type(selected)(selected[:MAX_TABLE_ROWS], selected.of, selected.sort)
    click.echo(render(Format(fmt), result, selected, _options(exact)), nl=False)


def _published(graph, result, batch: int, bytes_per_element):
    from costcalc.analysis.published import published_for

    try:
        return published_for(graph.spec, result, batch, bytes_per_element)
    except CostcalcError as e:
        _fail(e)


def _depth(depth: str):
    if depth != "all" and not (depth.isdigit() and int(depth) >= 1):
        raise click.BadParameter(f"'{depth}': a depth is a whole number from 1, or 'all'", param_hint="--depth")
    return None if depth == "all" else int(depth)


def _explain_conventions(spec, sets, input_shape, batch, exact, fmt):
    from costcalc.analysis.conventions import explain
    from costcalc.report.as_conventions import render, render_json

    try:
        graph = load_graph(spec, sets, input_shape, batch) if spec else None
        explanation = explain(graph)
    except CostcalcError as e:
        _fail(e)
    model = graph.name if graph else None
    text = render_json(explanation, model) if fmt == "json" else render(explanation, model, exact)
    click.echo(text, nl=False)


@main.command()
@click.argument("spec")
@spec_options
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random input and weights.")
@click.option("--exact", is_flag=True, help="Whole integers instead of K/M/G.")
@click.option("--failures", "failures_only", is_flag=True, help="List only the layers that disagree.")
@click.option("--against", type=click.Choice(["analytic", "onnxruntime"]), default="analytic", show_default=True,
              help="onnxruntime: run the reference and onnxruntime on the same exported network (same weights, "
                   "same input) and compare their outputs (needs the [runtime] extra).")
def verify(spec, sets, input_shape, batch, seed, exact, failures_only, against):
    """Run SPEC through a numpy reference forward pass with random weights, and check each layer's output shape,
    FLOPs, memory access and params against the analytic figures. Exit 0 when all agree, 1 on any mismatch,
    2 on a bad spec. Use --input 3x64x64 for a quick run at reduced resolution."""
    from costcalc.analysis.verify import verify as run_verify
    from costcalc.report.as_verify import render

    try:
        graph = load_graph(spec, sets, input_shape, batch)
        if against == "onnxruntime":
            from costcalc.commands.verify_runtime import against_onnxruntime

            sys.exit(against_onnxruntime(graph, seed))
    except CostcalcError as e:
        _fail(e)
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.description}"))
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("", total=len(graph.nodes))
            result = run_verify(graph, seed, lambda done, name: bar.update(task, completed=done, description=name))
    else:
        result = run_verify(graph, seed)
    click.echo(render(result, exact, failures_only, _color(), _width()), nl=False)
    sys.exit(0 if result.passed else 1)


GUIDELINES_HELP = """
\b
The guidelines (ShuffleNet V2, Ma et al. 2018) and their thresholds (defaults):
  G1 equal channel width minimises MAC: every 1x1 conv of stride 1 and no padding
     and every fc over tokens (a packed q/k/v projection by its parts); flagged
     when c1:c2 is beyond 1:max_ratio (2) or its MAC is more than max_excess (0.1)
     over the bound 2*sqrt(hw*B*g) + B/hw.
  G2 excessive group convolution increases MAC: every grouped, non-depthwise conv;
     flagged when g > max_groups (2) or its MAC is more than max_excess (0.5) over
     the same-FLOPs conv with g = 1.
  G3 network fragmentation reduces parallelism: every fork-join block; flagged
     with more than max_branches (2) parallel branches (paths meeting in a matmul,
     as q, k and v, are one) or max_fragments (5) conv, fc, pooling or matmul ops.
  G4 element-wise operations are non-negligible: activations, add, mul, scale,
     batchnorm, layernorm, softmax, transposes that copy and depthwise convs;
     flagged when their share of all MAC is more than max_share (0.5).
Set them with --threshold G1.max_ratio=3 or a spec section guidelines: {G1: {max_ratio: 3}}.
"""


@main.command(epilog=GUIDELINES_HELP)
@click.argument("spec")
@spec_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--exact", is_flag=True, help="Whole integers instead of K/M/G.")
@click.option("--bytes", "bytes_per_element", type=click.IntRange(min=1), metavar="N",
              help="Memory access in bytes, N bytes per element (default: elements).")
@threshold_option
@device_option
def guidelines(spec, sets, input_shape, batch, fmt, exact, bytes_per_element, thresholds, device):
    """Where SPEC breaks the four ShuffleNet V2 guidelines, by how much, and what it costs in memory access (and,
    with --device, in estimated time)."""
    from costcalc.report import Format, render_guidelines

    try:
        result = analyse_checked(load_graph(spec, sets, input_shape, batch), thresholds, bytes_per_element,
                                 device=device)
    except CostcalcError as e:
        _fail(e)
    result = replace(result, settings=settings(sets, input_shape))
    click.echo(render_guidelines(Format(fmt), result, _options(exact)), nl=False)


@main.command("import")
@click.argument("model")
@click.option("-o", "--output", metavar="FILE", help="Write the spec to FILE (default: stdout).")
@click.option("--input", "input_shape", metavar="CxHxW",
              help="Import at this input size (needed when the model's input size is not fixed).")
def import_model(model, output, input_shape):
    """Write the model file MODEL (ONNX: .onnx) as a readable costcalc spec with the same counts."""
    from costcalc.importers import IMPORTERS, importer_for

    module = importer_for(model)
    if module is None:
        raise click.BadParameter(f"'{model}': costcalc imports {', '.join(IMPORTERS)} files", param_hint="MODEL")
    try:
        text = module.to_yaml(model, _parse_input(input_shape))
    except CostcalcError as e:
        _fail(e)
    write_output(text, output)


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
