"""The device profile: the parameters of the latency model (costcalc.latency.model states the formula), read from
and written to a YAML file. A profile is for one machine, one runtime and one thread count.

    device: AMD EPYC, 2 cores
    runtime: onnxruntime 1.32.0
    threads: 1
    combine: max                 # how a kernel's compute and memory times combine: max (roofline) or sum
    bytes_per_element: 4         # float32
    layout_block: 8              # the runtime's blocked-channel layout (NCHWc): 8 with AVX2, 16 with AVX-512, 0 none
    run_overhead_s: 2.0e-05      # once per run of the network
    context: 1.06                # whole networks run this much slower than the classes say
    context_slope: 0.07          # ... at context_kernels planned kernels; a network of n runs (n / context_kernels)
    context_kernels: 65          #   ** context_slope times slower still (both absent: no length term)
    llc_bytes: 16777216          # the last-level cache, as the calibration found it (0: no cache term)
    dram_bandwidth: 1.2e+10      # bytes per second for a kernel's bytes beyond the cache
    fork_s: 3.0e-06              # at threads > 1: per launch of a kernel shared among them (fork and join; 0 at 1)
    fusion: [conv+bn, conv+activation, conv+add, bn+activation]
    classes:                     # per op class: FLOPs/s, bytes/s, seconds per kernel
      pointwise_conv: {throughput: 5.1e+10, bandwidth: 9.0e+09, overhead_s: 4.0e-06}
      ...
    calibration: {...}           # how it was fitted (free-form, written by `costcalc calibrate`)

Every class of `OP_CLASSES` must be present (but those of `OPTIONAL_CLASSES`, added later: absent, they take
another class's parameters, so that an older profile still reads); an unknown key, a missing one or a value that
is not a positive number is a located error (`profile.yaml:9:22: error: ...`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from costcalc.errors import Loc, SpecError, did_you_mean

# The op classes, each with its own throughput, bandwidth and per-kernel overhead. A conv runs in the runtime's
# blocked layout (NCHWc) when its channels allow it, else in the plain one (NCHW, im2col + GEMM): the same op is a
# different kernel, so each conv class has both.
CONV_KINDS = ("dense_conv", "pointwise_conv", "grouped_conv", "depthwise_conv")
OP_CLASSES = (*CONV_KINDS, *(f"{kind}_plain" for kind in CONV_KINDS), "fc", "elementwise", "elementwise_exp",
              "gelu", "mish", "normalization", "pooling", "pooling_plain", "data_movement", "shuffle", "gemm",
              "matmul", "softmax", "transpose", "transpose_inner", "view", "batchnorm", "resize", "resize_plain",
              "reduce")
# classes a profile may leave out (written before them): each takes another class's parameters when absent, without
# its per-row time (the kernels were costed by that class, rows uncounted)
OPTIONAL_CLASSES = {"batchnorm": "elementwise", "resize": "data_movement", "resize_plain": "data_movement",
                    "reduce": "elementwise"}
CLASS_DOCS = {
    "dense_conv": "k x k conv (k > 1), groups = 1, blocked layout",
    "pointwise_conv": "1 x 1 conv, groups = 1, blocked layout",
    "grouped_conv": "1 < groups < in_channels, blocked layout",
    "depthwise_conv": "groups = in_channels, blocked layout",
    "fc": "fully connected (Gemm)",
    "elementwise": "relu-like activations, add, mul, scale, a lone batchnorm in the blocked layout; rows: broadcast "
                   "spans",
    "elementwise_exp": "activations that evaluate an exponential (sigmoid, tanh, swish) and hardswish",
    "gelu": "gelu, exact (erf) or tanh form: onnxruntime's own Gelu kernel",
    "mish": "mish: Softplus, Tanh, Mul before opset 18",
    "normalization": "layernorm (Transpose, LayerNormalization, Transpose) and groupnorm (InstanceNormalization, "
                     "Mul, Add); rows: those normalised",
    "pooling": "max / average / global pooling, blocked layout",
    "pooling_plain": "max / average / global pooling and global mean, plain (NCHW) layout",
    "data_movement": "concat, split, select, pad, and the runtime's layout reorders; rows: a pad's rows",
    "shuffle": "channel shuffle: Reshape, Transpose, Reshape",
    "gemm": "fc on tokens (N x d): one GEMM of N rows (Gemm, or MatMul without bias)",
    "matmul": "product of two activations (attention's q k^T and attn v): batched MatMul / FusedMatMul",
    "softmax": "softmax over an axis (attention's scores); rows: those normalised",
    "transpose": "permute that keeps the innermost axis innermost: blocks copied whole (rows: the blocks)",
    "transpose_inner": "permute that moves the innermost axis: a 2-D transpose, or a gather (rows: its elements)",
    "view": "reshape and other views: onnxruntime still launches a Reshape (no data moved)",
    "batchnorm": "batchnorm not folded, plain layout: BatchNormalization (on tokens between two Reshapes); rows: "
                 "its sample x channel spans",
    "resize": "resize by integer scales, nearest or bilinear, of a blocked map: onnxruntime's NCHWc Upsample; FLOPs: "
              "the interpolation's",
    "resize_plain": "any other resize: onnxruntime's Resize, plain (NCHW) layout; FLOPs: the interpolation's",
    "reduce": "a reduction in onnxruntime's generic loop (over the leading axes; L1, L2, product, ...); rows: its "
              "input and output elements",
}
for _kind in CONV_KINDS:
    CLASS_DOCS[f"{_kind}_plain"] = CLASS_DOCS[_kind].replace("blocked", "plain (NCHW)")
FUSIONS = ("conv+bn", "conv+activation", "conv+add", "bn+activation", "matmul+scale")
COMBINES = ("max", "sum")
ORT_FUSION = FUSIONS  # what onnxruntime's CPU provider does at its default optimisation level (all)


class ProfileError(SpecError):
    """A device profile that cannot be read: located like a spec error."""


@dataclass(frozen=True)
class ClassParams:
    throughput: float  # FLOPs per second (multiply-adds for conv and fc, element-wise FLOPs otherwise)
    bandwidth: float  # bytes per second
    overhead_s: float  # seconds per kernel launched
    row_s: float = 0.0  # seconds per row the kernel takes one at a time (Kernel.rows; 0 for most classes)


@dataclass(frozen=True)
class DeviceProfile:
    classes: dict  # op class -> ClassParams, every one of OP_CLASSES
    threads: int = 1
    combine: str = "max"
    bytes_per_element: int = 4
    layout_block: int = 8
    run_overhead_s: float = 0.0
    context: float = 1.0  # every kernel's time is multiplied by it (costcalc.latency.model; 1 when absent)
    context_slope: float = 0.0  # and by (planned kernels / context_kernels) ** context_slope (model.length_factor)
    context_kernels: float = 0.0  # the length at which the context is `context` (0: no length term)
    llc_bytes: int = 0  # the last-level cache: a kernel's bytes beyond it move at dram_bandwidth (0: no cache term)
    dram_bandwidth: float = 1e15  # bytes per second from memory
    fork_s: float = 0.0  # seconds per launch of a kernel shared among threads (costcalc.latency.threads; 0 at 1)
    fusion: tuple = ORT_FUSION
    device: str = ""
    runtime: str = ""
    calibration: dict = field(default_factory=dict)

    def __getitem__(self, op_class: str) -> ClassParams:
        return self.classes[op_class]

    def fuses(self, rule: str) -> bool:
        return rule in self.fusion


def uniform(throughput: float, bandwidth: float, overhead_s: float, **kwargs) -> DeviceProfile:
    """A profile with the same parameters for every class (tests and hand-made profiles start here)."""
    params = ClassParams(throughput, bandwidth, overhead_s)
    return DeviceProfile({c: params for c in OP_CLASSES}, **kwargs)


def with_class(profile: DeviceProfile, op_class: str, **changes) -> DeviceProfile:
    return replace(profile, classes={**profile.classes, op_class: replace(profile.classes[op_class], **changes)})


# ---- YAML ---------------------------------------------------------------------------------------------------

_TOP = ("device", "runtime", "threads", "combine", "bytes_per_element", "layout_block", "run_overhead_s", "context",
        "llc_bytes", "dram_bandwidth", "fork_s", "context_slope", "context_kernels",
        "fusion", "classes", "calibration")
_REQUIRED = ("threads", "classes")
_CLASS_KEYS = ("throughput", "bandwidth", "overhead_s")
_OPTIONAL_CLASS_KEYS = ("row_s",)  # 0 when absent (profiles written before the per-row term)


def load(path: str) -> DeviceProfile:
    """Read and validate the profile at `path`; every fault is a ProfileError at the key or value at fault."""
    from costcalc.spec.loader import YMap, load_file

    try:
        doc = load_file(path)
    except SpecError as e:
        raise ProfileError(e.message, e.loc) from None
    if not isinstance(doc, YMap):
        raise ProfileError("a device profile is a mapping (threads:, classes:, ...)", getattr(doc, "loc", Loc(path)))
    for key in doc:
        if key not in _TOP:
            raise ProfileError(f"unknown key '{key}'{did_you_mean(str(key), _TOP)} (a profile has: {', '.join(_TOP)})",
                               doc.key_locs[key])
    for key in _REQUIRED:
        if key not in doc:
            raise ProfileError(f"the profile has no '{key}'", doc.loc)
    at = doc.value_locs
    kwargs = {
        "threads": _integer(doc["threads"], at["threads"], "threads", 1),
        "classes": _classes(doc["classes"], at["classes"]),
    }
    if "combine" in doc:
        if doc["combine"] not in COMBINES:
            raise ProfileError(f"combine: '{doc['combine']}' is not one of {', '.join(COMBINES)}", at["combine"])
        kwargs["combine"] = doc["combine"]
    if "bytes_per_element" in doc:
        kwargs["bytes_per_element"] = _integer(doc["bytes_per_element"], at["bytes_per_element"], "bytes_per_element", 1)
    if "layout_block" in doc:
        kwargs["layout_block"] = _integer(doc["layout_block"], at["layout_block"], "layout_block", 0)
    if "run_overhead_s" in doc:
        kwargs["run_overhead_s"] = _number(doc["run_overhead_s"], at["run_overhead_s"], "run_overhead_s", zero=True)
    if "context" in doc:
        kwargs["context"] = _number(doc["context"], at["context"], "context")
    if ("context_slope" in doc) != ("context_kernels" in doc):
        given, missing = ("context_slope", "context_kernels") if "context_slope" in doc else \
            ("context_kernels", "context_slope")
        raise ProfileError(f"{given}: the length term needs {missing} too", at[given])
    if "context_slope" in doc:
        kwargs["context_slope"] = _signed(doc["context_slope"], at["context_slope"], "context_slope")
        kwargs["context_kernels"] = _number(doc["context_kernels"], at["context_kernels"], "context_kernels")
    if "llc_bytes" in doc:
        kwargs["llc_bytes"] = _integer(doc["llc_bytes"], at["llc_bytes"], "llc_bytes", 0)
    if "dram_bandwidth" in doc:
        kwargs["dram_bandwidth"] = _number(doc["dram_bandwidth"], at["dram_bandwidth"], "dram_bandwidth")
    if "fork_s" in doc:
        kwargs["fork_s"] = _number(doc["fork_s"], at["fork_s"], "fork_s", zero=True)
        if kwargs["fork_s"] and kwargs["threads"] == 1:
            raise ProfileError(f"fork_s: a profile of 1 thread shares no kernel among threads, so its fork_s is 0, "
                               f"not {doc['fork_s']!r}", at["fork_s"])
    if "fusion" in doc:
        kwargs["fusion"] = _fusion(doc["fusion"], at["fusion"])
    for key in ("device", "runtime"):
        if key in doc:
            if not isinstance(doc[key], str):
                raise ProfileError(f"{key} is a text, not {doc[key]!r}", at[key])
            kwargs[key] = doc[key]
    if "calibration" in doc:
        if not isinstance(doc["calibration"], dict):
            raise ProfileError("calibration is a mapping", at["calibration"])
        kwargs["calibration"] = _plain(doc["calibration"])
    return DeviceProfile(**kwargs)


def _classes(section, loc: Loc) -> dict:
    from costcalc.spec.loader import YMap

    if not isinstance(section, YMap):
        raise ProfileError("classes is a mapping of op class -> {throughput, bandwidth, overhead_s}", loc)
    out = {}
    for name, body in section.items():
        if name not in OP_CLASSES:
            raise ProfileError(f"classes: unknown op class '{name}'{did_you_mean(str(name), OP_CLASSES)} "
                               f"(classes: {', '.join(OP_CLASSES)})", section.key_locs[name])
        if not isinstance(body, YMap):
            raise ProfileError(f"classes: {name} is a mapping {{throughput, bandwidth, overhead_s}}",
                               section.value_locs[name])
        for key in body:
            if key not in _CLASS_KEYS + _OPTIONAL_CLASS_KEYS:
                known = _CLASS_KEYS + _OPTIONAL_CLASS_KEYS
                raise ProfileError(f"classes: {name}: unknown key '{key}'{did_you_mean(str(key), known)} "
                                   f"(it has: {', '.join(known)})", body.key_locs[key])
        for key in _CLASS_KEYS:
            if key not in body:
                raise ProfileError(f"classes: {name} has no '{key}'", section.value_locs[name])
        out[name] = ClassParams(
            _number(body["throughput"], body.value_locs["throughput"], f"classes: {name}: throughput"),
            _number(body["bandwidth"], body.value_locs["bandwidth"], f"classes: {name}: bandwidth"),
            _number(body["overhead_s"], body.value_locs["overhead_s"], f"classes: {name}: overhead_s", zero=True),
            _number(body["row_s"], body.value_locs["row_s"], f"classes: {name}: row_s", zero=True)
            if "row_s" in body else 0.0)
    for name, source in OPTIONAL_CLASSES.items():  # as its kernels were costed before the class: no rows
        if name not in out and source in out:
            out[name] = replace(out[source], row_s=0.0)
    missing = [c for c in OP_CLASSES if c not in out]
    if missing:
        raise ProfileError(f"classes: missing {', '.join(missing)} (every op class needs its parameters)", loc)
    return {c: out[c] for c in OP_CLASSES}


def _number(value, loc: Loc, what: str, zero: bool = False) -> float:
    number = _signed(value, loc, what)
    if number < 0 or (number == 0 and not zero):
        raise ProfileError(f"{what} must be {'at least 0' if zero else 'more than 0'}, not {value!r}", loc)
    return number


def _signed(value, loc: Loc, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProfileError(f"{what} must be a finite number, not {value!r}", loc)
    return float(value)


def _integer(value, loc: Loc, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ProfileError(f"{what} must be a whole number of at least {minimum}, not {value!r}", loc)
    return value


def _fusion(value, loc: Loc) -> tuple:
    from costcalc.spec.loader import YList

    if not isinstance(value, list):
        raise ProfileError(f"fusion is a list of the runtime's fusions ({', '.join(FUSIONS)})", loc)
    locs = value.item_locs if isinstance(value, YList) else [loc] * len(value)
    for item, item_loc in zip(value, locs):
        if item not in FUSIONS:
            raise ProfileError(f"fusion: unknown fusion {item!r}{did_you_mean(str(item), FUSIONS)} "
                               f"(known: {', '.join(FUSIONS)})", item_loc)
    return tuple(value)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def dump(profile: DeviceProfile) -> str:
    """The profile as YAML text that `load` reads back to an equal profile (floats written with repr)."""
    import yaml

    lines = [
        "# costcalc device profile: the parameters of the latency model (costcalc.latency.model states the formula).",
        "# throughput: FLOPs/s; bandwidth: bytes/s; overhead_s: seconds per kernel; row_s: seconds per row (rows.py).",
        f"device: {_q(profile.device)}",
        f"runtime: {_q(profile.runtime)}",
        f"threads: {profile.threads}",
        f"combine: {profile.combine}",
        f"bytes_per_element: {profile.bytes_per_element}",
        f"layout_block: {profile.layout_block}",
        f"run_overhead_s: {_float(profile.run_overhead_s)}",
        f"context: {_float(profile.context)}",
        *([f"context_slope: {_float(profile.context_slope)}", f"context_kernels: {_float(profile.context_kernels)}"]
          if profile.context_slope and profile.context_kernels else []),
        f"llc_bytes: {profile.llc_bytes}",
        f"dram_bandwidth: {_float(profile.dram_bandwidth)}",
        *([f"fork_s: {_float(profile.fork_s)}"] if profile.threads > 1 or profile.fork_s else []),
        f"fusion: [{', '.join(profile.fusion)}]",
        "classes:",
    ]
    width = max(len(c) for c in OP_CLASSES)
    for name in OP_CLASSES:
        p = profile.classes[name]
        lines.append(f"  {name + ':':<{width + 1}} {{throughput: {_float(p.throughput)}, "
                     f"bandwidth: {_float(p.bandwidth)}, overhead_s: {_float(p.overhead_s)}"
                     + (f", row_s: {_float(p.row_s)}" if p.row_s else "") + "}"
                     f"  # {CLASS_DOCS[name]}")
    if profile.calibration:
        text = yaml.safe_dump({"calibration": profile.calibration}, sort_keys=False, default_flow_style=None,
                              width=110)
        lines.append(text.rstrip("\n"))
    return "\n".join(lines) + "\n"


def _float(value: float) -> str:
    """repr (exact on reading back), with the '.' YAML 1.1 needs to read 5e-06 as a number: 5.0e-06."""
    text = repr(float(value))
    return text.replace("e", ".0e") if "e" in text and "." not in text else text


def _q(text: str) -> str:
    import json

    return json.dumps(text)  # a JSON string is a YAML string


def save(profile: DeviceProfile, path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(dump(profile))
