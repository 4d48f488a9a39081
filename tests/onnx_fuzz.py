"""A mutation fuzz of costcalc's ONNX paths (issue 26), shared by the short seeded run of the test suite
(tests/test_onnx_fuzz.py) and the long run (benchmarks/onnx_fuzz.py).

Mutants: structural mutations of seed models (attributes, shapes and dims, names, opsets, domains and op types,
subgraphs, external data, the graph's wiring), one to three per mutant, and byte-level ones of the serialized file
(flips, insertions, deletions, a cut). Seeds are any ONNX files given by path, plus small valid CNNs built here
(`random_cnn`, with asymmetric pads and ceil-mode pooling).

Each mutant goes through `costcalc report --format json`, `costcalc import` and, for a subset, `costcalc measure`,
in a worker process under an address-space cap (`MEMORY_CAP`); the parent kills the worker of a case that passes
`TIME_LIMIT` (a hang) and starts another. The worker points file descriptors 1 and 2 at files during each case,
so a line a native library writes itself (onnxruntime's logger) is seen too. Promises checked (`check_case`):
exit 0 or 2, never an exception; exit 2 with exactly one stderr line, located `FILE:LINE:COL: error: ...`; exit 0
with nothing on stderr, every total a non-negative int equal to the sum of its layers; every spec `import` writes
loads and gives the totals `report` gives the ONNX file itself.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import select
import subprocess
import sys
import tempfile
import time

LOCATED = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): error: \S.*$")
TIME_LIMIT = 20.0  # seconds per command on a shared 2-core machine; cases take ~0.1 s
MEMORY_CAP = 4 << 30  # address space of the worker process
MEASURE_FLOPS = 10**9  # `measure?` runs models `report` accepts up to this size: a larger one is slow, not hung
MEASURE_ACTIVATIONS = 10**8
COUNT_KEYS = ("flops", "elementwise_flops", "params", "memory_access", "activations")

HOSTILE_INTS = [0, -1, 1, 2, 3, 5, 255, 2**31, 2**40, 2**62, -(2**62)]
HOSTILE_FLOATS = [0.0, -1.0, 1e30, float("nan"), float("inf"), -float("inf")]
HOSTILE_STRINGS = [b"", b"SAME_UPPER", b"SAME_LOWER", b"VALID", b"NOTSET", b"reflect", b"linear", b"\xff\xfe",
                   b"x" * 1000]
HOSTILE_NAMES = ["", "same", "input", "true", "a" * 300, "/".join(f"m{k}" for k in range(300)), "a\x12b",
                 "\x00", "é\u202e", "layer1.0.conv1", "/layer1/layer1.0/Conv", "1", "a b: c", "[/bold]"]
ATTRIBUTE_NAMES = ["kernel_shape", "pads", "strides", "dilations", "group", "axis", "axes", "perm", "transA", "transB",
                   "ceil_mode", "auto_pad", "keepdims", "split", "output_padding", "mode", "alpha", "epsilon",
                   "count_include_pad", "storage_order", "num_outputs", "allowzero"]
OP_TYPES = ["Relu", "Conv", "MaxPool", "AveragePool", "Gemm", "Add", "Mul", "Concat", "Reshape", "Flatten",
            "BatchNormalization", "GlobalAveragePool", "Split", "Transpose", "Slice", "Pad", "Resize", "If", "Loop",
            "Scan", "ConvTranspose", "Softmax", "Clip", "Identity", "Shape", "Gather", "Unknown", ""]


# ---- seeds -------------------------------------------------------------------------------------------------


def random_cnn(rng: random.Random):
    """A small valid CNN (onnx.helper), its shapes tracked as it grows: convs (grouped, strided, dilated, with
    asymmetric pads), batchnorm, activations, pooling (ceil mode, asymmetric pads), residual adds, concats,
    then global pooling, flatten and a Gemm."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    input_shape = (rng.choice([1, 3, 4]), rng.randint(3, 24), rng.randint(3, 24))
    nodes, inits = [], []
    x, shape = "x", input_shape

    def name(prefix: str) -> str:
        return f"{prefix}{len(nodes)}"

    def weight(dims) -> str:
        t = name("w") + f"_{len(inits)}"
        inits.append(numpy_helper.from_array(np.zeros(dims, np.float32), t))
        return t

    def window(size, k, s, d, pb, pe, ceil):
        span = d * (k - 1) + 1
        padded = size + pb + pe
        out = (-(-(padded - span) // s) if ceil else (padded - span) // s) + 1
        if ceil and (out - 1) * s >= size + pb:
            out -= 1
        return out

    for _ in range(rng.randint(1, 8)):
        kind = rng.choice(["conv", "conv", "bn", "act", "pool", "add", "concat"])
        c, h, w = shape
        if kind in ("conv", "pool"):
            k = (rng.randint(1, min(3, h + 2)), rng.randint(1, min(3, w + 2)))
            s = (rng.randint(1, 2), rng.randint(1, 2))
            d = (1, 1) if kind == "pool" or rng.random() < 0.7 else (rng.randint(1, 2), rng.randint(1, 2))
            pads = [rng.randint(0, max(0, (k[a] - 1) // 2 if kind == "pool" else k[a] - 1)) for a in (0, 1, 0, 1)]
            ceil = kind == "pool" and rng.random() < 0.4
            outs = [window((h, w)[a], k[a], s[a], d[a], pads[a], pads[a + 2], ceil) for a in (0, 1)]
            if min(outs) < 1 or any(d[a] * (k[a] - 1) + 1 > (h, w)[a] + pads[a] + pads[a + 2] and not ceil
                                    for a in (0, 1)):
                continue
            if kind == "conv":
                groups = rng.choice([g for g in (1, 2, c) if c % g == 0])
                out = groups * rng.randint(1, 4)
                y = name("t")
                nodes.append(helper.make_node("Conv", [x, weight((out, c // groups, *k))], [y], name=name("/conv"),
                                              kernel_shape=list(k), strides=list(s), pads=pads, dilations=list(d),
                                              group=groups))
                x, shape = y, (out, *outs)
            else:
                y = name("t")
                op = rng.choice(["MaxPool", "AveragePool"])
                nodes.append(helper.make_node(op, [x], [y], name=name("/pool"), kernel_shape=list(k), strides=list(s),
                                              pads=pads, ceil_mode=int(ceil)))
                x, shape = y, (c, *outs)
        elif kind == "bn":
            y = name("t")
            nodes.append(helper.make_node("BatchNormalization", [x] + [weight((c,)) for _ in range(4)], [y],
                                          name=name("/bn")))
            x = y
        elif kind == "act":
            y = name("t")
            nodes.append(helper.make_node(rng.choice(["Relu", "Sigmoid", "Tanh"]), [x], [y], name=name("/act")))
            x = y
        else:
            a, b = name("t"), name("u")
            nodes.append(helper.make_node("Relu", [x], [a], name=name("/branch")))
            y = name("v")
            if kind == "add":
                nodes.append(helper.make_node("Add", [x, a], [y], name=name("/add")))
            else:
                nodes.append(helper.make_node("Sigmoid", [x], [b], name=name("/branch")))
                nodes.append(helper.make_node("Concat", [a, b], [y], name=name("/cat"), axis=1))
                shape = (2 * c, h, w)
            x = y
    c = shape[0]
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="/gap"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="/flatten"))
    classes = rng.randint(1, 10)
    nodes.append(helper.make_node("Gemm", ["flat", weight((classes, c)), weight((classes,))], ["y"], name="/fc",
                                  transB=1))
    graph = helper.make_graph(nodes, "random_cnn",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *input_shape])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def seed_models(paths, rng: random.Random, generated: int = 0) -> list:
    """(label, serialized model) of the seed files (unreadable ones are seeds of byte-level mutation only) and of
    `generated` random CNNs."""
    seeds = []
    for path in paths:
        with open(path, "rb") as f:
            seeds.append((os.path.basename(path), f.read()))
    for k in range(generated):
        seeds.append((f"random_cnn_{k}", random_cnn(rng).SerializeToString()))
    return seeds


# ---- structural mutations: each changes a ModelProto in place, or returns False when it does not apply ----------


def _pick_node(model, rng, with_attributes=False):
    nodes = [n for n in model.graph.node if n.attribute or not with_attributes]
    return rng.choice(nodes) if nodes else None


def _hostile_int(rng):
    return rng.choice(HOSTILE_INTS) if rng.random() < 0.7 else rng.randint(-3, 40)


def attribute_value(model, rng) -> bool:
    from onnx import AttributeProto

    node = _pick_node(model, rng, with_attributes=True)
    if node is None:
        return False
    a = rng.choice(node.attribute)
    if a.type == AttributeProto.INT:
        a.i = _hostile_int(rng)
    elif a.type == AttributeProto.INTS:
        values = list(a.ints) or [1]
        if rng.random() < 0.5:
            values[rng.randrange(len(values))] = _hostile_int(rng)
        else:
            values = [_hostile_int(rng) for _ in range(rng.choice([0, 1, 2, 3, 4, 6, 9]))]
        del a.ints[:]
        a.ints.extend(values)
    elif a.type == AttributeProto.FLOAT:
        a.f = rng.choice(HOSTILE_FLOATS)
    elif a.type == AttributeProto.STRING:
        a.s = rng.choice(HOSTILE_STRINGS)
    else:
        return False
    return True


def attribute_type(model, rng) -> bool:
    node = _pick_node(model, rng, with_attributes=True)
    if node is None:
        return False
    rng.choice(node.attribute).type = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 99])
    return True


def attribute_delete(model, rng) -> bool:
    node = _pick_node(model, rng, with_attributes=True)
    if node is None:
        return False
    del node.attribute[rng.randrange(len(node.attribute))]
    return True


def attribute_add(model, rng) -> bool:
    from onnx import helper

    node = _pick_node(model, rng)
    if node is None:
        return False
    name = rng.choice(ATTRIBUTE_NAMES)
    kept = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(kept)
    value = rng.choice([_hostile_int(rng), [_hostile_int(rng) for _ in range(rng.randint(0, 5))],
                        rng.choice(HOSTILE_FLOATS), rng.choice(HOSTILE_STRINGS)])
    node.attribute.append(helper.make_attribute(name, value) if value != [] else helper.make_attribute(
        name, [], attr_type=7))
    return True


def attribute_reference(model, rng) -> bool:
    node = _pick_node(model, rng, with_attributes=True)
    if node is None:
        return False
    rng.choice(node.attribute).ref_attr_name = "outer"
    return True


def input_dims(model, rng) -> bool:
    inputs = list(model.graph.input)
    if not inputs:
        return False
    dims = rng.choice(inputs).type.tensor_type.shape.dim
    choice = rng.random()
    if choice < 0.6 and len(dims):
        dim = dims[rng.randrange(len(dims))]
        if rng.random() < 0.8:
            dim.dim_value = rng.choice([0, 1, 2, 3, 7, 20000, 2**31, 2**40, 2**62]) if rng.random() < 0.9 else -1
        else:
            dim.dim_param = rng.choice(["N", "", "height"])
    elif choice < 0.8 and len(dims):
        del dims[rng.randrange(len(dims))]
    else:
        dims.add().dim_value = rng.choice([1, 3])
    return True


def initializer_dims(model, rng) -> bool:
    inits = list(model.graph.initializer)
    if not inits:
        return False
    init = rng.choice(inits)
    dims = list(init.dims)
    choice = rng.random()
    if choice < 0.6 and dims:
        dims[rng.randrange(len(dims))] = rng.choice([0, 1, 2, 5, 2**31, 2**40, -1])
    elif choice < 0.8:
        dims.append(rng.choice([0, 1, 3]))
    else:
        dims = dims[:-1]
    del init.dims[:]
    init.dims.extend(dims)
    return True


def node_name(model, rng) -> bool:
    node = _pick_node(model, rng)
    if node is None:
        return False
    if rng.random() < 0.3:  # all nodes the same name
        value = rng.choice(HOSTILE_NAMES)
        for n in model.graph.node:
            n.name = value
    else:
        node.name = rng.choice(HOSTILE_NAMES)
    return True


def tensor_rename(model, rng) -> bool:
    node = _pick_node(model, rng)
    if node is None:
        return False
    names = [t for n in model.graph.node for t in (*n.input, *n.output)] + [i.name for i in model.graph.input]
    field = node.input if node.input and rng.random() < 0.7 else node.output
    if not field:
        return False
    field[rng.randrange(len(field))] = rng.choice(names + ["", "missing", "x"])
    return True


def opset(model, rng) -> bool:
    ops = [o for o in model.opset_import if o.domain in ("", "ai.onnx")]
    choice = rng.random()
    if ops and choice < 0.7:
        ops[0].version = rng.choice([0, -1, 1, 6, 9, 11, 13, 99, 2**40, 2**62])
    elif ops and choice < 0.85:
        model.ClearField("opset_import")
    else:
        extra = model.opset_import.add()
        extra.domain, extra.version = rng.choice(["com.microsoft", "ai.onnx.ml", "x"]), rng.choice([1, 99])
    return True


def domain_or_op_type(model, rng) -> bool:
    node = _pick_node(model, rng)
    if node is None:
        return False
    if rng.random() < 0.3:
        node.domain = rng.choice(["com.microsoft", "ai.onnx.ml", "ai.onnx", "x"])
    else:
        node.op_type = rng.choice(OP_TYPES)
    return True


def wiring(model, rng) -> bool:
    """Delete, duplicate or move a node; drop, add or clear the graph's outputs."""
    nodes = model.graph.node
    choice = rng.random()
    if nodes and choice < 0.25:
        del nodes[rng.randrange(len(nodes))]
    elif nodes and choice < 0.4:
        nodes.append(copy.deepcopy(rng.choice(nodes)))
    elif len(nodes) > 1 and choice < 0.55:
        i, j = rng.randrange(len(nodes)), rng.randrange(len(nodes))
        a, b = copy.deepcopy(nodes[i]), copy.deepcopy(nodes[j])
        nodes[i].CopyFrom(b)
        nodes[j].CopyFrom(a)
    elif choice < 0.7:
        model.graph.ClearField("output")
    elif nodes and choice < 0.85:
        out = model.graph.output.add()
        out.name = rng.choice([t for n in nodes for t in n.output] or ["x"])
    else:
        outputs = [t for n in nodes for t in n.output if t]
        if not model.graph.output or not outputs:
            return False
        model.graph.output[0].name = rng.choice(outputs)
    return True


def subgraph(model, rng) -> bool:
    """A graph attribute on a node (If's branches, or any node's), nested a few levels."""
    from onnx import TensorProto, helper

    node = _pick_node(model, rng)
    if node is None:
        return False
    inner = helper.make_graph([helper.make_node("Relu", ["x"], ["z"])], "inner", [],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)])
    for depth in range(rng.randint(0, 6)):
        wrap = helper.make_node("If", ["c"], [f"o{depth}"], then_branch=inner, else_branch=inner)
        inner = helper.make_graph([wrap], f"g{depth}", [], [helper.make_tensor_value_info(f"o{depth}",
                                                                                         TensorProto.FLOAT, None)])
    if rng.random() < 0.5:
        node.op_type = "If"
        node.attribute.append(helper.make_attribute("then_branch", inner))
        node.attribute.append(helper.make_attribute("else_branch", inner))
    else:
        node.attribute.append(helper.make_attribute("body", inner))
    return True


def external_data(model, rng) -> bool:
    from onnx import TensorProto

    inits = list(model.graph.initializer)
    if not inits:
        return False
    init = rng.choice(inits)
    init.ClearField("raw_data")
    init.ClearField("float_data")
    init.data_location = TensorProto.EXTERNAL
    del init.external_data[:]
    for key, value in (("location", rng.choice(["missing.bin", "../../../../etc/passwd", "/dev/zero", "/",
                                                  "a" * 300])),
                       ("offset", str(rng.choice([0, -1, 2**62]))), ("length", str(rng.choice([0, 4, 2**62])))):
        entry = init.external_data.add()
        entry.key, entry.value = key, value
    return True


def data_type(model, rng) -> bool:
    tensors = list(model.graph.initializer) + [v.type.tensor_type for v in model.graph.input]
    if not tensors:
        return False
    t = rng.choice(tensors)
    value = rng.choice([0, 2, 6, 7, 8, 9, 10, 11, 16, 99])
    if hasattr(t, "data_type"):
        t.data_type = value
    else:
        t.elem_type = value
    return True


STRUCTURAL = (attribute_value, attribute_value, attribute_type, attribute_delete, attribute_add, attribute_reference,
              input_dims, input_dims, initializer_dims, node_name, tensor_rename, opset, domain_or_op_type, wiring,
              subgraph, external_data, data_type)


def structural(data: bytes, rng: random.Random):
    """(bytes, names of the mutations) of one to three structural mutations of a model; None when it does not
    parse."""
    import onnx

    try:
        model = onnx.ModelProto.FromString(data)
    except Exception:
        return None
    applied = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        mutation = rng.choice(STRUCTURAL)
        try:
            if mutation(model, rng):
                applied.append(mutation.__name__)
        except (ValueError, TypeError):  # a value protobuf refuses to hold
            continue
    try:
        return model.SerializeToString(), applied
    except Exception:  # a value protobuf refuses to write (a field out of its range)
        return None


def byte_level(data: bytes, rng: random.Random):
    data = bytearray(data)
    applied = []
    for _ in range(rng.randint(1, 4)):
        if not data:
            break
        at = rng.randrange(len(data))
        kind = rng.choice(["flip", "flip", "insert", "delete", "cut"])
        applied.append(kind)
        if kind == "flip":
            data[at] = rng.randrange(256)
        elif kind == "insert":
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif kind == "delete":
            del data[at:at + rng.randint(1, 32)]
        else:
            del data[at:]
    return bytes(data), applied


def mutants(seeds: list, count: int, rng: random.Random, byte_share: float = 0.3):
    """`count` mutants of `seeds` ((label, bytes)): yields (label, bytes, mutations)."""
    made = 0
    while made < count:
        label, data = rng.choice(seeds)
        result = byte_level(data, rng) if rng.random() < byte_share else structural(data, rng)
        if result is None:
            continue
        made += 1
        yield label, result[0], result[1]


# ---- running costcalc on a case, in a worker process ---------------------------------------------------------


def run_command(args: list) -> dict:
    """Run `costcalc ARGS` in this process: exit code, stdout, stderr (click's and whatever a native library
    wrote to file descriptor 2), the exception's traceback if one escaped, seconds."""
    import traceback

    from click.testing import CliRunner

    from costcalc.cli import main

    with tempfile.TemporaryFile() as native:
        saved = os.dup(2)
        os.dup2(native.fileno(), 2)
        start = time.perf_counter()
        try:
            result = CliRunner().invoke(main, args, catch_exceptions=True)
        finally:
            elapsed = time.perf_counter() - start
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        native.seek(0)
        written = native.read().decode("utf-8", "replace")
    exception = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exception = "".join(traceback.format_exception(result.exception))[-3000:]
    return {"code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr + written,
            "exception": exception, "seconds": elapsed}


def check_report(path: str, outcome: dict) -> list:
    """The promises of one `report --format json` run; a list of what broke."""
    broken = _check_exit(path, outcome)
    if outcome["code"] == 0 and not broken:
        try:
            doc = json.loads(outcome["stdout"])
        except ValueError as e:
            return [f"exit 0 with invalid JSON ({e})"]
        for key in COUNT_KEYS:
            total = doc["totals"].get(key)
            if not isinstance(total, int) or total < 0:
                broken.append(f"total {key} is {total!r}")
            elif total != sum(layer[key] for layer in doc["layers"]):
                broken.append(f"total {key} {total} is not the sum of the layers' "
                              f"{sum(layer[key] for layer in doc['layers'])}")
    return broken


def _check_exit(path: str, outcome: dict) -> list:
    if outcome["exception"]:
        return [f"exception:\n{outcome['exception']}"]
    if outcome["code"] not in (0, 2):
        return [f"exit code {outcome['code']}"]
    lines = outcome["stderr"].splitlines()
    if outcome["code"] == 0:
        return [f"exit 0 with stderr {lines[:3]}"] if lines else []
    if len(lines) != 1:
        return [f"exit 2 with {len(lines)} stderr lines: {lines[:3]}"]
    match = LOCATED.match(lines[0])
    if not match or match["file"] != path:
        return [f"not a located error line of the file: {lines[0][:300]!r}"]
    return []


def check_case(path: str, commands: tuple = ("report", "import"), workdir: str | None = None) -> dict:
    """Run the commands on `path` in this process and check their promises: {command: (exit code, seconds,
    [what broke])}. `import` writes its spec beside, then `report` must load it with the ONNX file's totals.
    `measure` runs on any file; `measure?` only when `report` accepted it and it is small (MEASURE_FLOPS)."""
    results = {}
    report_totals = None
    for command in commands:
        if command == "report":
            outcome = run_command(["report", path, "--format", "json"])
            broken = check_report(path, outcome)
            if outcome["code"] == 0 and not broken:
                report_totals = json.loads(outcome["stdout"])["totals"]
        elif command == "import":
            spec = os.path.join(workdir or os.path.dirname(path), os.path.basename(path) + ".yaml")
            outcome = run_command(["import", path, "-o", spec])
            broken = _check_exit(path, outcome)
            if "report" in results and outcome["code"] != results["report"][0]:
                broken.append(f"import exits {outcome['code']} where report exits {results['report'][0]}")
            if outcome["code"] == 0 and not broken:
                loaded = run_command(["report", spec, "--format", "json"])
                problems = check_report(spec, loaded)
                if loaded["code"] != 0 or problems:
                    broken.append(f"the imported spec does not load: {problems or loaded['stderr'][:300]}")
                elif report_totals is not None and json.loads(loaded["stdout"])["totals"] != report_totals:
                    broken.append("the imported spec's totals differ from the ONNX file's")
            if os.path.exists(spec):
                os.remove(spec)
        else:  # measure: one quick run, no profiler; of a model `report` accepts and that is small enough to run
            if command == "measure?" and (report_totals is None or report_totals["flops"] > MEASURE_FLOPS
                                          or report_totals["activations"] > MEASURE_ACTIVATIONS):
                continue
            command = "measure"
            outcome = run_command(["measure", path, "--runs", "1", "--warmup", "0", "--no-profile", "--format",
                                   "json"])
            broken = _check_exit(path, outcome)
        if outcome["seconds"] > TIME_LIMIT:
            broken.append(f"took {outcome['seconds']:.1f} s, more than the limit of {TIME_LIMIT:.0f} s")
        results[command] = (outcome["code"], round(outcome["seconds"], 3), broken)
    return results


def worker() -> None:
    """Read cases (JSON lines: path, commands) on stdin, answer each with its `check_case` result."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    import costcalc.cli  # noqa: F401 - imported before the first case is timed
    import onnx  # noqa: F401
    out = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray writes of native code never reach the answers
    for line in sys.stdin:
        case = json.loads(line)
        try:
            answer = check_case(case["path"], tuple(case["commands"]), case.get("workdir"))
        except BaseException as e:  # noqa: BLE001 - the harness's own failure is a finding too
            answer = {"harness": (-1, 0.0, [f"{type(e).__name__}: {e}"])}
        out.write(json.dumps(answer) + "\n")
        out.flush()


class Worker:
    """A worker process (`worker()`), restarted after a case it does not answer within the time limit."""

    def __init__(self, time_limit: float = TIME_LIMIT):
        self.time_limit = time_limit
        self.process = None

    def start(self) -> None:
        here = os.path.dirname(os.path.abspath(__file__))
        self.process = subprocess.Popen([sys.executable, "-c", "import onnx_fuzz; onnx_fuzz.worker()"], cwd=here,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                            filter(None, (here, os.environ.get("PYTHONPATH"))))})

    def check(self, path: str, commands: tuple, workdir: str) -> dict:
        """The case's results; {"hang": ...} when it took longer than the limit per command, {"crash": ...} when
        the worker died (a signal, the memory cap's abort)."""
        if self.process is None or self.process.poll() is not None:
            self.start()
        self.process.stdin.write(json.dumps({"path": path, "commands": list(commands), "workdir": workdir}) + "\n")
        self.process.stdin.flush()
        limit = self.time_limit * (len(commands) + 1) + 10  # + start-up of a fresh worker
        ready, _, _ = select.select([self.process.stdout], [], [], limit)
        if not ready:
            self.stop()
            return {"hang": (None, limit, [f"no answer within {limit:.0f} s"])}
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            self.process = None
            return {"crash": (code, 0.0, [f"the worker died (exit {code})"])}
        return json.loads(line)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def fuzz(seed_paths, count: int, seed: int = 0, generated: int = 20, measure_every: int = 20, workdir: str = "",
         keep: str | None = None, progress=None) -> dict:
    """Mutate the seeds `count` times and check every mutant: report and import, and measure on every
    `measure_every`-th when report accepts it (0: never). Returns the summary: counts of exit codes per command,
    the failures (the mutant kept under `keep` when given), the slowest command, time."""
    rng = random.Random(seed)
    seeds = seed_models(seed_paths, rng, generated)
    summary = {"mutants": 0, "exits": {}, "failures": [], "slowest": [0.0, None, None], "seconds": 0.0, "seed": seed,
               "seeds": len(seeds)}
    start = time.perf_counter()
    runner = Worker()
    try:
        for k, (label, data, applied) in enumerate(mutants(seeds, count, rng)):
            path = os.path.join(workdir, f"m{k:06d}.onnx")
            with open(path, "wb") as f:
                f.write(data)
            commands = ("report", "import") + (("measure?",) if measure_every and k % measure_every == 0 else ())
            results = runner.check(path, commands, workdir)
            summary["mutants"] += 1
            for command, (code, seconds, broken) in results.items():
                key = f"{command} exit {code}"
                summary["exits"][key] = summary["exits"].get(key, 0) + 1
                if (seconds or 0.0) > summary["slowest"][0]:
                    summary["slowest"] = [seconds, k, command]
                if broken:
                    kept = None
                    if keep:
                        os.makedirs(keep, exist_ok=True)
                        kept = os.path.join(keep, f"{command}_{k:06d}.onnx")
                        with open(kept, "wb") as f:
                            f.write(data)
                    summary["failures"].append({"mutant": k, "seed": label, "mutations": applied,
                                                "command": command, "broken": broken, "kept": kept})
            os.remove(path)
            if progress is not None:
                progress(k + 1, summary)
    finally:
        runner.stop()
    summary["seconds"] = round(time.perf_counter() - start, 1)
    return summary
