"""The calibration's random whole networks, from an image to its classes (never the zoo's): efficient mobile networks
(inverted residuals), residual networks (basic or bottleneck units), and long ones, as long as real models (mobile
networks of five to seven stages, DenseNet-like networks of dense blocks): the family WHOLE, on which
costcalc.latency.calibration fits the context factor and its length term. costcalc.latency.networks sizes them and
adds them to its families."""

from __future__ import annotations

import numpy as np

WHOLE = "networks"  # the family of random whole networks: fits the context factor, not the classes
BN_RELU = ["{op: bn}", "{op: relu}"]
LONG = 12  # long networks of each kind


def long_networks(rng: np.random.Generator, add) -> None:
    """Add (`add(name, input_shape, unit, layers)`) random whole networks as long as real models: the calibration's
    other whole networks have 14 to some 220 planned kernels (53 the median), the zoo's and the models outside it
    33 to 410 (127). LONG mobile networks of five to seven stages of four to eight units (squeeze-excitation in half
    of the units) and LONG DenseNet-like ones (three or four dense blocks of 6 to 16 layers): seed 0's have 125 to
    370 kernels, on small images so that each runs in milliseconds."""
    for i in range(LONG):
        add(f"net_long{i}", *random_whole(rng, stages=(5, 8), units=(4, 9), se=0.5, sizes=(64, 96, 128)))
    for i in range(LONG):
        add(f"net_dense{i}", *random_dense(rng))


def random_dense(rng: np.random.Generator) -> tuple:
    """A random DenseNet-like network (none of the zoo's): a stride-2 stem and a max pool, dense blocks of
    pre-activation layers (batchnorm, ReLU, 1x1 conv to 4 x growth, batchnorm, ReLU, 3x3 conv to growth, the
    result concatenated to the block's input), transitions (batchnorm, ReLU, 1x1 conv halving the channels, 2x2
    average pool) between them, global pooling and an fc: (input shape, [], layers)."""
    size = int(rng.choice([64, 96, 128]))
    growth = int(rng.choice([12, 16, 24, 32]))
    c = 2 * growth
    layers = [f"{{op: conv, out: {c}, k: 3, stride: 2, pad: 1}}", *BN_RELU, "{op: maxpool, k: 3, stride: 2, pad: 1}"]
    blocks = int(rng.integers(3, 5))
    for block in range(blocks):
        for i in range(int(rng.integers(6, 17))):
            name = f"b{block}l{i}"
            layers += [f"{{name: {name}_in, op: identity}}", *BN_RELU, f"{{op: conv, out: {4 * growth}, k: 1}}",
                       *BN_RELU, f"{{name: {name}_new, op: conv, out: {growth}, k: 3, pad: 1}}",
                       f"{{op: concat, from: [{name}_in, {name}_new]}}"]
            c += growth
        if block < blocks - 1:
            c //= 2
            layers += [*BN_RELU, f"{{op: conv, out: {c}, k: 1}}", "{op: avgpool, k: 2, stride: 2}"]
    layers += [*BN_RELU, "{op: gap}", "{op: flatten}", "{op: fc, out: 1000, bias: true}"]
    return (3, size, size), [], layers


def random_whole(rng: np.random.Generator, stages=(3, 6), units=(1, 4), se: float = 0.3,
                 sizes=(96, 128, 160, 224)) -> tuple:
    """A small random network from image to classes, as efficient CNNs are built (none of the zoo's): a stride-2
    stem, stages of inverted-residual or plain units whose width, expansion, kernel, stride, activation and
    squeeze-excitation are drawn, a 1x1 conv, global pooling and an fc: (input shape, [], layers)."""
    size = int(rng.choice(sizes))
    c = int(rng.choice([8, 16, 24, 32]))
    layers = [f"{{op: conv, out: {c}, k: 3, stride: 2, pad: 1}}", *BN_RELU]
    act = str(rng.choice(["relu", "relu6", "swish", "hardswish"]))
    for stage in range(int(rng.integers(*stages))):
        out = int(min(640, c * rng.choice([1, 1.5, 2]) // 4 * 4 or 4))
        for unit in range(int(rng.integers(*units))):
            stride = 2 if unit == 0 and stage > 0 else 1
            k = int(rng.choice([3, 5]))
            mid = c * int(rng.choice([1, 3, 4, 6]))
            name = f"s{stage}u{unit}"
            body = [f"{{name: {name}_in, op: identity}}"] if stride == 1 and out == c else []
            body += [f"{{op: conv, out: {mid}, k: 1}}", "{op: bn}", f"{{op: {act}}}",
                     f"{{op: conv, out: {mid}, k: {k}, stride: {stride}, pad: {k // 2}, groups: {mid}}}", "{op: bn}",
                     f"{{name: {name}_dw, op: {act}}}"]
            if rng.random() < se:
                body += [f"{{op: gap}}", f"{{op: conv, out: {max(8, mid // 4)}, k: 1, bias: true}}", "{op: relu}",
                         f"{{op: conv, out: {mid}, k: 1, bias: true}}", "{name: %s_gate, op: sigmoid}" % name,
                         f"{{op: mul, from: [{name}_dw, {name}_gate]}}"]
            body += [f"{{op: conv, out: {out}, k: 1}}", f"{{name: {name}_out, op: bn}}"]
            if stride == 1 and out == c:
                body.append(f"{{op: add, from: [{name}_out, {name}_in]}}")
            layers += body
            c = out
    layers += [f"{{op: conv, out: {int(rng.choice([512, 1024, 1280]))}, k: 1}}", *BN_RELU, "{op: gap}",
               "{op: flatten}", "{op: fc, out: 1000, bias: true}"]
    return (3, size, size), [], layers


def random_residual(rng: np.random.Generator) -> tuple:
    """A small random residual network (none of the zoo's): a 7x7 or 3x3 stem, stages of basic (two 3x3 convs) or
    bottleneck (1x1, 3x3 with groups drawn, 1x1) units with a projection where the shape changes, squeeze-excitation
    drawn, global pooling and an fc: (input shape, [], layers)."""
    size = int(rng.choice([64, 96, 128]))
    c = int(rng.choice([16, 24, 32, 48]))
    stem = int(rng.choice([3, 7]))
    layers = [f"{{op: conv, out: {c}, k: {stem}, stride: 2, pad: {stem // 2}}}", *BN_RELU]
    bottleneck = rng.random() < 0.5
    groups = int(rng.choice([1, 1, 2, 4, 8]))
    for stage in range(int(rng.integers(2, 5))):
        out = c * 2 if stage else c * (4 if bottleneck else 1)
        for unit in range(int(rng.integers(1, 3))):
            stride = 2 if unit == 0 and stage > 0 else 1
            name = f"s{stage}u{unit}"
            mid = max(groups * 8, out // 4 // groups * groups) if bottleneck else out
            layers.append(f"{{name: {name}_in, op: identity}}")
            if bottleneck:
                body = [f"{{op: conv, out: {mid}, k: 1}}", *BN_RELU,
                        f"{{op: conv, out: {mid}, k: 3, stride: {stride}, pad: 1, groups: {groups}}}", *BN_RELU,
                        f"{{op: conv, out: {out}, k: 1}}"]
            else:
                body = [f"{{op: conv, out: {out}, k: 3, stride: {stride}, pad: 1}}", *BN_RELU,
                        f"{{op: conv, out: {out}, k: 3, pad: 1}}"]
            layers += body + [f"{{name: {name}_out, op: bn}}"]
            short = f"{name}_in"
            if stride != 1 or out != c:
                layers += [f"{{op: conv, out: {out}, k: 1, stride: {stride}, from: {name}_in}}",
                           f"{{name: {name}_proj, op: bn}}"]
                short = f"{name}_proj"
            layers += [f"{{op: add, from: [{name}_out, {short}]}}", "{op: relu}"]
            c = out
    layers += ["{op: gap}", "{op: flatten}", "{op: fc, out: 1000, bias: true}"]
    return (3, size, size), [], layers
