"""What a convention's rule sees of a layer, and the formulas the rules share: per sample, ints."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Callable

from costcalc.ops import BIAS_FLOPS, CALL_KEY, OPS
from costcalc.ops.conv import conv_input
from costcalc.ops.core import per_axis


@dataclass(frozen=True)
class Site:
    """What a rule sees of one layer, per sample: input and output shapes ((C, H, W), (F,), or any rank) and its
    arguments."""

    op: str
    inputs: tuple
    outputs: tuple
    args: dict
    batch: int = 1  # for the few rules that count the whole batch at once (a tool that rounds its count)

    @property
    def functional(self) -> bool:
        """The spec says the framework calls this op as a function (`call: functional`), not as a module."""
        return self.args.get(CALL_KEY) == "functional"


@dataclass(frozen=True)
class Rule:
    says: str  # what the rule counts, for --explain-conventions
    count: Callable[[Site], int]  # FLOPs of one sample
    whole_batch: bool = False  # `count` gives the FLOPs of the site's whole batch, not of one sample


@dataclass(frozen=True)
class Convention:
    name: str
    tool: str  # the tool and version it reproduces, or "costcalc"
    summary: str  # one line for the report's header
    rules: dict  # op -> Rule, for an op called as a module (the default)
    functional: dict | None = None  # op -> Rule for `call: functional`; None: the same rules (the call is not seen)


def out_elements(s: Site) -> int:
    return prod(s.outputs[0])


def in_elements(s: Site) -> int:
    return prod(s.inputs[0])


def kernel(s: Site) -> tuple:
    """The window's size on each spatial axis of the input (one for C x L, three for C x D x H x W)."""
    return per_axis(s.args["k"], len(s.inputs[0]) - 1, "k")


def conv_macs(s: Site) -> int:
    """h_out * w_out * c_out * k_h * k_w * c_in / groups (grouped and depthwise convs included; in 1-D and 3-D
    the output's length or volume times the window's)."""
    _, c, sizes = conv_input(s.inputs[0], s.args["k"])  # leading axes (windows) are in the output's elements
    return out_elements(s) * prod(per_axis(s.args["k"], len(sizes), "k")) * (c // s.args["groups"])


def conv_transpose_macs(s: Site) -> int:
    """h_in * w_in * c_in * (c_out / groups) * k_h * k_w: each input element times its slice of the weights."""
    return in_elements(s) * (s.outputs[0][0] // s.args["groups"]) * prod(kernel(s))


def fc_macs(s: Site) -> int:
    """in * out at each position of the input's leading axes (nn.Linear over the last axis): input numel * out."""
    return in_elements(s) * s.outputs[0][-1]


def bias(s: Site) -> int:
    """One add per output element when the layer has a bias."""
    return BIAS_FLOPS * out_elements(s) if s.args.get("bias") else 0


def window_elements(s: Site) -> int:
    """Elements of every pooling window: output elements * k_h * k_w."""
    return out_elements(s) * prod(kernel(s))


def residual_adds(s: Site) -> int:
    return (len(s.inputs) - 1) * out_elements(s)


def own(s: Site) -> int:
    """costcalc's own count of the layer: its op's flops plus elementwise_flops (costcalc.ops)."""
    result = OPS[s.op].apply(list(s.inputs), s.args)
    return result.flops + result.elementwise_flops


def own_flops(s: Site) -> int:
    return OPS[s.op].apply(list(s.inputs), s.args).flops


def per_element(flops: int, of: Callable[[Site], int] = out_elements) -> Callable[[Site], int]:
    return lambda s: flops * of(s)


def zero(s: Site) -> int:
    return 0


def free(says: str = "0 (moves data, no arithmetic)") -> Rule:
    return Rule(says, zero)


def doubled(base: Convention, name: str, tool: str, summary: str, why: str) -> Convention:
    """`base` with every count multiplied by 2 (a multiply-add counted as two floating-point operations)."""
    def twice(rule: Rule) -> Rule:
        return Rule(f"2 x ({rule.says}){why}", lambda s: 2 * rule.count(s), rule.whole_batch)

    functional = None if base.functional is None else {op: twice(r) for op, r in base.functional.items()}
    return Convention(name, tool, summary, {op: twice(r) for op, r in base.rules.items()}, functional)


# What every convention agrees moves data without arithmetic.
DATA_MOVEMENT = {
    "concat": free(),
    "split": free(),
    "shuffle": free(),
    "flatten": free("0 (a view)"),
    "slice": free("0 (a view)"),
    "pad": free(),
    "dropout": free("0 (identity at inference)"),
    "identity": free("0"),
    "select": free("0 (a gather: moves data, no arithmetic)"),
}
