"""The Python API: what `costcalc report` and `costcalc compare` compute, as frozen records.

    report = costcalc.analyze("specs/mobilenet_v2.yaml", set={"width": 0.5}, input="3x160x160")
    report.totals.flops, report.rows(depth=1), report.guidelines, report.to_json()

A spec is a path (a YAML spec, or a model file such as .onnx), YAML text (any string holding a newline), or a
dict of the same shape as the YAML. `load(spec)` reads it once, to evaluate it many times (`Model.analyze`,
`Model.totals`). Every error is a costcalc exception: a bad spec a SpecError (or SpecErrors) whose str() is the
located message the command line prints, a bad argument an OptionError.
"""

from __future__ import annotations

import os
from dataclasses import fields, replace

from costcalc.analysis.compare import Comparison as _Comparison
from costcalc.analysis.report import Report as _Report
from costcalc.analysis.report import rows as _rows
from costcalc.errors import Loc, OptionError, SpecError
from costcalc.options import format_shape, overrides, parse_shape

CONVENTIONS = ("paper", "full", "fvcore", "ptflops", "thop")  # costcalc.analysis.conventions.CONVENTIONS


class Report(_Report):
    """One evaluation of a spec: `model`, `input` (N, C, H, W), `variables`, `totals` (a Counts of Python ints),
    `layers` (a tuple of Layer, topological order), `guidelines` (the ShuffleNet V2 checks) and the rest of
    costcalc.analysis.Report; frozen."""

    def rows(self, depth: int | None = None, top: int | None = None, sort: str = "flops") -> list:
        """The table's rows: layers summed into their block at `depth` (1: stages; None: every layer), then with
        `top`, the `top` largest by `sort` (flops, elementwise_flops, params, memory_access, activations)."""
        if depth is not None and (not isinstance(depth, int) or depth < 1):
            raise OptionError(f"depth {depth!r}: a whole number from 1, or None for every layer")
        try:
            return _rows(self, depth, top, sort)
        except ValueError as e:
            raise OptionError(str(e)) from None

    def to_json(self) -> str:
        """The text `costcalc report --format json` prints for the same spec and settings."""
        from costcalc.report.as_json import render

        return render(self)

    def to_dict(self) -> dict:
        """The JSON report as Python data (every count an int)."""
        import json

        return json.loads(self.to_json())

    def render(self, format: str = "table", depth: int | None = 2, exact: bool = False) -> str:
        """The text `costcalc report --format FORMAT --depth DEPTH` prints (table, json, csv or markdown)."""
        from costcalc.report import FORMATS, Format, Options, render

        if format not in FORMATS:
            raise OptionError(f"format {format!r}: one of {', '.join(FORMATS)}")
        return render(Format(format), self, self.rows(depth), Options(exact=exact))


class Comparison(_Comparison):
    """Two reports side by side (`a`, `b`, `delta` = B - A, `relative()`, `rows` of RowDiff); frozen."""

    def to_json(self) -> str:
        """The text `costcalc compare --format json` prints."""
        from costcalc.report import Format, Options, reporter

        return reporter(Format.JSON).compare(self, Options())


def _public(cls, record):
    return cls(**{f.name: getattr(record, f.name) for f in fields(record)})


def checked(graph, thresholds: dict | None = None, bytes_per_element: int | None = None,
            convention: str = "paper", device=None) -> Report:
    """The Report of a walked `graph` with its guideline checks: the thresholds of the spec's `guidelines:`
    section over the defaults, then `thresholds` ({"G1.max_ratio": 3, ...}) over both; with `device` (a device
    profile's path or a DeviceProfile), the estimated latency and what each guideline violation costs in it."""
    from costcalc.analysis import analyse
    from costcalc.analysis.guidelines import apply_overrides, check, thresholds_from_spec

    profile, profile_path = device_profile(device)
    chosen = thresholds_from_spec(graph.spec.guidelines if graph.spec is not None else None)
    chosen = apply_overrides(chosen, {k: str(v) for k, v in (thresholds or {}).items()})
    report = analyse(graph, bytes_per_element, convention)
    report = replace(report, layers=tuple(report.layers), guidelines=check(graph, chosen, bytes_per_element))
    report = _public(Report, report)
    if profile is not None:
        from costcalc.analysis.time_costs import with_estimate

        report = with_estimate(report, graph, profile, profile_path, bytes_per_element)
    return report


def walk(spec: str, overrides: dict | None = None, shape: tuple | None = None, batch: int = 1,
         input_text: str | None = None):
    """The walked Graph of the spec or model file at `spec` (a path, '-' for standard input, or a zoo name such as
    `resnet50`) under `overrides` ({name: expression text}, as --set gives them) and `shape` (C, H, W). Any failure
    is a CostcalcError; one that `overrides` or `shape` caused says which (' (from --set width=0.3)'), as the
    commands print it. Warnings (legal but most likely not meant) are on the graph's `warnings`."""
    from costcalc.graph import load as load_graph
    from costcalc.zoo import resolve

    spec = resolve(spec)
    overrides = overrides or {}
    try:
        return load_graph(spec, overrides, shape, batch)
    except (RecursionError, MemoryError) as e:  # a last guard: the limits should stop any spec before these
        raise SpecError(f"the spec is too large or too deeply nested to process ({type(e).__name__})", Loc(spec))
    except SpecError as e:
        if (overrides or shape) and spec != "-":
            from costcalc.overrides import blame

            text = input_text or ("x".join(map(str, shape)) if shape else None)
            raise blame(e, lambda o, s: load_graph(spec, o, s, batch), overrides, shape, text) from None
        raise


def report_of(spec: str, overrides: dict | None = None, shape: tuple | None = None, batch: int = 1, *,
              input_text: str | None = None, **options) -> Report:
    """What `costcalc report` shows of the spec or model file at `spec`: the graph `walk` reads (its failures
    blamed on the options that caused them), made a Report by `reported(graph, **options)`, with the settings
    the options changed as the headers name them ('--set width=0.5', '--input 3x160x160')."""
    graph = walk(spec, overrides, shape, batch, input_text)
    changed = (tuple(f"--set {name}={value}" for name, value in (overrides or {}).items())
               + ((f"--input {input_text or format_shape(shape)}",) if shape else ()))
    return reported(graph, settings=changed, **options)


def reported(graph, *, thresholds: dict | None = None, bytes_per_element: int | None = None,
             convention: str = "paper", device=None, guidelines: bool = True, settings: tuple = ()) -> Report:
    """The Report of a walked `graph` as `costcalc report` shows it: its guideline checks (`thresholds` over the
    spec's; none with `guidelines` False), the estimate on `device`, the `settings` the graph was walked at, the
    published figures it cites, and the graph's warnings (legal but most likely not meant) on `warnings`."""
    from costcalc.analysis import analyse
    from costcalc.analysis.published import published_for

    if guidelines:
        report = checked(graph, thresholds, bytes_per_element, convention, device)
    else:
        profile, profile_path = device_profile(device)
        report = _public(Report, analyse(graph, bytes_per_element, convention, profile, profile_path))
    report = replace(report, settings=settings, warnings=tuple(graph.warnings))
    return replace(report, published=published_for(graph.spec, report, graph.batch, bytes_per_element))


def zoo_reports(paths: list | None = None) -> list:
    """(name, Report, Published or None) per shipped spec (`paths`: some of them), as `costcalc zoo` lists them;
    a spec that fails to load is a CostcalcError."""
    from costcalc.analysis import analyse
    from costcalc.analysis.published import published_of
    from costcalc.zoo import zoo_dir, zoo_specs

    root = zoo_dir()
    rows = []
    for path in paths if paths is not None else zoo_specs():
        graph = walk(str(path))
        report = analyse(graph)
        name = path.relative_to(root).with_suffix("").as_posix()
        rows.append((name, report, published_of(graph.spec, report.totals)))
    return rows


class Model:
    """A spec read (and statically checked) once, to be evaluated at many settings."""

    def __init__(self, name: str, spec=None, importer=None):
        self.path = name
        self._spec = spec  # a YAML spec's Spec; None for a model file, imported per input shape
        self._importer = importer
        self._imported: dict = {}
        self._cache = None  # costcalc.analysis.totals.Cache, made on the first totals()

    def __repr__(self) -> str:
        return f"costcalc.Model({self.path!r})"

    def __getstate__(self) -> dict:
        """Pickled (to a sweep's worker, a Dask cluster) without its remembered walks and parts: each process
        makes its own, and a worker may be sending it while another thread adds to them."""
        return {**self.__dict__, "_cache": None}

    @property
    def name(self) -> str:
        return self.spec().name

    @property
    def variables(self) -> dict:
        """The spec's variables and their values as written (numbers, lists or expression text)."""
        return {name: value.raw for name, value in self.spec().vars.items()}

    def spec(self, input_shape: tuple | None = None):
        """The parsed Spec (of a model file: imported at `input_shape`, once per shape)."""
        if self._importer is None:
            return self._spec
        if input_shape not in self._imported:
            self._imported[input_shape] = self._importer.read_spec(self.path, input_shape)
        return self._imported[input_shape]

    def graph(self, set=None, input=None, batch: int = 1):
        """The walked Graph at these settings (`set`: {name: value} or ["name=value", ...])."""
        from costcalc.graph import build

        shape = parse_shape(input)
        _check_batch(batch)
        try:
            return build(self.spec(shape), overrides(set), shape, batch, checked=self._importer is None)
        except (RecursionError, MemoryError) as e:  # a last guard, as on the command line
            raise SpecError(f"the spec is too large or too deeply nested to process ({type(e).__name__})",
                            Loc(self.path)) from None

    def analyze(self, *, set=None, input=None, batch: int = 1, convention: str = "paper", device=None,
                bytes_per_element: int | None = None, thresholds: dict | None = None) -> Report:
        """The report of the spec at these settings; see `costcalc.analyze`."""
        if convention not in CONVENTIONS:
            raise OptionError(f"convention {convention!r}: one of {', '.join(CONVENTIONS)}")
        if bytes_per_element is not None and (not isinstance(bytes_per_element, int) or bytes_per_element < 1):
            raise OptionError(f"bytes_per_element {bytes_per_element!r}: a whole number from 1")
        from costcalc.analysis.published import published_for

        graph = self.graph(set, input, batch)
        report = replace(checked(graph, thresholds, bytes_per_element, convention, device),
                         settings=_settings(set, input))
        return replace(report, published=published_for(graph.spec, report, batch, bytes_per_element))

    def totals(self, *, set=None, input=None, batch: int = 1, more: bool = False):
        """Only the totals (a Counts) at these settings, fast: blocks and layers met at earlier settings are taken
        whole (costcalc.analysis.parts), and a walk made before under the same variables is replayed on a new
        input shape when that is exact (costcalc.analysis.totals); `more`: more settings of the same variables
        follow (other inputs). The same numbers as `analyze(...).totals` under the paper convention."""
        from costcalc.analysis.totals import Cache, totals

        shape = parse_shape(input)
        _check_batch(batch)
        if self._cache is None:
            self._cache = Cache()
        return totals(self.spec(shape), overrides(set), shape, batch, self._cache, checked=self._importer is None,
                      more=more)

    def timed(self, profile, *, set=None, input=None, batch: int = 1) -> tuple:
        """(totals, estimated seconds on `profile`, a DeviceProfile) at these settings, fast: both assembled from
        parts met at earlier settings (costcalc.analysis.parts_latency); the same figures as `analyze(...,
        device=...)` gives (the seconds to the last bits of a float)."""
        from costcalc.analysis.totals import Cache, timed

        shape = parse_shape(input)
        _check_batch(batch)
        if self._cache is None:
            self._cache = Cache()
        return timed(self.spec(shape), overrides(set), shape, batch, self._cache, profile,
                     checked=self._importer is None)

    def evaluate_many(self, settings, *, batch: int = 1, device=None):
        """Evaluate each setting of `settings` (an iterable of {name: value}, "input" among the names for the
        input shape) as it comes, and yield its result as soon as it is made: a SweepRow with `index`, `values`
        (the setting's items), `totals` (a Counts), `latency_s` (with `device`, a profile's path or a
        DeviceProfile) and `error` (the located message of a setting that cannot be evaluated; then totals is
        None). Blocks and layers met at earlier settings are taken whole, so a search's candidates cost what
        changed. The iterable may be a generator fed by the search itself."""
        from costcalc.analysis.sweep import evaluate_settings

        _check_batch(batch)
        profile, _ = device_profile(device)
        return evaluate_settings(self, settings, batch, profile)


def _settings(set, input) -> tuple:
    """What the arguments changed, as `costcalc report` records its options: ('--set width=0.5', '--input ...')."""
    shape = parse_shape(input)
    return (tuple(f"--set {name}={value}" for name, value in overrides(set).items())
            + ((f"--input {format_shape(shape)}",) if shape else ()))


def _check_batch(batch) -> None:
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise OptionError(f"batch {batch!r}: a whole number from 1")


def device_profile(device) -> tuple:
    """(DeviceProfile or None, the file it came from): `device` is a profile's path or a DeviceProfile (from
    costcalc.latency.load); a bad file raises its located ProfileError."""
    if device is None:
        return None, ""
    from costcalc.latency import DeviceProfile, load

    if isinstance(device, DeviceProfile):
        return device, "<profile>"
    if isinstance(device, os.PathLike):
        device = os.fspath(device)
    if not isinstance(device, str):
        raise OptionError(f"device: a device profile's path or a DeviceProfile, not {type(device).__name__}")
    return load(device), device


def load(spec) -> Model:
    """Read `spec` (a path, a zoo name, YAML text, a dict, or a Model) once; SpecError if it cannot be read or
    checked."""
    if isinstance(spec, Model):
        return spec
    if isinstance(spec, dict):
        from costcalc.spec.data import document

        return _read("<dict>", document(spec))
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str):
        raise OptionError(f"spec: a path, YAML text or a dict, not {type(spec).__name__}")
    if "\n" in spec:
        from costcalc.spec.loader import load_text

        return _read("<string>", load_text(spec, "<string>"))
    from costcalc.importers import importer_for
    from costcalc.zoo import resolve

    spec = resolve(spec)  # a zoo name (`resnet50`) where no file of that name is in the way
    importer = importer_for(spec)
    if importer is not None:
        return Model(spec, importer=importer)
    return _read(spec, None)


def _read(name: str, doc) -> Model:
    from costcalc.graph import check
    from costcalc.spec.reader import read_partial

    spec, errors = read_partial(name, doc)
    check(spec, errors)
    errors.raise_any()
    return Model(name, spec)


def analyze(spec, *, set=None, input=None, batch: int = 1, convention: str = "paper", device=None,
            bytes_per_element: int | None = None, thresholds: dict | None = None) -> Report:
    """FLOPs, params, memory access and guideline checks of `spec` (a path, YAML text, a dict, a Model, or a
    torch.nn.Module with its `input` shape: exported with your own torch to ONNX in a temporary file, then read).

    set: variable overrides, {"width": 0.5} (values: numbers, lists, or expression text such as "1 / 2");
    input: the per-sample input shape, "3x160x160" or (3, 160, 160); batch: N; convention: what FLOPs counts
    (paper, full, fvcore, ptflops, thop); bytes_per_element: memory access in bytes instead of elements;
    thresholds: guideline thresholds, {"G1.max_ratio": 3}; device: a device profile (its path, or a DeviceProfile
    from costcalc.latency.load) that adds the estimated latency: `report.latency_s`, seconds for the batch.
    """
    from costcalc.importers.torch_module import exported, is_module, remove

    if is_module(spec):  # a torch.nn.Module: exported with the caller's torch into a temporary file, then read
        path = exported(spec, parse_shape(input), batch)
        try:
            report = load(path).analyze(batch=batch, convention=convention, device=device,
                                        bytes_per_element=bytes_per_element, thresholds=thresholds)
        finally:
            remove(path)
        return replace(report, model=f"{type(spec).__name__} (torch module)")
    return load(spec).analyze(set=set, input=input, batch=batch, convention=convention, device=device,
                              bytes_per_element=bytes_per_element, thresholds=thresholds)


def compare(a, b, *, depth: int | None = 2, label_a: str | None = None, label_b: str | None = None) -> Comparison:
    """A and B side by side, as `costcalc compare`: each a Report, or a spec analysed with default settings;
    rows at `depth` (None: every layer) matched by name, then by position; each labelled by its model and the
    settings that changed it unless `label_a` / `label_b` say otherwise."""
    from costcalc.analysis.compare import compare as compare_reports

    a, b = (r if isinstance(r, _Report) else analyze(r) for r in (a, b))
    label_a = label_a or _label(a)
    label_b = label_b or _label(b)
    return _public(Comparison, compare_reports(a, b, depth, label_a, label_b))


def _label(report) -> str:
    """The model and what changed it: 'mobilenet_v2 (--set width=0.5)', as `costcalc compare` labels a side."""
    from costcalc.report.as_table import model_label

    return model_label(report.model, report.settings)
