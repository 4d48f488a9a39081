"""The calibration's synthetic networks (never the zoo's): one family per op class in the shapes real networks use,
each network one unit repeated to run about TARGET_S, and random whole networks (WHOLE) for the context factor.
See costcalc.latency.calibration for how they are measured and fitted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from costcalc.latency.profile import uniform
from costcalc.latency.token_networks import random_hybrid, token_families
from costcalc.latency.whole_networks import BN_RELU, WHOLE, long_networks, random_residual, random_whole

TARGET_S = 2e-3  # each network's time, on the first-guess device below
GUESS = uniform(3e10, 6e9, 8e-6)  # FLOPs/s, bytes/s, s per kernel: only to size the networks
MAX_REPEAT = 24
MAX_ONE_S = 4 * TARGET_S
WHOLE_LIMIT = 10 * MAX_ONE_S  # a random whole network longer than this on GUESS is left out (none of seed 0's is)
LONG_LIMIT = 4 * WHOLE_LIMIT  # the same for the long ones (whole_networks.long_networks; none of seed 0's is)


@dataclass(frozen=True)
class Network:
    name: str
    family: str
    text: str  # the spec, as YAML


def _spec(name: str, input_shape, unit: list, head: list = (), tail: list = (), repeat: int = 1) -> str:
    lines = [f"name: {name}", f"input: [{', '.join(str(d) for d in input_shape)}]"]
    if unit:
        lines += ["blocks:", "  unit:", "    layers:"] + [f"      - {layer}" for layer in unit]
    lines.append("layers:")
    lines += [f"  - {layer}" for layer in head]
    if unit:
        lines.append(f"  - {{name: u, block: unit, repeat: {repeat}}}")
    lines += [f"  - {layer}" for layer in tail]
    return "\n".join(lines) + "\n"


def _sized(name: str, family: str, input_shape, unit: list, head: list = (), tail: list = (), limit=MAX_ONE_S,
           batch: int = 1):
    """The network with the unit repeated so that it runs about TARGET_S on GUESS at `batch` (the calibration's);
    None when even one unit is far longer at batch 1 (it would spend the budget on few shapes): the same networks
    at every batch, a unit repeated fewer times at a larger one."""
    from costcalc.latency.model import estimate

    one = estimate(build(_spec(name, input_shape, unit, head, tail, 1)), GUESS).total_s
    if one > limit:
        return None
    if batch > 1:
        one = estimate(build(_spec(name, input_shape, unit, head, tail, 1), batch=batch), GUESS).total_s
    repeat = int(min(MAX_REPEAT, max(1, round(TARGET_S / max(one, 1e-9)))))
    return Network(name, family, _spec(name, input_shape, unit, head, tail, repeat))


def repeat_of(text: str) -> int:
    """How many times a network's unit repeats (1 without a unit): with the name, what identifies a measured
    network when the sizing estimate has changed since (scripts/latency_refit.py)."""
    found = re.search(r"block: unit, repeat: (\d+)\}", text)
    return int(found.group(1)) if found else 1


def with_repeat(text: str, repeat: int) -> str:
    """The network's text with its unit repeated `repeat` times."""
    return re.sub(r"(block: unit, repeat: )\d+\}", lambda m: f"{m.group(1)}{repeat}}}", text)


def build(text: str, name: str = "calibration.yaml", batch: int = 1):
    """The walked graph of a spec text, at `batch`."""
    from costcalc.graph import build as walk
    from costcalc.spec.loader import load_text
    from costcalc.spec.reader import spec_from_document

    return walk(spec_from_document(name, load_text(text, name)), batch=batch)


def _conv(out, k, groups=1, extra=BN_RELU) -> list:
    pad = k // 2
    return [f"{{op: conv, out: {out}, k: {k}, pad: {pad}, groups: {groups}}}", *extra]


def families(rng: np.random.Generator, batch: int = 1) -> dict:
    """family -> list of Networks, each list in a shuffled order; each network sized at `batch`."""
    out: dict = {}

    def add(family, name, *args, **kwargs):
        network = _sized(name, family, *args, batch=batch, **kwargs)
        if network is not None:
            out.setdefault(family, []).append(network)

    sizes = (112, 56, 28, 14, 7)
    blocked = (16, 32, 64, 128, 256, 512)
    plain = (12, 20, 36, 58, 100, 116, 122, 244)
    for c in blocked + plain:
        for hw in sizes:
            if c * hw * hw > 4_000_000 or c * hw * hw < 2000:
                continue
            add("dense", f"dense_c{c}_hw{hw}", (c, hw, hw), _conv(c, 3))
            add("pointwise", f"pw_c{c}_hw{hw}", (c, hw, hw), _conv(c, 1))
            for ratio in (2, 4, 6):
                if c * ratio <= 2048 and rng.random() < 0.5:
                    add("pointwise", f"pw_c{c}x{ratio}_hw{hw}", (c, hw, hw), _conv(c * ratio, 1) + _conv(c, 1))
            for k in (3, 5):
                add("depthwise", f"dw{k}_c{c}_hw{hw}", (c, hw, hw), _conv(c, k, c))
    for c in (16, 24, 32, 64, 96, 144, 240, 384, 576, 58, 116):  # stride 2: one layer, as in downsampling units
        for hw in (112, 56, 28, 14):
            if 2000 <= c * hw * hw <= 2_500_000:
                for k in (3, 5):
                    add("depthwise", f"dw{k}s2_c{c}_hw{hw}", (c, hw, hw), [],
                        [f"{{op: conv, out: {c}, k: {k}, stride: 2, pad: {k // 2}, groups: {c}}}", *BN_RELU])
                add("dense", f"dense_s2_c{c}_hw{hw}", (c, hw, hw), [],
                    [f"{{op: conv, out: {2 * c}, k: 3, stride: 2, pad: 1}}", *BN_RELU])
    for c in (64, 128, 256, 512, 1024):
        for hw in (56, 28, 14, 7):
            if c * hw * hw > 2_500_000:
                continue
            for g in (2, 4, 8, 16, 32, 64):
                if c // g >= 2:
                    add("grouped", f"g{g}_c{c}_hw{hw}", (c, hw, hw), _conv(c, 3, g))
    for c in (48, 60, 96, 120, 240, 480, 960):  # 1x1 grouped convs, as ShuffleNet V1's and CondenseNet's
        for hw in (56, 28, 14, 7):
            if c * hw * hw > 1_600_000:
                continue
            for g in (2, 3, 4, 8):
                if c % g == 0:
                    add("grouped", f"pwg{g}_c{c}_hw{hw}", (c, hw, hw), _conv(c, 1, g, ["{op: bn}"]))
                    for ratio in (4, 8):  # channels narrowed and widened again, each group's slice of them
                        if (c // ratio) % g == 0 and rng.random() < 0.5:
                            add("grouped", f"pwg{g}_c{c}r{ratio}_hw{hw}", (c, hw, hw),
                                _conv(c // ratio, 1, g, ["{op: bn}"]) + _conv(c, 1, g, ["{op: bn}"]))
    for narrow, hw in ((8, 112), (16, 56), (32, 28), (64, 14), (128, 7), (16, 112), (32, 56), (64, 28)):
        for g in (2, 4):  # 3x3 grouped convs narrowing the channels 4:1, as CondenseNet's, and widening them back
            add("grouped", f"g{g}_c{4 * narrow}to{narrow}_hw{hw}", (4 * narrow, hw, hw),
                _conv(narrow, 3, g) + _conv(4 * narrow, 1, g))
    tiny = {"relu": "{op: relu}", "sigmoid": "{op: sigmoid}", "maxpool": "{op: maxpool, k: 3, stride: 1, pad: 1}",
            "shuffle": "{op: shuffle, groups: 2}", "pw": _conv(8, 1, 1, [])[0], "dense": _conv(8, 3, 1, [])[0],
            "dw": _conv(8, 3, 8, [])[0], "select": "{op: select, out: 8}", "add": "{op: add, from: [input, input]}"}
    for label, op in tiny.items():
        for c, hw in ((8, 4), (16, 8)):  # tiny kernels: the time is the runtime's per-kernel overhead
            add("overhead", f"tiny_{label}_c{c}_hw{hw}", (c, hw, hw), [op.replace("out: 8", f"out: {c}")
                                                                       .replace("groups: 8", f"groups: {c}")])
    for c in (16, 24, 32, 64):  # the first conv: a few-channel image, stride 2
        for k in (3, 7):
            add("dense", f"stem{k}_c{c}", (3, 224, 224), [], [f"{{op: conv, out: {c}, k: {k}, stride: 2, "
                                                               f"pad: {k // 2}}}", *BN_RELU])
    for f in (128, 256, 512, 768, 1024, 1280, 1536, 2048, 4096):
        for out_f in (f, 1000, 10):
            add("fc", f"fc_{f}_{out_f}", (f,), [f"{{op: fc, out: {f}}}"] if out_f == f else [],
                tail=[f"{{op: fc, out: {out_f}}}"] if out_f != f else [])
    for f, out_f in ((4096, 4096), (6144, 4096), (8192, 4096), (12288, 2048)):  # weights of 64 to 128 MB, beyond
        add("fc", f"fc_big_{f}_{out_f}", (f,), [], tail=[f"{{op: fc, out: {out_f}}}"], limit=8 * MAX_ONE_S)  # a cache
    elementwise_ops = ("relu", "relu6", "sigmoid", "swish", "hardswish", "tanh", "leaky_relu", "hardsigmoid", "bn",
                       "{op: scale, factor: 0.5}", "gelu", "{op: gelu, approximate: tanh}", "mish", "layernorm",
                       "{op: groupnorm, groups: 2}", "layer_scale", "hardtanh")
    for c, hw in ((16, 112), (32, 56), (64, 56), (128, 28), (256, 14), (512, 7), (58, 28), (116, 14)):
        for op in elementwise_ops:
            entry = op if op.startswith("{") else f"{{op: {op}}}"
            label = ("_".join(part.split(":")[-1].strip(" }") for part in op.split(",")) if op.startswith("{")
                     else op)
            add("elementwise", f"ew_{label}_c{c}_hw{hw}", (c, hw, hw), [entry])
        add("elementwise", f"ew_add_c{c}_hw{hw}", (c, hw, hw), ["{name: r, op: relu}", "{op: add, from: [r, input]}"])
        add("elementwise", f"ew_mul_c{c}_hw{hw}", (c, hw, hw), ["{name: r, op: relu}", "{op: mul, from: [r, input]}"])
        add("elementwise", f"ew_se_c{c}_hw{hw}", (c, hw, hw),
            ["{name: g, op: gap, from: input}", "{name: s, op: sigmoid}", "{op: mul, from: [input, s]}"])
        for op in ("maxpool", "avgpool"):
            add("pooling", f"{op}_c{c}_hw{hw}", (c, hw, hw), [f"{{op: {op}, k: 3, stride: 1, pad: 1}}"])
        add("pooling", f"gap_c{c}_hw{hw}", (c, hw, hw), [], tail=["{op: gap}"])
        add("pooling", f"mean_c{c}_hw{hw}", (c, hw, hw), [], tail=["{op: mean}"])
        half = c // 2
        add("data_movement", f"shuffle_c{c}_hw{hw}", (c, hw, hw), ["{op: shuffle, groups: 2}"])
        if c % 4 == 0 and c != 16:  # four groups, as CondenseNet's; not 4 groups of 4, a shuffle that undoes itself:
            # onnxruntime cancels each two in a row (shuffle4_c16_hw112: 7 shuffles exported, 1 Transpose run)
            add("data_movement", f"shuffle4_c{c}_hw{hw}", (c, hw, hw), ["{op: shuffle, groups: 4}"])
        add("data_movement", f"split_c{c}_hw{hw}", (c, hw, hw),
            [f"{{name: s, op: split, sizes: [{half}, {c - half}]}}", "{name: r, op: relu, from: s.1}",
             "{op: concat, from: [s.0, r]}"])
        add("data_movement", f"select_c{c}_hw{hw}", (c, hw, hw), [f"{{op: select, out: {c}}}"])
        add("data_movement", f"reorder_c{c}_hw{hw}", (c, hw, hw),
            [*_conv(c, 1, 1, ["{op: relu}"]), "{op: shuffle, groups: 2}"])
        add("data_movement", f"concat_c{c}_hw{hw}", (c, hw, hw),
            ["{name: a, op: relu}", f"{{op: conv, out: {c}, k: 1, from: input}}", "{name: b, op: relu}",
             "{name: cat, op: concat, from: [a, b]}", f"{{op: conv, out: {c}, k: 1}}"])
        add("branches", f"dense_layer_c{c}_hw{hw}", (c, hw, hw),
            ["{op: bn}", "{op: relu}", "{op: conv, out: 128, k: 1}", "{op: bn}", "{op: relu}",
             "{name: g, op: conv, out: 32, k: 3, pad: 1}", "{op: concat, from: [input, g]}"])
    for c, hw in ((32, 56), (64, 28), (128, 28), (116, 14), (240, 14), (232, 7)):
        for n in (1, 2, 4):
            width = c // n // 8 * 8 or c // n
            branches = [f"{{name: b{i}, op: conv, out: {width}, k: 1, from: input}}" for i in range(n)]
            cat = f"{{op: concat, from: [{', '.join(f'b{i}' for i in range(n))}]}}"
            add("branches", f"parallel{n}_c{c}_hw{hw}", (width * n, hw, hw),
                branches + [cat] if n > 1 else branches[:1])
            add("branches", f"series{n}_c{c}_hw{hw}", (c, hw, hw), [f"{{op: conv, out: {c}, k: 1}}"] * n)
        add("branches", f"residual_c{c}_hw{hw}", (c, hw, hw),
            ["{name: a, op: conv, out: %d, k: 1}" % c, "{op: bn}", "{op: relu}", "{op: conv, out: %d, k: 3, pad: 1}" % c,
             "{name: b, op: bn}", "{op: add, from: [b, input]}", "{op: relu}"], head=[f"{{op: conv, out: {c}, k: 1}}"])
        add("branches", f"preact_c{c}_hw{hw}", (c, hw, hw),
            ["{op: bn}", "{op: relu}", "{op: conv, out: %d, k: 3, pad: 1}" % c])
        add("branches", f"unit_v2_c{c}_hw{hw}", (c, hw, hw),
            ["{name: s, op: split, parts: 2}", "{op: conv, out: %d, k: 1, from: s.1}" % (c // 2), "{op: bn}",
             "{op: relu}", "{op: conv, out: %d, k: 3, pad: 1, groups: %d}" % (c // 2, c // 2), "{op: bn}",
             "{op: conv, out: %d, k: 1}" % (c // 2), "{op: bn}", "{name: r, op: relu}",
             "{name: cat, op: concat, from: [s.0, r]}", "{op: shuffle, groups: 2}"])
    for i in range(40):
        add("mixed", f"mixed{i}", *_random_network(rng))
    for i in range(48):
        add(WHOLE, f"net{i}", *random_whole(rng), limit=WHOLE_LIMIT)
    for i in range(24):
        add(WHOLE, f"net_res{i}", *random_residual(rng), limit=WHOLE_LIMIT)
    token_families(rng, add)
    for i in range(32):
        add(WHOLE, f"net_hybrid{i}", *random_hybrid(rng), limit=WHOLE_LIMIT)
    resize_family(add)
    fused_hardswish_family(add)
    reduce_family(add)
    for family in out.values():
        rng.shuffle(family)
    long_networks(rng, lambda name, *args: add(WHOLE, name, *args, limit=LONG_LIMIT))  # after: the rest as before
    return out


def resize_family(add) -> None:
    """Resizes (nearest and bilinear) by 2, 4 and 8 of maps of 8 to 256 channels, as decoders and segmentation heads
    upsample (outputs of 25 thousand to 6 million elements); a conv before each so that its input is a kernel's
    output."""
    for c, hw in ((8, 28), (16, 56), (21, 65), (24, 28), (32, 14), (64, 28), (96, 7), (128, 14), (256, 7)):
        for scale in (2, 4, 8):
            if c * (hw * scale) ** 2 > 6_000_000:
                continue
            for mode in ("nearest", "bilinear"):
                add("resize", f"resize_{mode}{scale}_c{c}_hw{hw}", (c, hw, hw), [],
                    [f"{{op: conv, out: {c}, k: 1}}", f"{{op: resize, scale: {scale}, mode: {mode}}}"])


def fused_hardswish_family(add) -> None:
    """Blocked pointwise and depthwise convs with a hardswish inside (as MobileNetV3's and the random whole networks'
    hardswish units): the pass over the output it adds (costcalc.latency.plan, conv+activation). No draws, and a
    family of its own, shuffled last: the other families keep their order (the drift check's reference networks
    are the first whole networks, costcalc.latency.drift)."""
    for c, hw in ((16, 112), (16, 56), (32, 56), (64, 28), (128, 14), (256, 7), (96, 28), (48, 56)):
        act = ["{op: bn}", "{op: hardswish}"]
        add("fused", f"hswish_pw_c{c}_hw{hw}", (c, hw, hw), _conv(2 * c, 1, 1, act) + _conv(c, 1, 1, act))
        add("fused", f"hswish_dw_c{c}_hw{hw}", (c, hw, hw), _conv(c, 3, c, act))


def reduce_family(add) -> None:
    """Reductions that onnxruntime runs in its generic loop (class reduce, costcalc.latency.rows.reduce_rows), each
    added back to its input so that the unit repeats: a sum over two branches (SKResNet's, axis 1 of 2 x C x H x W),
    an L2 norm over a map (ConvNeXt-V2's GRN), a mean over the channels; and a sum over a map, which runs vectorised
    (element-wise). No draws, a family of its own, last (as fused_hardswish_family)."""
    for c, hw in ((32, 56), (64, 56), (128, 28), (256, 14), (512, 7), (96, 28)):
        add("reduce", f"red_branches_c{c}_hw{hw}", (2, c, hw, hw),
            ["{name: s, op: reduce_sum, axes: [1], keepdims: true}", "{op: add, from: [input, s]}"])
        for kind, axes in (("l2", "[2, 3]"), ("mean", "[1]"), ("sum", "[2, 3]")):
            add("reduce", f"red_{kind}_{'map' if ',' in axes else 'channels'}_c{c}_hw{hw}", (c, hw, hw),
                [f"{{name: s, op: reduce_{kind}, axes: {axes}, keepdims: true}}", "{op: mul, from: [input, s]}"])


def _random_network(rng: np.random.Generator) -> tuple:
    """A small random chain of convs of every kind, element-wise ops and pooling: (input shape, unit)."""
    c = int(rng.choice([16, 24, 32, 40, 48, 58, 64, 96, 116, 128, 160, 256]))
    hw = int(rng.choice([56, 28, 14]))
    unit = []
    for _ in range(int(rng.integers(2, 6))):
        kind = rng.choice(["pw", "dense", "dw", "group", "ew", "pool"])
        if kind == "pw":
            unit += _conv(c, 1, 1, ["{op: bn}"] + (["{op: relu6}"] if rng.random() < 0.5 else []))
        elif kind == "dense":
            unit += _conv(c, 3)
        elif kind == "dw":
            unit += _conv(c, int(rng.choice([3, 5])), c)
        elif kind == "group" and c % 4 == 0:
            unit += _conv(c, 3, int(rng.choice([2, 4])))
        elif kind == "ew":
            unit.append(f"{{op: {rng.choice(['swish', 'sigmoid', 'hardswish', 'relu'])}}}")
        else:
            unit.append("{op: maxpool, k: 3, stride: 1, pad: 1}")
    return (c, hw, hw), unit


def kind(name: str) -> str:
    """A network's kind, its name up to the first digit (dw, pwg, bntok_n, ew_relu_c, net_res, ...): one sweep
    of one unit over shapes."""
    return re.match(r"[^0-9]*", name).group(0).rstrip("_")


@lru_cache(maxsize=4)
def _families_of_seed(seed: int, batch: int) -> tuple:
    return tuple((family, tuple(networks)) for family, networks in families(np.random.default_rng(seed), batch).items())


def of_seed(seed: int = 0, batch: int = 1) -> dict:
    """families() of np.random.default_rng(seed), generated once in a process (sizing a network builds and plans
    it: seconds for them all), which calibrate and the drift check's reference networks both ask for."""
    return {family: list(networks) for family, networks in _families_of_seed(seed, batch)}


def interleaved(rng: np.random.Generator | int, batch: int = 1) -> list:
    """Every network of families(rng, batch), in the order interleave() gives; `rng` an int: the networks of that
    seed, generated once in a process (of_seed)."""
    return interleave(of_seed(rng, batch) if isinstance(rng, int) else families(rng, batch))


def interleave(fams: dict) -> list:
    """The networks of `fams`, families taking turns and, within a family, its kinds taking turns, each kind in the
    family's shuffled order: any prefix covers every family and, as far as it goes, every kind of unit in it.
    (Families alone taking turns left whole kinds out of a short calibration: at batch 8 the 240 s measured 486 of
    1,620 networks, 34 of the 365 token units and no batchnorm on tokens among them, whose fitted time per row came
    out 55 times the batch-1 fit's: LeViT-128S +37 %.)"""
    fams = [_kinds_in_turn(f) for f in fams.values()]
    order = []
    for i in range(max(len(f) for f in fams)):
        order += [f[i] for f in fams if i < len(f)]
    return order


def _kinds_in_turn(networks: list) -> list:
    by_kind: dict = {}
    for network in networks:
        by_kind.setdefault(kind(network.name), []).append(network)
    lists = list(by_kind.values())
    return [f[i] for i in range(max(len(f) for f in lists)) for f in lists if i < len(f)]
