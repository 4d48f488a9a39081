"""The rules of every convention for the generic tensor layer's ops (costcalc.ops.tensor, tensor_math): element-wise
ops with a constant or learned operand, reductions, products of two activations (matmul, einsum) and the
rearrangements. Each tool's rules are read in the same sources as its module's (fvcore.py, ptflops.py, thop.py,
deepspeed.py, calflops.py name them); in PyTorch these ops are torch functions and tensor methods, not modules,
so a module hook never sees them:

- matmul = the `@` operator (the default) or torch.matmul / torch.bmm (`call: functional`); einsum = torch.einsum;
  add / sub / mul / div = the operators (default) or torch.add / torch.mul ... (`call: functional`); the unary
  ops, reductions and rearrangements = their torch functions (torch.exp, x.sum(...), x.permute(...)), except elu
  (nn.ELU, or F.elu when functional).
- fvcore traces aten ops: aten::matmul, aten::bmm and aten::einsum have handles (`_DEFAULT_SUPPORTED_OPS`), the
  rest count zero (no handle, or in `_IGNORED_OPS`).
- ptflops patches torch.matmul / Tensor.matmul / torch.bmm and torch.add / torch.mul (TENSOR_OPS_MAPPING), not
  the `@` operator, not torch.einsum; thop sees none of them.
- DeepSpeed wraps torch.matmul, Tensor.matmul and Tensor.__matmul__ (so `@` too), torch.einsum, torch.add,
  torch.mul and F.elu; calflops the same but not Tensor.__matmul__.
- fvcore's and DeepSpeed's einsum read numpy's einsum_path report ("Optimized FLOP count", printed to 4
  significant digits, for the whole batch): these two rules count the batch at once.
"""

from __future__ import annotations

from math import floor, prod

from costcalc.analysis.conventions.rules import Rule, free, in_elements, out_elements, own, own_flops, per_element
from costcalc.ops import BINARY_OPS, REARRANGE_OPS, REDUCE_OPS, SOURCE_OPS, UNARY_OPS

_FREE_ELEMENTWISE = ("sub", "div", "pow", "maximum", "minimum", "compare", "where", *UNARY_OPS, *REDUCE_OPS)
# the later ONNX ops (costcalc.ops.tensor_more, rmsnorm, lppool), as torch writes them: none is a module or call the
# tools count but LocalResponseNorm, whose forward runs Tensor.mul, avg_pool3d and Tensor.add, and LPPool2d, whose
# F.lp_pool2d runs avg_pool2d, relu and Tensor.mul, which ptflops and DeepSpeed count
_MORE = {"cumsum": "torch.cumsum", "cumprod": "torch.cumprod", "hardmax": "F.one_hot of argmax",
         "trilu": "torch.triu / tril", "lp_normalization": "F.normalize", "gather_elements": "torch.gather",
         "scatter": "Tensor.scatter", "topk": "torch.topk", "thresholded_relu": "nn.Threshold",
         "shrink": "nn.Hardshrink / Softshrink", "rmsnorm": "F.rms_norm (nn.RMSNorm)", "lppool": "F.lp_pool2d"}
_TORCH = {"sub": "torch.sub", "div": "torch.div", "pow": "torch.pow", "maximum": "torch.maximum",
          "minimum": "torch.minimum", "compare": "torch.lt / gt / eq", "where": "torch.where", "exp": "torch.exp",
          "log": "torch.log", "sqrt": "torch.sqrt", "reciprocal": "torch.reciprocal", "abs": "torch.abs",
          "neg": "torch.neg", "erf": "torch.erf", "round": "torch.round / floor", "sin": "torch.sin",
          "softplus": "F.softplus", "elu": "F.elu", "cast": "Tensor.to", "reshape": "Tensor.reshape / view",
          "permute": "Tensor.permute", "expand": "Tensor.expand", "tile": "Tensor.repeat", "gather": "torch.gather",
          "depth_to_space": "F.pixel_shuffle", "space_to_depth": "F.pixel_unshuffle",
          "constant": "a buffer or torch.arange", **_MORE,
          **{op: f"Tensor.{op[len('reduce_'):]}" for op in REDUCE_OPS}}


# ---- shared formulas ----------------------------------------------------------------------------------------

def matmul_numel_rule(s) -> int:
    """The tools' matmul: prod(first operand's shape) * the second's last axis (the multiply-adds, unless only the
    second operand's leading axes broadcast)."""
    return in_elements(s) * s.inputs[1][-1]


def _einsum(s) -> tuple:
    """(equation with its letters renamed a, b, c... in order of appearance, the size of every letter with the
    batch's, number of operands, whether a letter is summed away)."""
    equation = s.args["equation"].replace(" ", "")
    left, right = equation.split("->")
    terms = left.split(",")
    shapes = [*s.inputs, *([tuple(s.args["param"])] if s.args.get("param") is not None else [])]
    sizes = {terms[0][0]: s.batch}
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        for letter, size in zip(term[1:] if i < len(s.inputs) else term, shape):
            sizes[letter] = max(sizes.get(letter, 1), size)
    order = {c: chr(97 + i) for i, c in enumerate(dict.fromkeys(c for c in equation if c.isalpha()))}
    renamed = "".join(order.get(c, c) for c in equation)
    inner = any(c not in right for c in left if c.isalpha())
    return renamed, sizes, len(terms), inner


def numpy_optimized_flops(s) -> float:
    """numpy's einsum_path "Optimized FLOP count" for the whole batch as it prints it (`%.3e`): one contraction of
    every letter, times (max(1, operands - 1) + 1 if a letter is summed), plus one."""
    _, sizes, terms, inner = _einsum(s)
    return float(f"{prod(sizes.values()) * (max(1, terms - 1) + inner) + 1:.3e}")


def fvcore_einsum(s) -> int:
    """einsum_flop_jit: "abc,abd->acd" and "abc,adc->adb" exactly (n*c*t*p), else floor(numpy's count / 2)."""
    renamed, sizes, _, _ = _einsum(s)
    if renamed in ("abc,abd->acd", "abc,adc->adb"):
        return prod(sizes.values())
    return floor(numpy_optimized_flops(s) / 2)


def torch_elementwise(first: bool):
    """torch.add / torch.mul as ptflops, DeepSpeed and calflops count a call, for the whole batch: the input's numel
    against a number; against a tensor, the numel of the two shapes' larger sizes axis by axis, the shapes lined up
    from the first axis (`first`: the batch included, so a learned operand of lower rank lines up with the batch;
    ptflops, calflops) or from the last (numpy's broadcasting; DeepSpeed 0.19.8); n - 1 calls for n inputs."""
    def count(s) -> int:
        if s.args.get("value") is not None:
            return s.batch * in_elements(s)
        other = s.args.get("param") if s.args.get("param") is not None else s.args.get("const")
        if other is None or not first:
            calls = len(s.inputs) - 1 + (other is not None)
            return calls * s.batch * out_elements(s)
        a, b = (s.batch, *s.inputs[0]), tuple(other)
        return prod(max(a[i] if i < len(a) else 1, b[i] if i < len(b) else 1) for i in range(max(len(a), len(b))))

    return count


def _not_seen(says: str) -> dict:
    return {op: free(says.format(_TORCH[op])) for op in (*_FREE_ELEMENTWISE, *REARRANGE_OPS, *SOURCE_OPS, *_MORE)}


def lrn_calls(s) -> int:
    """F.local_response_norm's wrapped calls (ptflops, DeepSpeed, calflops): input.mul(input), avg_pool3d of the
    squares padded by size - 1 channels (its input's numel), .mul(alpha), .add(k): 3 n + (C + size - 1) H W."""
    c, *rest = s.inputs[0]
    return 3 * in_elements(s) + (c + s.args["size"] - 1) * prod(rest)


def lp_pool_calls(s) -> int:
    """F.lp_pool2d's wrapped calls (ptflops, DeepSpeed, calflops): avg_pool2d of x.pow(p) (its input's numel), relu
    of the pooled (its numel), .mul(k_h * k_w) (its numel); the sign, abs, pow and `*` are not seen: n_in + 2 n_out."""
    return in_elements(s) + 2 * out_elements(s)


_LP_POOL_CALLS = "nn.LPPool2d has no {}; F.lp_pool2d's {} calls: avg_pool2d (input numel), relu and .mul (output " \
                 "numel each): n_in + 2 n_out"


# ---- each convention's rules for the tensor layer -----------------------------------------------------------

PAPER = {
    **{op: free("0 (element-wise: not counted)") for op in ("sub", "div", "pow", "maximum", "minimum", "compare",
                                                            "where", *UNARY_OPS)},
    **{op: free("0 (a reduction: not counted)") for op in REDUCE_OPS},
    "matmul": Rule("multiply-adds of two activations: output elements * K (as torchvision counts them)", own_flops),
    "einsum": Rule("multiply-adds of two operands: one per combination of the letters' sizes", own_flops),
    **{op: free("0 (a view)" if op == "reshape" else "0 (moves data)") for op in REARRANGE_OPS},
    "constant": free("0 (computed from weights alone: the layers on it count)"),
    "col2im": free("0 (nn.Fold adds its blocks into the image: element-wise, not counted)"),
    **{op: free("0 (element-wise or moves data: not counted)") for op in (*_MORE, "lrn")},
}

FULL = {
    **{op: Rule(f"{per} per element", per_element(per)) for op, (per, _) in UNARY_OPS.items()},
    **{op: Rule("(operands - 1) per output element (a `value` or `param` is an operand)", own)
       for op in BINARY_OPS},
    "where": Rule("1 per output element", own),
    **{op: Rule("per input element (and per output element for mean, l2, the logs): costcalc's own", own)
       for op in REDUCE_OPS},
    "matmul": Rule("multiply-adds output elements * K", own),
    "einsum": Rule("multiply-adds of two operands; one operand: 1 per input element when it sums", own),
    **{op: free("0 (a view)" if op == "reshape" else "0 (moves data)") for op in REARRANGE_OPS},
    "constant": free("0 (computed from weights alone: the layers on it count)"),
    "col2im": Rule("1 per input element (each column value added into the image)", own),
    **{op: Rule("costcalc's own per-element count (docs/ops.md)", own) for op in (*_MORE, "lrn")},
}

FVCORE = {
    **_not_seen("0 (the aten op of {} has no handle, or is in _IGNORED_OPS)"),
    "col2im": free("0 (aten::col2im has no handle: 'unsupported operator')"),
    "lrn": free("0 (aten::mul, avg_pool3d, add, pow, div: no handle)"),
    "matmul": Rule("aten::matmul (matmul_flop_jit): prod(first operand) * last axis of the second = multiply-adds",
                   matmul_numel_rule),
    "einsum": Rule("aten::einsum (einsum_flop_jit): 'abc,abd->acd' and 'abc,adc->adb' exactly, else floor(numpy's "
                   "einsum_path optimized flop count / 2), for the whole batch", fvcore_einsum, whole_batch=True),
}

_PTFLOPS_NOT = "0 (no module hook, and {} is not patched)"
PTFLOPS = {
    **_not_seen(_PTFLOPS_NOT),
    "col2im": free(_PTFLOPS_NOT.format("F.fold")),
    "lrn": Rule("nn.LocalResponseNorm has no hook; its forward's patched calls: input.mul(input), F.avg_pool3d, "
                ".mul(alpha), .add(k): 3 n + (C + size - 1) H W", lrn_calls),
    "lppool": Rule(_LP_POOL_CALLS.format("hook", "patched"), lp_pool_calls),
    "elu": Rule("2 per element: relu hook on nn.ELU (output numel) + patched F.elu (input numel)", per_element(2)),
    "matmul": free("0 (the @ operator: only torch.matmul / Tensor.matmul / torch.bmm calls are patched)"),
    "einsum": free(_PTFLOPS_NOT.format("torch.einsum")),
}
PTFLOPS_FUNCTIONAL = {
    **_not_seen(_PTFLOPS_NOT.replace("no module hook, and ", "")),
    "col2im": free("0 (F.fold is not patched)"),
    "lrn": Rule("F.local_response_norm's patched calls: 3 n + (C + size - 1) H W", lrn_calls),
    "lppool": Rule(_LP_POOL_CALLS.format("hook", "patched").replace("nn.LPPool2d has no hook; ", ""), lp_pool_calls),
    "elu": Rule("1 per input element: patched F.elu", per_element(1, in_elements)),
    "matmul": Rule("patched torch.matmul: prod(first operand) * last axis of the second", matmul_numel_rule),
    "einsum": free("0 (torch.einsum is not patched)"),
    "add": Rule("patched torch.add, per call: the input numel against a number; against a tensor, shapes lined up "
                "from the first axis (the batch), n - 1 calls for n inputs", torch_elementwise(True), whole_batch=True),
    "mul": Rule("patched torch.mul: the input numel against a number; against a tensor, shapes lined up from the "
                "first axis (the batch)", torch_elementwise(True), whole_batch=True),
}

_THOP = "0 (a tensor operation, not a module: never seen)"
THOP = {
    **{op: free(_THOP) for op in (*_FREE_ELEMENTWISE, *REARRANGE_OPS, *SOURCE_OPS, "matmul", "einsum")},
    "col2im": free("0 (no rule for nn.Fold: 'treat it as zero Macs')"),
    **{op: free(_THOP) for op in _MORE},
    "lrn": free("0 (no rule for nn.LocalResponseNorm: 'treat it as zero Macs')"),
    "elu": free("0 (no rule for nn.ELU: 'treat it as zero Macs')"),
    **{op: free(f"0 (no rule for {module}: 'treat it as zero Macs')") for op, module in (("rmsnorm", "nn.RMSNorm"),
                                                                                        ("lppool", "nn.LPPool2d"))},
}

_DS_NOT = "0 ({} is not wrapped)"
_DS_EINSUM = Rule("_einsum_flops_compute (torch.einsum): numpy's einsum_path optimized flop count, as printed "
                  "(4 significant digits), for the whole batch", lambda s: int(numpy_optimized_flops(s)),
                  whole_batch=True)
_DS_MATMUL = Rule("_matmul_flops_compute: 2 x prod(first operand) * last axis of the second",
                  lambda s: 2 * matmul_numel_rule(s))
DEEPSPEED = {
    **_not_seen(_DS_NOT),
    "col2im": free(_DS_NOT.format("F.fold")),
    "lrn": Rule("F.local_response_norm's wrapped calls: Tensor.mul (n), F.avg_pool3d (its input's numel), "
                "Tensor.mul and Tensor.add (n each): 3 n + (C + size - 1) H W", lrn_calls),
    "elu": Rule("_elu_flops_compute (F.elu): 1 per input element", per_element(1, in_elements)),
    "lppool": Rule(_LP_POOL_CALLS.format("module hook", "wrapped"), lp_pool_calls),
    "matmul": Rule(_DS_MATMUL.says.replace(":", " (Tensor.__matmul__, the @ operator, is wrapped too):", 1),
                   _DS_MATMUL.count),
    "einsum": _DS_EINSUM,
}
DEEPSPEED_FUNCTIONAL = {
    "matmul": Rule(_DS_MATMUL.says.replace(":", " (torch.matmul):", 1), _DS_MATMUL.count),
    "add": Rule("_add_flops_compute (torch.add): 1 per output element per call, n - 1 calls for n inputs; the input "
                "numel against a number", torch_elementwise(False), whole_batch=True),
    "mul": Rule("_mul_flops_compute (torch.mul): 1 per element of the broadcast shape; the input numel against a "
                "number", torch_elementwise(False), whole_batch=True),
}
CALFLOPS = {"matmul": free("0 (the @ operator: calflops wraps torch.matmul and Tensor.matmul, not "
                           "Tensor.__matmul__)")}
CALFLOPS_FUNCTIONAL = {
    "add": Rule("_add_flops_compute (torch.add), per call: the input numel against a number; against a tensor, "
                "shapes lined up from the first axis (the batch), n - 1 calls for n inputs", torch_elementwise(True),
                whole_batch=True),
    "mul": Rule("_mul_flops_compute (torch.mul): the input numel against a number; against a tensor, shapes lined "
                "up from the first axis (the batch)", torch_elementwise(True), whole_batch=True),
}
