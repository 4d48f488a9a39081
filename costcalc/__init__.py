"""costcalc: the analytic cost of CNN architectures, from YAML layer specs, with no deep-learning framework.

The public API (docs/api.md):

    report = costcalc.analyze("specs/mobilenet_v2.yaml", set={"width": 0.5}, input="3x160x160")
    report.totals.flops, report.rows(depth=1), report.guidelines, report.to_json()
    model = costcalc.load("specs/mobilenet_v2.yaml")     # read once, evaluate many times
    costcalc.compare(report, model.analyze(set={"width": 1.0}))
    costcalc.sweep("specs/mobilenet_v2.yaml", grid={"width": [0.5, 1.0], "input": ["3x160x160", "3x224x224"]})

Every name is imported on first use, so `import costcalc` (and the command line) stays cheap.
"""

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "analyze", "load", "compare", "sweep",
    "Model", "Report", "Comparison", "Sweep", "SweepRow",
    "Counts", "Layer", "Row",
    "CostcalcError", "SpecError", "SpecErrors", "OptionError", "NotAvailableError",
]

_LAZY = {
    "analyze": "costcalc.api", "load": "costcalc.api", "compare": "costcalc.api", "Model": "costcalc.api",
    "Report": "costcalc.api", "Comparison": "costcalc.api",
    "sweep": "costcalc.api_sweep", "Sweep": "costcalc.analysis.sweep", "SweepRow": "costcalc.analysis.sweep",
    "Counts": "costcalc.ops", "Layer": "costcalc.analysis.report", "Row": "costcalc.analysis.report",
    "CostcalcError": "costcalc.errors", "SpecError": "costcalc.errors", "SpecErrors": "costcalc.errors",
    "OptionError": "costcalc.errors", "NotAvailableError": "costcalc.errors",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'costcalc' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(__all__) | set(globals()))
