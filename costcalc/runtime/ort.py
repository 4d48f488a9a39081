"""The onnxruntime adapter: run an ONNX model on this machine's CPU, time it, and read onnxruntime's profiler.

Timing: `warmup` runs first (not counted), then `runs` runs (fewer when `budget_s` is spent first, at least one),
each timed by the wall clock around `session.run`, in a session whose profiler is off (onnxruntime's profiler
writes an event per kernel: it doubles the time of a network of small kernels); `latency_s` is the minimum over
runs and `latency_median_s` the median, in seconds for the whole batch. `cpu_s` is the calling thread's CPU time
in a run (min over runs): at one thread onnxruntime runs every kernel on the calling thread, so it leaves out the
time the process waited for the core on a busy machine. `threads` sets onnxruntime's intra-op thread pool
(inter-op is 1, the executor sequential); 1 thread is the reproducible figure.

Per-layer times come from onnxruntime's profiler (`enable_profiling`) in a second session, run as many times after
its own warm-up: one event per kernel per run. Its wall times are kept apart (`profiled_wall_s`), so the
profiler's overhead is stated, never part of the total; costcalc.runtime.kernels maps the kernels back to the
model's nodes and layers.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass

import numpy as np

from costcalc.errors import Loc, SpecError
from costcalc.runtime.kernels import LayerTime, attribute
from costcalc.runtime.waits import TRIES, clean_min, is_clean, waited_ns

INSTALL_HINT = "measuring needs onnxruntime: pip install 'costcalc[runtime]'"
MAX_INPUT_BYTES = 2**30  # of one random input (a batch of 64 at 3 x 1024 x 1024 is 805 MB)


class RuntimeMissing(SpecError):
    """onnxruntime (the `[runtime]` extra) is not installed."""


@dataclass(frozen=True)
class Measurement:
    latency_s: float  # wall time of one run, min over runs, seconds for the batch
    latency_median_s: float
    runs: int
    threads: int
    layers: tuple = ()  # LayerTime, in the model's node order, then onnxruntime's own kernels
    warmup: int = 0
    times_s: tuple = ()  # wall time of every counted run
    profiled_s: float = 0.0  # the layers' latency_s summed: kernel time the profiler accounts for
    batch: int = 1
    runtime: str = ""  # "onnxruntime 1.32.0 (CPUExecutionProvider)"
    cpu_s: float = 0.0  # CPU time of the calling thread in one run, min over runs: at 1 thread onnxruntime runs
    # every kernel on it, so this leaves out the time other processes had the core (a busy machine's noise)
    cpu_median_s: float = 0.0
    profiled_wall_s: float = 0.0  # wall time of one run with the profiler on (the per-layer pass), min over runs
    profiled_wall_median_s: float = 0.0
    waited_s: tuple = ()  # per counted run, how long its threads waited for a CPU (costcalc.runtime.waits; None
    # where the kernel does not tell)
    clean_runs: int = -1  # with measure(clean=True), the runs latency_s is the min of (0: none was clean, min
    # over all); -1 without

    @property
    def accounted(self) -> float:
        """The share of the profiled pass's wall time (min over runs) its kernels (each layer's min) account for."""
        return self.profiled_s / self.profiled_wall_s if self.profiled_wall_s else 0.0

    @property
    def profiler_overhead(self) -> float | None:
        """How much longer a run took with the profiler on (min over runs each): 0.25 is 25 %; None unprofiled."""
        return self.profiled_wall_s / self.latency_s - 1 if self.profiled_wall_s and self.latency_s else None


def load_onnxruntime(loc: Loc):
    """The onnxruntime module, or RuntimeMissing located at `loc` naming the extra."""
    try:
        import onnxruntime
    except ImportError:
        raise RuntimeMissing(INSTALL_HINT, loc) from None
    return onnxruntime


def model_proto(model, loc: Loc):
    """The ModelProto of `model` (a proto, its bytes or a path); an unreadable file is a located SpecError."""
    import onnx

    if isinstance(model, (bytes, bytearray)):
        return onnx.load_from_string(bytes(model))
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        try:
            proto = onnx.load(path, load_external_data=False)
        except OSError as e:
            raise SpecError(f"cannot read: {e.strerror or e}", loc) from None
        except Exception as e:  # protobuf's DecodeError: not an ONNX model
            raise SpecError(f"not a readable ONNX model ({type(e).__name__}: {e})", loc) from None
        try:  # the weights onnxruntime runs with, from the files beside the model
            from onnx.external_data_helper import load_external_data_for_model

            with warnings.catch_warnings():  # onnx's own note of a key it ignores: no second line on stderr
                warnings.simplefilter("ignore")
                load_external_data_for_model(proto, os.path.dirname(os.path.abspath(path)))
        except Exception as e:
            raise SpecError(f"the weights kept in external data cannot be read ({type(e).__name__}: "
                            f"{' '.join(str(e).split())[:300]})", loc) from None
        return proto
    return model


def measure(model, *, threads: int = 1, warmup: int = 3, runs: int = 10, budget_s: float | None = None,
            profile: bool = True, input_shapes: dict | None = None, seed: int = 0, progress=None,
            layer_names: dict | None = None, clean: bool = False) -> Measurement:
    """Run `model` (an onnx ModelProto, its serialized bytes, or a path) in onnxruntime and time it. Inputs are
    seeded normal values; `input_shapes` (input name -> full shape) fixes dims the file leaves open; `layer_names`
    (node name -> layer) groups the nodes into the layers the per-layer times are of (costcalc.runtime.kernels).
    `progress(done, total)` is told after each counted run. The total is timed with the profiler off; with
    `profile`, a second session with the profiler on runs as many times for the per-layer times, its own wall
    times kept apart (`profiled_wall_s`: the profiler's overhead is their difference). With `clean`, a run during
    which the process's threads waited for a CPU (another process had it: costcalc.runtime.waits) is not counted
    in `latency_s`, and more are run, up to waits.TRIES x `runs` in all, until `runs` are clean."""
    loc = Loc(os.fspath(model)) if isinstance(model, (str, os.PathLike)) else Loc("<model>")
    ort = load_onnxruntime(loc)
    proto = model_proto(model, loc)
    ort.set_default_logger_severity(4)  # the logger that writes during the session's creation
    session = _session(ort, proto, threads, None, loc)
    if not session.get_outputs():
        raise SpecError("the model has no outputs: onnxruntime runs nothing", loc)
    feeds = _inputs(session, input_shapes or {}, seed, loc)
    times, cpu, waits = _runs(session, feeds, warmup, runs, budget_s, progress, loc, clean)
    layers, profiled, profiled_times = (), 0.0, ()
    if profile:
        with tempfile.TemporaryDirectory(prefix="costcalc-ort-") as tmp:
            profiling = _session(ort, proto, threads, os.path.join(tmp, "profile"), loc)
            profiled_times, *_ = _runs(profiling, feeds, warmup, len(times), None, None, loc)
            events = _read_profile(profiling.end_profiling())
            kernel_runs = _kernel_runs(events)[warmup:warmup + len(profiled_times)]
            layers = attribute(proto, kernel_runs, layer_names)
            profiled = sum(layer.latency_s for layer in layers)
    batch = next(iter(feeds.values())).shape[0] if feeds else 1
    best, clean_runs = clean_min(times, waits) if clean else (min(times), -1)
    return Measurement(best, statistics.median(times), len(times), threads, layers, warmup, tuple(times),
                       profiled, batch, f"onnxruntime {ort.__version__} (CPUExecutionProvider)", min(cpu),
                       statistics.median(cpu), min(profiled_times, default=0.0),
                       statistics.median(profiled_times) if profiled_times else 0.0, tuple(waits), clean_runs)


def _session(ort, proto, threads: int, profile_prefix: str | None, loc: Loc):
    """An onnxruntime CPU session: `threads` intra-op threads, sequential, its logger silenced; with
    `profile_prefix`, its profiler on, writing there."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 4  # fatal only: its errors reach the user as costcalc's one located line
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    try:
        return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's own errors (an op it does not run, absent external data)
        raise SpecError(f"onnxruntime cannot load the model: {' '.join(str(e).split())[:600]}", loc) from None


def _runs(session, feeds: dict, warmup: int, runs: int, budget_s: float | None, progress, loc: Loc,
          clean: bool = False) -> tuple:
    """`warmup` runs, then the timed ones: (wall times, CPU times of the calling thread, waits for a CPU)."""
    try:
        for _ in range(warmup):
            session.run(None, feeds)
        return _timed_runs(session, feeds, runs, budget_s, progress, clean)
    except Exception as e:  # onnxruntime's errors while running (an index out of range, a shape mismatch)
        raise SpecError(f"onnxruntime cannot run the model: {' '.join(str(e).split())[:600]}", loc) from None


def measure_graph(graph, *, threads: int = 1, warmup: int = 3, runs: int = 10, budget_s: float | None = None,
                  profile: bool = True, seed: int = 0, opset: int | None = None, progress=None,
                  clean: bool = False) -> Measurement:
    """Export the walked `graph` with seeded random weights (costcalc.exporters.onnx) and measure it."""
    from costcalc.exporters.onnx import DEFAULT_OPSET, export

    load_onnxruntime(Loc(graph.path))
    model = export(graph, opset=opset or DEFAULT_OPSET, weights="random", seed=seed)
    return measure(model, threads=threads, warmup=warmup, runs=runs, budget_s=budget_s, profile=profile, seed=seed,
                   progress=progress, clean=clean)


def _inputs(session, shapes: dict, seed: int, loc: Loc) -> dict:
    rng = np.random.default_rng(seed)
    feeds = {}
    for value in session.get_inputs():
        shape = shapes.get(value.name, value.shape)
        if any(not isinstance(d, int) or d < 1 for d in shape):
            raise SpecError(f"input '{value.name}' has shape {list(value.shape)}: its size is not fixed in the file; "
                            "give it (--input CxHxW, --batch N; input_shapes= in Python)", loc)
        dtype = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16}.get(value.type)
        if dtype is None:
            raise SpecError(f"input '{value.name}' is a {value.type}: costcalc feeds float tensors", loc)
        size = math.prod(shape) * np.dtype(dtype).itemsize
        if size > MAX_INPUT_BYTES:
            raise SpecError(f"input '{value.name}' of shape {' x '.join(map(str, shape))} is {size:,} bytes, beyond "
                            f"the {MAX_INPUT_BYTES:,} costcalc feeds a model (give a smaller --input or --batch)", loc)
        feeds[value.name] = rng.standard_normal(tuple(shape), dtype=np.float32).astype(dtype)
    return feeds


def _timed_runs(session, feeds: dict, runs: int, budget_s: float | None, progress, clean: bool = False) -> tuple:
    """(wall times, CPU times of the calling thread, seconds its threads waited for a CPU) of each run; with
    `clean`, until `runs` runs are clean (costcalc.runtime.waits), at most TRIES x `runs`."""
    times: list = []
    cpu: list = []
    waits: list = []
    start = time.perf_counter()
    wanted = max(runs, 1)
    while len(times) < (TRIES * wanted if clean else wanted):
        before = waited_ns()  # read outside the wall clock's interval
        t, c = time.perf_counter(), time.thread_time()
        session.run(None, feeds)
        cpu.append(time.thread_time() - c)  # read inside the wall clock's interval
        times.append(time.perf_counter() - t)
        after = waited_ns()
        waits.append(None if before is None or after is None else (after - before) * 1e-9)
        if progress is not None:
            progress(len(times), runs)
        if budget_s is not None and time.perf_counter() - start >= budget_s:
            break
        if clean and sum(is_clean(w, x) for w, x in zip(times, waits)) >= wanted:
            break
    return times, cpu, waits


def _read_profile(path: str) -> list:
    with open(path, encoding="utf-8") as f:
        events = json.load(f)
    os.remove(path)
    return events


def _kernel_runs(events: list) -> list:
    """The profiler's kernel events grouped by run: a list (one per run, in order) of [(kernel, op, seconds)]."""
    runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("cat") == "Session" and e["name"] == "model_run")
    grouped: list = [[] for _ in runs]
    kernels = sorted((e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")),
                     key=lambda e: e["ts"])
    k = 0
    for e in kernels:
        while k < len(runs) and e["ts"] > runs[k][1]:
            k += 1
        if k == len(runs):
            break
        grouped[k].append((e["name"][: -len("_kernel_time")], e["args"].get("op_name", ""), e["dur"] * 1e-6))
    return grouped
