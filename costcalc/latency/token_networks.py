"""The calibration's networks on tokens (never the zoo's): units of the kernels onnxruntime runs for attention
(token GEMMs, batched MatMuls, Softmax, LayerNormalization on tokens, Transposes that keep or move the innermost
axis, Reshapes), whole transformer layers of drawn widths, heads, token counts and attention kinds, and random
hybrid whole networks (a conv stem and inverted-residual stages, then stages of transformer layers over tokens
made by unfolding patches or by flattening the map, a head). costcalc.latency.networks adds them to its
families; costcalc.latency.calibration measures and fits them with the rest."""

from __future__ import annotations

import numpy as np

TOKENS = "tokens"  # the family of units of one token kernel class
ATTENTION = "attention"  # the family of whole transformer layers, repeated


def transformer(p: str, x: str, dim: int, heads: int, tokens: int, seqs: int = 0, mlp: int = 2, act: str = "gelu",
                kind: str = "softmax", bias: bool = True) -> list:
    """The layers of one pre-norm transformer layer (attention, MLP, residual adds) on `x`, a tensor of
    [seqs x] tokens x dim, each name prefixed with `p`. `kind`: softmax attention (q scaled, q k^T, softmax, attn
    v) or linear attention (ReLU on q and k, k^T v first, then q (k^T v), as EfficientViT's)."""
    dh = dim // heads
    lead = [seqs] if seqs else []
    s = 1 if seqs else 0  # the seqs axis shifts every later axis by one
    if seqs:
        split_perm, merge_perm = [0, 3, 1, 4, 2, 5], [0, 1, 2, 4, 3, 5]
    else:
        split_perm, merge_perm = [0, 2, 3, 1, 4], [0, 1, 3, 2, 4]
    rank = 5 + s  # 3, [seqs,] heads, tokens, dh after the batch
    swap = list(range(rank - 2)) + [rank - 1, rank - 2]
    b = "true" if bias else "false"
    layers = [f"{{name: {p}norm1, op: layernorm, axis: -1, from: {x}}}",
              f"{{name: {p}qkv, op: fc, out: {3 * dim}, bias: {b}}}",
              f"{{name: {p}unflatten, op: reshape, shape: {lead + [tokens, 3, heads, dh]}}}",
              f"{{name: {p}heads, op: permute, perm: {split_perm}}}",
              f"{{name: {p}unbind, op: split, axis: 1, parts: 3}}"]
    if kind == "softmax":
        layers += [f"{{name: {p}q, op: mul, value: {dh ** -0.5:.6g}, from: {p}unbind.0}}",
                   f"{{name: {p}k_t, op: permute, perm: {swap}, from: {p}unbind.1}}",
                   f"{{name: {p}scores, op: matmul, from: [{p}q, {p}k_t]}}",
                   f"{{name: {p}softmax, op: softmax, axis: -1}}",
                   f"{{name: {p}context, op: matmul, from: [{p}softmax, {p}unbind.2]}}"]
    else:
        layers += [f"{{name: {p}q, op: relu, from: {p}unbind.0}}",
                   f"{{name: {p}k, op: relu, from: {p}unbind.1}}",
                   f"{{name: {p}k_t, op: permute, perm: {swap}}}",
                   f"{{name: {p}kv, op: matmul, from: [{p}k_t, {p}unbind.2]}}",
                   f"{{name: {p}context, op: matmul, from: [{p}q, {p}kv]}}"]
    layers += [f"{{name: {p}merge, op: permute, perm: {merge_perm}}}",
               f"{{name: {p}flat, op: reshape, shape: {lead + [tokens, dim]}}}",
               f"{{name: {p}proj, op: fc, out: {dim}, bias: {b}}}",
               f"{{name: {p}add, op: add, from: [{p}proj, {x}]}}",
               f"{{name: {p}norm2, op: layernorm, axis: -1}}",
               f"{{name: {p}fc1, op: fc, out: {dim * mlp}, bias: {b}}}",
               f"{{name: {p}act, op: {act}}}",
               f"{{name: {p}fc2, op: fc, out: {dim}, bias: {b}}}",
               f"{{name: {p}out, op: add, from: [{p}fc2, {p}add]}}"]
    return layers


def token_families(rng: np.random.Generator, add) -> None:
    """Add (through `add(family, name, input_shape, unit, head=(), tail=())`) the token units and attention
    layers."""
    for n in (16, 49, 64, 196, 256, 784, 1024, 3136):
        for d in (32, 48, 64, 96, 128, 192, 256, 384, 512, 768):
            if not 2_000 <= n * d <= 1_200_000:
                continue
            r = int(rng.choice([1, 2, 3, 4]))
            bias = "true" if rng.random() < 0.7 else "false"
            add(TOKENS, f"gemm_n{n}_d{d}x{r}_{bias}", (n, d),
                [f"{{op: fc, out: {d * r}, bias: {bias}}}", f"{{op: fc, out: {d}, bias: {bias}}}"])
            draw = rng.random(4)
            if draw[0] < 0.5:
                add(TOKENS, f"ln_n{n}_d{d}", (n, d), ["{op: layernorm, axis: -1}"])
            if draw[1] < 0.5:
                add(TOKENS, f"tr_n{n}_d{d}", (n, d), ["{op: permute, perm: [0, 2, 1]}", "{op: layernorm, axis: -1}"])
            if draw[2] < 0.3:
                add(TOKENS, f"view_n{n}_d{d}", (n, d), [f"{{op: reshape, shape: [{d}, {n}]}}",
                                                      f"{{op: reshape, shape: [{n}, {d}]}}", "{op: relu}"])
            if draw[3] < 0.3:
                act = str(rng.choice(["gelu", "swish"]))
                add(TOKENS, f"{act}_n{n}_d{d}", (n, d), [f"{{op: {act}}}"])
    softmaxes: set = set()
    for n in (16, 49, 64, 144, 196, 256, 576, 1024):
        for heads, dh in ((1, 32), (2, 32), (3, 32), (4, 16), (4, 32), (4, 64), (6, 64), (8, 32), (12, 64)):
            if not 2_000 <= heads * n * n <= 3_000_000:
                continue
            shape = (heads, n, dh)
            draw = rng.random(4)
            if draw[0] < 0.5 and f"softmax_h{heads}_n{n}" not in softmaxes:  # the same for every head width
                softmaxes.add(f"softmax_h{heads}_n{n}")
                add(TOKENS, f"softmax_h{heads}_n{n}", (heads, n, n), ["{op: softmax, axis: -1}"])
            if draw[1] < 0.5:
                add(TOKENS, f"mm_h{heads}_n{n}_dh{dh}", shape,
                    ["{name: t, op: permute, perm: [0, 1, 3, 2]}", "{name: s, op: matmul, from: [input, t]}",
                     "{op: matmul, from: [s, input]}"])
            if draw[2] < 0.5:
                add(TOKENS, f"mmscale_h{heads}_n{n}_dh{dh}", shape,
                    ["{name: t, op: permute, perm: [0, 1, 3, 2]}", "{name: q, op: mul, value: 0.125, from: input}",
                     "{name: s, op: matmul, from: [q, t]}", "{name: a, op: softmax, axis: -1}",
                     "{op: matmul, from: [a, input]}"])
            if draw[3] < 0.4:
                add(TOKENS, f"trk_h{heads}_n{n}_dh{dh}", shape,
                    ["{op: permute, perm: [0, 2, 1, 3]}", "{op: layernorm, axis: -1}"])
    for i in range(48):
        d = int(rng.choice([32, 48, 64, 96, 128, 192, 256, 384]))
        heads = int(rng.choice([h for h in (1, 2, 4, 6, 8) if d % h == 0 and d // h >= 8]))
        n = int(rng.choice([16, 49, 64, 196, 256, 784]))
        seqs = int(rng.choice([0, 0, 4]))
        kind = "softmax" if rng.random() < 0.75 else "linear"
        act = str(rng.choice(["gelu", "swish"]))
        mlp = int(rng.choice([2, 3, 4]))
        shape = (seqs, n, d) if seqs else (n, d)
        add(ATTENTION, f"attn{i}_{kind}_d{d}_h{heads}_n{n}_s{seqs}", shape,
            transformer("", "input", d, heads, n, seqs, mlp, act, kind, rng.random() < 0.8))
    row_units(add)


def random_hybrid(rng: np.random.Generator) -> tuple:
    """A random hybrid whole network (none of the zoo's): a stride-2 stem, one to three stages of inverted
    residuals, then one to three stages each a stride-2 conv and transformer layers on tokens (the map unfolded
    into 2 x 2 patches, or flattened to H W tokens), folded back to a map; a 1x1 conv, global pooling and an fc:
    (input shape, [], layers)."""
    size = int(rng.choice([128, 160, 192, 224, 256]))
    c = int(rng.choice([16, 24, 32]))
    act = str(rng.choice(["relu", "swish", "hardswish"]))
    layers = [f"{{op: conv, out: {c}, k: 3, stride: 2, pad: 1}}", "{op: bn}", f"{{op: {act}}}"]
    hw = size // 2
    for stage in range(int(rng.integers(1, 4))):
        out = int(c * rng.choice([1, 1.5, 2]) // 8 * 8 or 8)
        for unit in range(int(rng.integers(1, 3))):
            stride = 2 if unit == 0 else 1
            mid = c * int(rng.choice([2, 4]))
            name = f"s{stage}u{unit}"
            layers += [f"{{name: {name}_in, op: identity}}", f"{{op: conv, out: {mid}, k: 1}}", "{op: bn}",
                       f"{{op: {act}}}", f"{{op: conv, out: {mid}, k: 3, stride: {stride}, pad: 1, groups: {mid}}}",
                       "{op: bn}", f"{{op: {act}}}", f"{{op: conv, out: {out}, k: 1}}", f"{{name: {name}_out, op: bn}}"]
            if stride == 1 and out == c:
                layers.append(f"{{op: add, from: [{name}_out, {name}_in]}}")
            hw = (hw + 1) // 2 if stride == 2 else hw
            c = out
    for stage in range(int(rng.integers(1, 4))):
        if hw < 4:
            break
        d = int(rng.choice([48, 64, 96, 128, 192]))
        heads = int(rng.choice([h for h in (1, 2, 4, 8) if d // h >= 12]))
        depth = int(rng.integers(1, 4))
        kind = "softmax" if rng.random() < 0.75 else "linear"
        mlp_act = str(rng.choice(["gelu", "swish"]))
        mlp = int(rng.choice([2, 3, 4]))
        t = f"t{stage}"
        layers += [f"{{op: conv, out: {d}, k: 3, stride: 2, pad: 1}}", "{op: bn}", f"{{op: {act}}}"]
        hw = (hw + 1) // 2
        if hw % 2 == 0 and rng.random() < 0.5:  # unfold 2 x 2 patches: 4 sequences of hw^2 / 4 tokens
            n, seqs = hw * hw // 4, 4
            layers += [f"{{op: reshape, shape: [{d * hw // 2}, 2, {hw // 2}, 2]}}",
                       "{op: permute, perm: [0, 1, 3, 2, 4]}", f"{{op: reshape, shape: [{d}, {n}, 4]}}",
                       f"{{name: {t}_tokens, op: permute, perm: [0, 3, 2, 1]}}"]
            fold = ["{op: permute, perm: [0, 3, 2, 1]}", f"{{op: reshape, shape: [{d * hw // 2}, {hw // 2}, 2, 2]}}",
                    "{op: permute, perm: [0, 1, 3, 2, 4]}", f"{{op: reshape, shape: [{d}, {hw}, {hw}]}}"]
        else:  # flatten: hw^2 tokens
            n, seqs = hw * hw, 0
            layers += [f"{{op: reshape, shape: [{d}, {n}]}}", f"{{name: {t}_tokens, op: permute, perm: [0, 2, 1]}}"]
            fold = ["{op: permute, perm: [0, 2, 1]}", f"{{op: reshape, shape: [{d}, {hw}, {hw}]}}"]
        x = f"{t}_tokens"
        for i in range(depth):
            layers += transformer(f"{t}l{i}_", x, d, heads, n, seqs, mlp, mlp_act, kind, rng.random() < 0.8)
            x = f"{t}l{i}_out"
        layers += ["{op: layernorm, axis: -1}", *fold]
        c = d
    layers += [f"{{op: conv, out: {int(rng.choice([256, 384, 640]))}, k: 1}}", "{op: bn}", f"{{op: {act}}}",
               "{op: gap}", "{op: flatten}", "{op: fc, out: 1000, bias: true}"]
    return (3, size, size), [], layers


def row_units(add) -> None:
    """Units of the kernels whose rows cost (costcalc.latency.rows): Transposes of windows cut from a map, blocks
    of w x C copied whole (as Swin's), and of the innermost axis moved with others, gathered element by element
    (as MobileViT's unfold and MaxViT's grids); element-wise ops broadcasting a vector over tokens (a layer scale)
    or a number per token (EfficientViT's division), and pads of the innermost axis (its column of ones). No
    draws: the other networks keep their names."""
    for size, w, c in ((56, 7, 32), (56, 7, 96), (28, 7, 64), (28, 7, 192), (14, 7, 384), (32, 8, 48),
                       (16, 8, 128), (16, 4, 96)):
        grid = f"[{size // w}, {w}, {size // w}, {w}, {c}]"
        add(TOKENS, f"win_s{size}_w{w}_c{c}", (size, size, c),
            [f"{{op: reshape, shape: {grid}}}", "{op: permute, perm: [0, 1, 3, 2, 4, 5]}",
             f"{{op: reshape, shape: [{size}, {size}, {c}]}}", "{op: layernorm, axis: -1}"])
    for d, n, p in ((32, 1024, 4), (64, 256, 4), (80, 64, 4), (96, 256, 4), (144, 64, 4), (240, 16, 4)):
        add(TOKENS, f"unfold_d{d}_n{n}_p{p}", (d, n, p),
            ["{op: permute, perm: [0, 3, 2, 1]}", "{op: layernorm, axis: -1}",
             f"{{op: reshape, shape: [{d}, {n}, {p}]}}"])
    for c, g, w in ((32, 8, 7), (64, 4, 7), (128, 2, 7)):
        add(TOKENS, f"grid_c{c}_g{g}_w{w}", (c, g * w, g * w),
            [f"{{op: reshape, shape: [{c}, {g}, {w}, {g}, {w}]}}", "{op: permute, perm: [0, 2, 4, 3, 5, 1]}",
             "{op: layernorm, axis: -1}", f"{{op: reshape, shape: [{c}, {g * w}, {g * w}]}}"])
    for n, d in ((3136, 16), (3136, 48), (784, 32), (784, 96), (196, 16), (196, 192), (64, 168), (1024, 24)):
        add(TOKENS, f"scale_n{n}_d{d}", (n, d), [f"{{op: mul, param: [{d}]}}"])
        add(TOKENS, f"perrow_n{n}_d{d}", (n, d), [f"{{op: div, param: [{n}, 1]}}"])
        add(TOKENS, f"padcol_n{n}_d{d}", (n, d), ["{op: pad, pads: [0, 0, 0, 1]}"])
    norm_units(add)


def norm_units(add) -> None:
    """Units of the kernels that LeViT's and EfficientViT's token mixers run outside the classes of the units
    above: a batchnorm over the channels of tokens (Reshape, BatchNormalization, Reshape) and over a map's channels
    in the plain layout, hardswish on tokens (HardSigmoid, Mul), a number added to N x 1 values (one span each),
    and a learned heads x N x N operand added to attention scores (a gathered bias table: read whole, beyond the
    L2 cache). No draws, as row_units."""
    for n, d in ((16, 128), (49, 256), (196, 128), (196, 256), (784, 64), (3136, 32), (64, 384), (196, 640)):
        add(TOKENS, f"bntok_n{n}_d{d}", (n, d), ["{op: bn, axis: -1}"])
        add(TOKENS, f"hswish_n{n}_d{d}", (n, d), ["{op: hardswish}"])
    for c, hw in ((30, 56), (58, 28), (116, 14), (174, 14), (64, 56), (256, 14)):
        add(TOKENS, f"bnmap_c{c}_hw{hw}", (c, hw, hw), ["{op: bn}", "{op: relu}"])
    for heads, n in ((4, 392), (8, 196), (1, 3136), (12, 49), (16, 784), (1, 64)):
        add(TOKENS, f"eps_h{heads}_n{n}", (heads, n, 1), ["{op: add, value: 0.001}"])
    for heads, n in ((4, 196), (8, 49), (4, 64), (3, 256), (6, 144), (12, 197), (2, 576)):
        add(TOKENS, f"abias_h{heads}_n{n}", (heads, n, n), [f"{{op: add, param: [{heads}, {n}, {n}], "
                                                          f"learned: {heads * n}}}", "{op: softmax, axis: -1}"])
