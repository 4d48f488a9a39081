"""Run fvcore 0.1.5, ptflops 0.7.5, thop 0.1.1, DeepSpeed 0.19.8's flops profiler and calflops 0.3.2 themselves, on
one-op probe modules and on torchvision models, and compare what they print with costcalc's conventions
(costcalc.analysis.conventions). An optional cross-check, not part of the test suite: it needs, installed by hand in
a separate environment,

    pip install torch torchvision fvcore==0.1.5.post20221221 ptflops==0.7.5 thop==0.1.1.post2209072238
    pip install calflops==0.3.2 transformers; DS_BUILD_OPS=0 pip install --no-build-isolation deepspeed==0.19.8

Usage: python scripts/tool_flops.py [--models resnet50,shufflenet_v2_x1_0]
It prints one line per (probe, tool): the tool's count, costcalc's, and OK or DIFF; then each model's totals.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import pathlib
import sys
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# torchvision's fake (meta) kernels are for torch.compile only; skipping their registration lets a torchvision wheel
# built for a neighbouring torch release import (ptflops imports torchvision.ops). Eager counting is unaffected.
torch.library.register_fake = lambda *a, **k: (lambda f: f)

from costcalc.analysis.conventions import CONVENTIONS, Site, count, recount  # noqa: E402

TOOLS = ("fvcore", "ptflops", "thop", "deepspeed", "calflops")


def tool_flops(tool: str, model: nn.Module, x: torch.Tensor) -> int:
    model.eval()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        if tool == "fvcore":
            from fvcore.nn import FlopCountAnalysis

            analysis = FlopCountAnalysis(model, (x,))
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            return int(analysis.total())
        if tool == "ptflops":
            from ptflops import get_model_complexity_info

            flops, _ = get_model_complexity_info(model, tuple(x.shape[1:]), as_strings=False,
                                                 print_per_layer_stat=False, backend="pytorch")
            return int(flops)
        if tool == "deepspeed":
            from deepspeed.profiling.flops_profiler import get_model_profile

            flops, _, _ = get_model_profile(model, input_shape=tuple(x.shape), print_profile=False,
                                            as_string=False)
            return int(flops)
        if tool == "calflops":
            from calflops import calculate_flops

            if not any(True for _ in model.parameters()):  # calflops reads the device off a parameter
                model = WithParameter(model)
            flops, _, _ = calculate_flops(model, input_shape=tuple(x.shape), print_results=False,
                                          output_as_string=False)
            return int(flops)
        from thop import profile

        flops, _ = profile(model, inputs=(x,), verbose=False)
        return int(flops)


class WithParameter(nn.Module):
    """A parameter-free module with one unused parameter (calflops needs one to pick a device); counts unchanged."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.inner(x)


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class TwoInputs(nn.Module):
    """A branch (a 1x1 conv without bias, counted by every tool alike and subtracted) feeding a two-input op."""

    def __init__(self, c, fn, squeeze=False):
        super().__init__()
        self.branch = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1, bias=False)) if squeeze \
            else nn.Conv2d(c, c, 1, bias=False)
        self.fn = fn

    def forward(self, x):
        return self.fn(x, self.branch(x))


class Permuted(nn.Module):
    """A channels-last module between two permutes, as ConvNeXt's blocks use nn.LayerNorm."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d: a subclass of nn.LayerNorm that calls F.layer_norm."""

    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                            self.eps).permute(0, 3, 1, 2)


class LayerScale(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(c, 1, 1))

    def forward(self, x):
        return self.gamma * x


def channel_shuffle(x, groups=2):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


C, H, W = 8, 10, 10
X = (C, H, W)


def probes():
    """(name, module, costcalc Site for its one op, module to subtract or None)."""
    def k(n):
        return (n, n)
    conv_args = lambda **a: {"out": a.get("out", 16), "k": k(a.get("k", 3)), "stride": k(a.get("stride", 1)),  # noqa
                             "pad": k(a.get("pad", 1)), "dilation": (1, 1), "groups": a.get("groups", 1),
                             "bias": a.get("bias", False)}
    yield ("conv 3x3", nn.Conv2d(C, 16, 3, padding=1, bias=False), Site("conv", (X,), ((16, H, W),), conv_args()), None)
    yield ("conv 3x3 + bias", nn.Conv2d(C, 16, 3, padding=1), Site("conv", (X,), ((16, H, W),), conv_args(bias=True)),
           None)
    yield ("conv grouped g=2 + bias, stride 2", nn.Conv2d(C, 16, 3, stride=2, padding=1, groups=2),
           Site("conv", (X,), ((16, 5, 5),), conv_args(groups=2, stride=2, bias=True)), None)
    yield ("conv depthwise", nn.Conv2d(C, C, 3, padding=1, groups=C, bias=False),
           Site("conv", (X,), ((C, H, W),), conv_args(out=C, groups=C)), None)
    yield ("conv 1x1 as nn.Linear (channels last) + bias", Permuted(nn.Linear(C, 16)),
           Site("conv", (X,), ((16, H, W),), {**conv_args(k=1, pad=0, bias=True), "linear": True}), None)
    flat = (C * H * W,)
    yield ("fc + bias", nn.Sequential(nn.Flatten(), nn.Linear(C * H * W, 10)),
           Site("fc", (flat,), ((10,),), {"out": 10, "bias": True}), None)
    for op, module in [("bn", nn.BatchNorm2d(C)), ("relu", nn.ReLU(inplace=True)), ("relu6", nn.ReLU6(inplace=True)),
                       ("leaky_relu", nn.LeakyReLU(0.1)), ("sigmoid", nn.Sigmoid()), ("tanh", nn.Tanh()),
                       ("swish", nn.SiLU()), ("hardsigmoid", nn.Hardsigmoid()), ("hardswish", nn.Hardswish()),
                       ("dropout", nn.Dropout(0.2)), ("identity", nn.Identity())]:
        yield (op, module, Site(op, (X,), (X,), {}), None)
    yield ("scale (x * 0.2)", Lambda(lambda x: x * 0.2), Site("scale", (X,), (X,), {"factor": 0.2}), None)
    pool = {"k": (3, 3), "stride": (2, 2), "pad": (1, 1), "ceil_mode": False}
    yield ("maxpool 3x3/2", nn.MaxPool2d(3, 2, 1), Site("maxpool", (X,), ((C, 5, 5),), {**pool, "dilation": (1, 1)}),
           None)
    yield ("avgpool 3x3/2", nn.AvgPool2d(3, 2, 1), Site("avgpool", (X,), ((C, 5, 5),), pool), None)
    yield ("gap (AdaptiveAvgPool2d)", nn.AdaptiveAvgPool2d(1), Site("gap", (X,), ((C, 1, 1),), {}), None)
    yield ("mean (x.mean([2, 3]))", Lambda(lambda x: x.mean([2, 3])), Site("mean", (X,), ((C, 1, 1),), {}), None)
    branch = nn.Conv2d(C, C, 1, bias=False)
    squeeze = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(C, C, 1, bias=False))
    yield ("add (a + b)", TwoInputs(C, lambda a, b: a + b), Site("add", (X, X), (X,), {}), branch)
    yield ("mul (x * s, s C x 1 x 1)", TwoInputs(C, lambda a, b: a * b, squeeze=True),
           Site("mul", (X, (C, 1, 1)), (X,), {}), squeeze)
    yield ("concat (torch.cat)", TwoInputs(C, lambda a, b: torch.cat([a, b], 1)),
           Site("concat", (X, X), ((2 * C, H, W),), {}), branch)
    yield ("split (chunk)", Lambda(lambda x: x.chunk(2, dim=1)[1]), Site("split", (X,), ((4, H, W), (4, H, W)),
                                                                          {"parts": 2}), None)
    yield ("shuffle (view/transpose)", Lambda(channel_shuffle), Site("shuffle", (X,), (X,), {"groups": 2}), None)
    yield ("flatten", nn.Flatten(), Site("flatten", (X,), ((C * H * W,),), {}), None)
    for op, module, args in [("layernorm (nn.LayerNorm, channels last)", Permuted(nn.LayerNorm(C)), {}),
                             ("groupnorm", nn.GroupNorm(2, C), {"groups": 2}),
                             ("hardtanh", nn.Hardtanh(), {"min_val": -1.0, "max_val": 1.0}),
                             ("gelu", nn.GELU(), {"approximate": "none"}), ("gelu tanh", nn.GELU("tanh"), {"approximate": "tanh"}),
                             ("mish", nn.Mish(), {}), ("softmax", nn.Softmax(dim=1), {})]:
        yield (op, module, Site(op.split()[0], (X,), (X,), args), None)
    yield ("layernorm (LayerNorm2d subclass)", LayerNorm2d(C), Site("layernorm", (X,), (X,), {"call": "functional"}),
           None)
    yield ("layer_scale", LayerScale(C), Site("layer_scale", (X,), (X,), {}), None)
    for mode in ("nearest", "bilinear"):
        yield (f"resize x2 {mode} (nn.Upsample)", nn.Upsample(scale_factor=2, mode=mode),
               Site("resize", (X,), ((C, 2 * H, 2 * W),), {"scale": 2, "mode": mode}), None)
        yield (f"resize to 7x13 {mode} (F.interpolate)", Lambda(lambda x, m=mode: F.interpolate(x, (7, 13), mode=m)),
               Site("resize", (X,), ((C, 7, 13),), {"size": (7, 13), "mode": mode, "call": "functional"}), None)
    yield ("adaptive_avgpool to 3x4", nn.AdaptiveAvgPool2d((3, 4)), Site("adaptive_avgpool", (X,), ((C, 3, 4),),
                                                                         {"out": (3, 4)}), None)
    yield ("adaptive_maxpool to 3x4", nn.AdaptiveMaxPool2d((3, 4)), Site("adaptive_maxpool", (X,), ((C, 3, 4),),
                                                                         {"out": (3, 4)}), None)
    # the functions are looked up when called, as a model's forward does (ptflops patches the F namespace)
    for name, fn, op, out in [("F.relu", lambda x: F.relu(x), "relu", X), ("F.relu6", lambda x: F.relu6(x), "relu6", X),
                              ("F.adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, 1), "gap", (C, 1, 1)),
                              ("F.gelu", lambda x: F.gelu(x), "gelu", X)]:
        yield (f"{op} functional ({name})", Lambda(fn), Site(op, (X,), (out,), {"call": "functional"}), None)
    yield ("add functional (torch.add)", TwoInputs(C, lambda a, b: torch.add(a, b)),
           Site("add", (X, X), (X,), {"call": "functional"}), branch)
    yield ("mul functional (torch.mul, s C x 1 x 1)", TwoInputs(C, lambda a, b: torch.mul(a, b), squeeze=True),
           Site("mul", (X, (C, 1, 1)), (X,), {"call": "functional"}), squeeze)
    yield ("scale functional (torch.mul(x, 0.2))", Lambda(lambda x: torch.mul(x, 0.2)),
           Site("scale", (X,), (X,), {"factor": 0.2, "call": "functional"}), None)
    yield ("conv_transpose 3x3/2 + bias", nn.ConvTranspose2d(C, 6, 3, stride=2, padding=1, output_padding=1),
           Site("conv_transpose", (X,), ((6, 2 * H, 2 * W),), {**conv_args(out=6, stride=2, bias=True),
                                                               "output_padding": (1, 1)}), None)
    yield ("conv_transpose grouped g=2", nn.ConvTranspose2d(C, 4, 2, stride=2, groups=2, bias=False),
           Site("conv_transpose", (X,), ((4, 2 * H, 2 * W),), {**conv_args(out=4, k=2, stride=2, pad=0, groups=2),
                                                               "output_padding": (0, 0)}), None)
    yield ("pad (nn.ZeroPad2d)", nn.ZeroPad2d((1, 2, 3, 4)), Site("pad", (X,), ((C, H + 7, W + 3),),
                                                                  {"pad": (3, 1), "pad_end": (4, 2)}), None)
    yield ("slice (x[:, :5])", Lambda(lambda x: x[:, :5]), Site("slice", (X,), ((5, H, W),), {"out": 5, "start": 0}),
           None)
    index = torch.tensor([0, 2, 4, 6, 1, 3])
    yield ("select (torch.index_select)", Lambda(lambda x: torch.index_select(x, 1, index)),
           Site("select", (X,), ((6, H, W),), {"out": 6}), None)


class Reshaped(nn.Module):
    """`inner` on the input viewed as `shape` per sample (a view: no tool counts it), for 1-D and 3-D probes."""

    def __init__(self, shape, inner):
        super().__init__()
        self.shape, self.inner = shape, inner

    def forward(self, x):
        return self.inner(x.reshape(x.shape[0], *self.shape))


class WithParam(nn.Module):
    """fn(x, p) with a learned p of shape `shape`."""

    def __init__(self, shape, fn):
        super().__init__()
        self.p = nn.Parameter(torch.ones(shape))
        self.fn = fn

    def forward(self, x):
        return self.fn(x, self.p)


def tensor_probes():
    """The generic tensor layer's ops, on the same 8x10x10 input (views are free under every tool)."""
    fn = "functional"
    yield ("matmul (x @ x)", Lambda(lambda x: x @ x), Site("matmul", (X, X), (X,), {}), None)
    yield ("matmul functional (torch.matmul)", Lambda(lambda x: torch.matmul(x, x)),
           Site("matmul", (X, X), (X,), {"call": fn}), None)
    yield ("einsum bchw,bcwv->bchv", Lambda(lambda x: torch.einsum("bchw,bcwv->bchv", x, x)),
           Site("einsum", (X, X), (X,), {"equation": "bchw,bcwv->bchv"}), None)
    flat = (C, H * W)
    yield ("einsum bct,bcp->btp (tokens)", Reshaped(flat, Lambda(lambda y: torch.einsum("bct,bcp->btp", y, y))),
           Site("einsum", (flat, flat), ((H * W, H * W),), {"equation": "bct,bcp->btp"}), None)
    yield ("einsum bchw->bcwh (one operand)", Lambda(lambda x: torch.einsum("bchw->bcwh", x)),
           Site("einsum", (X,), (X,), {"equation": "bchw->bcwh"}), None)
    yield ("add value (x + 3)", Lambda(lambda x: x + 3), Site("add", (X,), (X,), {"value": 3.0}), None)
    yield ("add value functional (torch.add(x, 3))", Lambda(lambda x: torch.add(x, 3)),
           Site("add", (X,), (X,), {"value": 3.0, "call": fn}), None)
    yield ("mul param (p * x, p C x 1 x 1)", WithParam((C, 1, 1), lambda x, p: p * x),
           Site("mul", (X,), (X,), {"param": (C, 1, 1)}), None)
    yield ("mul param functional (torch.mul(x, p))", WithParam((C, 1, 1), lambda x, p: torch.mul(x, p)),
           Site("mul", (X,), (X,), {"param": (C, 1, 1), "call": fn}), None)
    yield ("sub value (x - 1)", Lambda(lambda x: x - 1), Site("sub", (X,), (X,), {"value": 1.0}), None)
    yield ("exp (torch.exp)", Lambda(lambda x: torch.exp(x)), Site("exp", (X,), (X,), {}), None)
    yield ("elu (nn.ELU)", nn.ELU(), Site("elu", (X,), (X,), {}), None)
    yield ("elu functional (F.elu)", Lambda(lambda x: F.elu(x)), Site("elu", (X,), (X,), {"call": fn}), None)
    yield ("softmax over the last axis", nn.Softmax(dim=-1), Site("softmax", (X,), (X,), {"axis": -1}), None)
    yield ("layernorm over the last axis (nn.LayerNorm(W))", nn.LayerNorm(W),
           Site("layernorm", (X,), (X,), {"axis": -1}), None)
    yield ("fc over the last axis (nn.Linear(W, 16))", nn.Linear(W, 16),
           Site("fc", (X,), ((C, H, 16),), {"out": 16, "bias": True}), None)
    yield ("reduce_sum over H, W (x.sum)", Lambda(lambda x: x.sum((2, 3), keepdim=True)),
           Site("reduce_sum", (X,), ((C, 1, 1),), {"axes": (2, 3), "keepdims": True}), None)
    yield ("reduce_mean over W (x.mean(-1))", Lambda(lambda x: x.mean(-1)),
           Site("reduce_mean", (X,), ((C, H),), {"axes": (-1,), "keepdims": False}), None)
    yield ("permute (x.permute(0, 2, 3, 1))", Lambda(lambda x: x.permute(0, 2, 3, 1).contiguous()),
           Site("permute", (X,), ((H, W, C),), {"perm": (0, 2, 3, 1)}), None)
    yield ("reshape (x.reshape)", Lambda(lambda x: x.reshape(1, C, H * W)),
           Site("reshape", (X,), (flat,), {"shape": flat}), None)
    yield ("tile (x.repeat(1, 1, 2, 1))", Lambda(lambda x: x.repeat(1, 1, 2, 1)),
           Site("tile", (X,), ((C, 2 * H, W),), {"repeats": (1, 2, 1)}), None)
    for op, f in [("div", lambda x: x / 2), ("pow", lambda x: x ** 2), ("maximum", lambda x: torch.clamp_min(x, 0.1)),
                  ("minimum", lambda x: torch.minimum(x, torch.tensor(5.0))), ("compare", lambda x: (x < 0.5).float())]:
        yield (f"{op} with a constant", Lambda(f), Site(op, (X,), (X,), {"value": 2.0}), None)
    yield ("where (torch.where(x > 0, x, 0.0))", Lambda(lambda x: torch.where(x > 0, x, 0.0)),
           Site("where", (X,), (X,), {}), None)
    for op, f in [("log", torch.log), ("sqrt", torch.sqrt), ("reciprocal", torch.reciprocal), ("abs", torch.abs),
                  ("neg", torch.neg), ("erf", torch.erf), ("round", torch.round), ("sin", torch.sin),
                  ("softplus", F.softplus), ("cast", lambda x: x.to(torch.float64))]:
        yield (f"{op}", Lambda(lambda x, f=f: f(x)), Site(op, (X,), (X,), {}), None)
    for kind, f in [("max", lambda x: x.amax(-1)), ("min", lambda x: x.amin(-1)), ("prod", lambda x: x.prod(-1)),
                    ("l1", lambda x: x.abs().sum(-1)), ("l2", lambda x: x.norm(dim=-1)),
                    ("sum_square", lambda x: (x * x).sum(-1)), ("log_sum_exp", lambda x: x.logsumexp(-1)),
                    ("log_sum", lambda x: x.sum(-1).log()), ("argmax", lambda x: x.argmax(-1).float()),
                    ("argmin", lambda x: x.argmin(-1).float())]:
        yield (f"reduce_{kind} over W", Lambda(f), Site(f"reduce_{kind}", (X,), ((C, H),), {"axes": (-1,)}), None)
    yield ("expand (x[:, :, :1].expand)", Lambda(lambda x: x[:, :, :1].expand(1, C, H, W).contiguous()),
           Site("expand", ((C, 1, W),), (X,), {"shape": X}), None)
    yield ("gather (x[:, :, 3])", Lambda(lambda x: x[:, :, 3]), Site("gather", (X,), ((C, W),), {"axis": 2}), None)
    yield ("depth_to_space (F.pixel_shuffle)", Lambda(lambda x: F.pixel_shuffle(x, 2)),
           Site("depth_to_space", (X,), ((2, 20, 20),), {"blocksize": 2}), None)
    yield ("space_to_depth (F.pixel_unshuffle)", Lambda(lambda x: F.pixel_unshuffle(x, 2)),
           Site("space_to_depth", (X,), ((32, 5, 5),), {"blocksize": 2}), None)
    yield ("conv1d k3 + bias", Reshaped(flat, nn.Conv1d(C, 16, 3, padding=1)),
           Site("conv", (flat,), ((16, H * W),), {"out": 16, "k": (3,), "stride": (1,), "pad": (1,),
                                                   "dilation": (1,), "groups": 1, "bias": True}), None)
    vol = (C, 2, 5, W)
    yield ("conv3d k3", Reshaped(vol, nn.Conv3d(C, 4, 3, padding=1, bias=False)),
           Site("conv", (vol,), ((4, 2, 5, W),), {"out": 4, "k": (3, 3, 3), "stride": (1, 1, 1), "pad": (1, 1, 1),
                                                   "dilation": (1, 1, 1), "groups": 1, "bias": False}), None)
    yield ("maxpool1d k2", Reshaped(flat, nn.MaxPool1d(2)),
           Site("maxpool", (flat,), ((C, H * W // 2),), {"k": (2,), "stride": None, "pad": (0,),
                                                         "dilation": (1,), "ceil_mode": False}), None)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="resnet50,resnext50_32x4d,shufflenet_v2_x1_0")
    parser.add_argument("--tools", default=",".join(TOOLS), help="the tools to run (those installed)")
    parser.add_argument("--probes", default="all", choices=("all", "tensor"),
                        help="tensor: only the generic tensor layer's probes")
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(1, *X)
    bad = 0
    print(f"{'probe':36} {'tool':8} {'tool says':>10} {'costcalc':>10}")
    chosen = tensor_probes() if args.probes == "tensor" else (*probes(), *tensor_probes())
    for name, module, site, base in chosen:
        for tool in args.tools.split(","):
            got = tool_flops(tool, module, x) - (tool_flops(tool, base, x) if base is not None else 0)
            want = count(CONVENTIONS[tool], site)
            bad += got != want
            print(f"{name:36} {tool:8} {got:>10,} {want:>10,} {'OK' if got == want else 'DIFF'}")
    if args.models:
        import torchvision

        from costcalc.graph import load

        from costcalc.graph import build
        from costcalc.spec.reader import read_spec

        for model_name in args.models.split(","):
            model = getattr(torchvision.models, model_name)()
            path = ROOT / "specs" / f"{model_name}.yaml"
            graph = load(str(path))
            if model_name.startswith("shufflenet_v2") and any(n.op == "gap" for n in graph.nodes):
                # torchvision's ShuffleNetV2 pools with x.mean([2, 3]): costcalc's op `mean`, not `gap`
                text = path.read_text()
                assert text.count("op: gap") == 1, "expected one gap in the spec"
                mean_spec = pathlib.Path("/tmp") / f"{model_name}.mean.yaml"
                mean_spec.write_text(text.replace("op: gap", "op: mean"))
                graph = build(read_spec(str(mean_spec)))
            for tool in args.tools.split(","):
                got = tool_flops(tool, model, torch.randn(1, *graph.input_shape))
                want = sum(recount(graph, tool))
                bad += got != want
                print(f"{model_name:36} {tool:8} {got:>14,} {want:>14,} {'OK' if got == want else 'DIFF'}")
    print(f"{bad} difference(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
